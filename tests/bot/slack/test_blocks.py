"""Rendering neutral views as Block Kit: the contract's buttons, Slack's limits, escaping, decoding."""

from __future__ import annotations

import json

import pytest

from bot.slack import blocks
from handlers.checkins.views import painpoint_question, taste_question
from handlers.commands.home import command_choice
from handlers.views import Choice, Fact, Form, FormField, View


def actions(rendered: list[dict]) -> list[dict]:
    return [e for b in rendered if b["type"] == "actions" for e in b["elements"]]


def test_taste_buttons_follow_the_contract() -> None:
    rendered = blocks.message(taste_question(7, "Apollo"))
    buttons = actions(rendered)
    assert [b["action_id"] for b in buttons] == ["taste_5", "taste_4", "taste_3", "taste_2", "taste_1"]
    assert all(blocks.TASTE_ACTION.match(b["action_id"]) for b in buttons)
    assert json.loads(buttons[0]["value"]) == {"checkin": 7, "rating": 5}


def test_an_answered_checkin_offers_tell_us_more_but_not_as_a_taste() -> None:
    buttons = actions(blocks.message(taste_question(7, "Apollo", rating=2)))
    opener = buttons[-1]
    assert opener["action_id"] == "open_form_taste_comment" and opener["text"]["text"] == "Tell us more"
    assert not blocks.TASTE_ACTION.match(opener["action_id"])


def test_a_choice_that_opens_the_form_is_not_doubled() -> None:
    buttons = actions(blocks.message(painpoint_question(3, "Apollo")))
    assert [b["action_id"] for b in buttons] == ["painpoint_open"]


def test_text_people_wrote_is_escaped() -> None:
    view = View(
        title="Pain *Apollo*", text="<!channel> & <https://evil|click>", facts=(Fact("Comment", "<@U1>"),)
    )
    text = json.dumps(blocks.message(view))
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;" in text
    assert "&lt;@U1&gt;" in text
    assert blocks.fallback_text(view).startswith("Pain *Apollo*")


def test_errors_are_marked() -> None:
    rendered = blocks.message(View(text="No such project", ok=False))
    assert rendered[0]["text"]["text"] == "⚠️ No such project"


def test_slacks_limits_are_kept() -> None:
    view = View(
        title="x" * 4000,
        facts=tuple(Fact(f"F{i}", "v" * 3000) for i in range(25)),
        lines=tuple("line " * 200 for _ in range(400)),
        choices=tuple(Choice("pick", "label " * 30, {"n": i}) for i in range(30)),
    )
    rendered = blocks.message(view)
    assert len(rendered) <= blocks.MESSAGE_BLOCKS
    for block in rendered:
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
    buttons = actions(rendered)
    assert len(buttons) == 30  # the buttons survive the cut
    assert len({b["action_id"] for b in buttons}) == 30  # action ids are unique in a message
    assert all(len(b["text"]["text"]) <= 75 for b in buttons)


def test_a_payload_too_big_for_a_button_is_refused() -> None:
    with pytest.raises(ValueError, match="2000"):
        blocks.message(View(choices=(Choice("x", "X", {"t": "y" * 2100}),)))


@pytest.mark.parametrize("value", [None, "", "nope", "[1]", "1", "x" * 2001, 5])
def test_button_values_are_decoded_defensively(value: object) -> None:
    with pytest.raises(blocks.BadValue):
        blocks.decode_value(value)


def test_a_form_becomes_a_modal_and_its_submission_reads_back() -> None:
    form = Form(
        action="painpoint",
        title="What keeps you up at night?",
        submit_label="Send",
        fields=(
            FormField("text", "What keeps you up at night?", kind="multiline"),
            FormField("impact", "How much?", kind="choice", options=(("1", "low"), ("5", "high"))),
            FormField("note", "Anything else", required=False, placeholder="optional"),
        ),
        payload={"checkin": 3},
    )
    modal = blocks.modal(form, metadata={"payload": form.payload})
    assert modal["type"] == "modal" and modal["callback_id"] == "painpoint"
    assert len(modal["title"]["text"]) <= 24 and modal["title"]["text"].endswith("…")
    inputs = [b for b in modal["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == ["text", "impact", "note"]
    assert inputs[0]["element"]["multiline"] is True and inputs[1]["element"]["type"] == "static_select"
    assert inputs[2]["optional"] is True
    state = {
        "values": {
            "text": {"text": {"type": "plain_text_input", "value": "Budget"}},
            "impact": {"impact": {"type": "static_select", "selected_option": {"value": "5"}}},
            "note": {"note": {"type": "plain_text_input", "value": None}},
        }
    }
    assert blocks.submitted_values(state) == {"text": "Budget", "impact": "5", "note": None}
    assert blocks.decode_metadata(modal["private_metadata"]) == {"payload": {"checkin": 3}}


@pytest.mark.parametrize(
    "state", [None, {}, {"values": []}, {"values": {"a": []}}, {"values": {"a": {"b": "x"}}}]
)
def test_malformed_submissions_are_refused(state: object) -> None:
    with pytest.raises(blocks.BadValue):
        blocks.submitted_values(state)


def test_the_home_tab_has_sections_and_command_buttons() -> None:
    home = blocks.home(
        [View(title="One", lines=("a",)), View(title="Two", choices=(command_choice("Pause", "pause"),))]
    )
    assert home["type"] == "home"
    assert [b["type"] for b in home["blocks"]] == ["section", "section", "divider", "section", "actions"]
    [button] = home["blocks"][-1]["elements"]
    assert button["action_id"] == "command" and json.loads(button["value"]) == {"command": "pause"}


def test_a_chart_is_an_image_block_or_its_words() -> None:
    view = View(title="Value", chart=b"png", chart_alt="CSAT by month")
    [_, image] = blocks.message(view, chart_file_id="F123ABC")
    assert image == {"type": "image", "slack_file": {"id": "F123ABC"}, "alt_text": "CSAT by month"}
    [_, words] = blocks.message(view)
    assert words["type"] == "context" and words["elements"][0]["text"] == "CSAT by month"
