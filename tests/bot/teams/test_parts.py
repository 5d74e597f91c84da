"""The Teams adapter's small parts on their own: pacing, retry timing, card rendering, message text."""

from __future__ import annotations

import random

from bot.teams import cards
from bot.teams.pacing import Pacer
from bot.teams.retry import RetryPolicy
from bot.teams.text import Mention, command_text, mentions
from handlers.checkins.views import painpoint_question, taste_question
from handlers.views import Fact, View, localize


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def windows_hold(times: list[float], count: int, seconds: float) -> bool:
    times = sorted(times)
    return all(times[i + count] - times[i] >= seconds for i in range(len(times) - count))


def test_the_pacer_keeps_every_window_of_a_conversation() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, margin=0.0)
    times = [pacer.reserve("t", "c") for _ in range(30)]
    assert times[:6] == [100.0] * 6  # a burst that fits goes at once
    assert windows_hold(times, 6, 1.0) and windows_hold(times, 7, 2.0)
    assert times == sorted(times)


def test_the_pacer_keeps_the_tenant_window_across_conversations() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, margin=0.0)
    times = [pacer.reserve("tenant", f"c{i}") for i in range(100)]
    assert windows_hold(times, 29, 1.0)
    other = pacer.reserve("another tenant", "c0-elsewhere")
    assert other == 100.0  # another tenant is not held up


def test_the_pacer_forgets_old_sends() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, margin=0.25)
    for _ in range(6):
        pacer.reserve("t", "c")
    clock.now += 10
    assert pacer.reserve("t", "c") == clock.now


def test_backoff_grows_with_full_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(base=0.5, cap=8.0)
    rng = random.Random(7)
    for retry in range(8):
        bound = min(8.0, 0.5 * 2**retry)
        delays = [policy.delay(retry, None, rng) for _ in range(200)]
        assert all(0 <= d <= bound for d in delays)
        assert max(delays) > bound * 0.8  # spread over the whole range, not fixed
    assert 3.0 <= policy.delay(0, 3.0, rng) <= 3.0 + 0.5 / 4
    assert policy.delay(0, 600.0, rng) <= 30.0 + 0.5 / 4  # an absurd Retry-After is capped


def test_the_taste_card_follows_the_contract() -> None:
    card = cards.card(taste_question(42, "Apollo"))
    assert card["version"] == "1.5" and card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == "How does **Apollo** taste?"
    actions = card["body"][-1]["actions"]
    assert [a["data"] for a in actions] == [
        {"checkin": 42, "rating": r, "action": "taste"} for r in (5, 4, 3, 2, 1)
    ]
    assert all(a["type"] == "Action.Submit" and a["associatedInputs"] == "none" for a in actions)


def test_an_answered_card_shows_the_answer_and_offers_a_comment_input() -> None:
    card = cards.card(taste_question(42, "Apollo", rating=2))
    taste = card["body"][2]["actions"]
    assert [a.get("style") for a in taste] == [None, None, None, "positive", None]
    form, submit = card["body"][3], card["body"][4]
    field = form["items"][1]
    assert field["type"] == "Input.Text" and field["isMultiline"] and field["id"] == "comment"
    assert field["label"] == "What would make it taste better?"
    assert submit["actions"][0]["data"] == {"checkin": 42, "action": "taste_comment"}


def test_the_painpoint_card_is_the_form_without_an_open_button() -> None:
    card = cards.card(painpoint_question(7, "Apollo"))
    kinds = [b["type"] for b in card["body"]]
    assert kinds == ["TextBlock", "TextBlock", "Container", "ActionSet"]
    impact = card["body"][2]["items"][2]
    assert impact["type"] == "Input.ChoiceSet" and impact["id"] == "impact"


def test_a_card_too_big_for_teams_drops_the_chart_then_shortens_the_list() -> None:
    huge = View(
        title="Report",
        facts=(Fact("A", "1"),),
        chart=bytes(40_000),  # not a PNG: kept as it is, and far too big
        lines=tuple(f"line {i} " + "x" * 200 for i in range(400)),
    )
    card = cards.fitted_card(huge)
    assert cards.size(card) <= cards.MESSAGE_BUDGET
    assert not any(b["type"] == "Image" for b in card["body"])
    assert "more (too long for one Teams message)" in card["body"][-1]["text"]


def test_a_shortened_card_and_an_empty_one_say_their_own_words_in_the_views_language() -> None:
    long = View(title="Bericht", lines=tuple(f"Zeile {i} " + "x" * 200 for i in range(400)))
    card = cards.fitted_card(localize(long, "de"))
    assert (
        card["body"][-1]["text"].startswith("… und ")
        and "zu lang für eine Teams-Nachricht" in card["body"][-1]["text"]
    )
    assert cards.card(localize(View(), "fr"))["body"][0]["text"] == "C'est fait."
    assert cards.card(View())["body"][0]["text"] == "Done."


def test_command_text_removes_the_bot_and_rewrites_people() -> None:
    found = [
        Mention("28:bot", "PMO", "<at>PMO</at>"),
        Mention("29:sam", "Sam Sponsor", "<at>Sam Sponsor</at>"),
    ]
    text = "<p><at>PMO</at>&nbsp;project add Apollo sponsor:<at>Sam Sponsor</at> segment:R&amp;D</p>"
    assert command_text(text, "28:bot", found, {"29:sam": "aad-sam"}) == (
        "project add Apollo sponsor:<@aad-sam> segment:R&D"
    )
    assert command_text("/pmo value", "28:bot", [], {}) == "/pmo value"
    assert command_text(None, "28:bot", [], {}) == ""


def test_mentions_are_read_from_the_entities() -> None:
    entities = [
        {"type": "clientInfo", "timezone": "UTC"},
        {"type": "mention", "mentioned": {"id": "29:x", "name": "X"}, "text": "<at>X</at>"},
        {"type": "mention", "mentioned": "bad"},
    ]
    assert mentions(entities) == [Mention("29:x", "X", "<at>X</at>")]
