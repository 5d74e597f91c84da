"""What sponsors do with the bot's messages (CONTRACT.md section 5), on SQLite and PostgreSQL.

A taste click is answered and the check-in message is rewritten in place; a changed answer keeps
its history; a forged or foreign click changes nothing; sour tastes and painful pain points reach
the PMO where it listens; a plain direct message answers an open pain-point prompt.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from handlers.alerts import recorded_messages
from handlers.interactions import act, direct_message
from handlers.ports import Caller
from handlers.views import View
from storage.db import Database, utcnow
from storage.models import Answer, Checkin, LocalMessage, PainPoint, Person
from storage.queries import get_or_create_org
from tests.helpers import World, make_world, message_view

ALERTS = "#pmo-alerts"
ID = object()  # stands for the id of the check-in just sent


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db)


async def send(world: World, command: str = "checkin Apollo") -> tuple[Checkin, LocalMessage]:
    """Staff send the check-in (or prompt) now; the sponsor finds it in their inbox."""
    view = await world.run(world.staff, command)
    assert view.ok, view.as_text()
    checkin = (await world.rows(Checkin))[-1]
    message = (await world.inbox(world.sponsor))[-1]
    return checkin, message


async def click(world: World, checkin: Checkin, rating: Any, who: str = "sponsor") -> View:
    return await world.act(getattr(world, who), f"taste_{rating}", {"checkin": checkin.id, "rating": rating})


async def changes_nothing(
    world: World, action: str, payload: Any, values: Any = None, who: str = "sponsor"
) -> View:
    before = await world.snapshot()
    view = await world.act(getattr(world, who), action, payload, values)
    assert not view.ok, view.as_text()
    assert await world.snapshot() == before
    return view


async def alerts_to(world: World, channel: str) -> list[View]:
    return [message_view(m) for m in await world.channel_posts(channel)]


# ---- the taste check-in ---------------------------------------------------------------------


async def test_a_taste_click_is_answered_and_the_message_shows_it_in_place(world: World) -> None:
    checkin, message = await send(world)
    view = await click(world, checkin, 4)
    assert view.ok, view.as_text()
    assert "Tasty" in view.text
    stored = await world.get(Checkin, checkin.id)
    assert (stored.rating, stored.status) == (4, "answered")
    assert stored.answered_at is not None
    [same] = await world.inbox(world.sponsor)
    assert same.id == message.id
    shown = message_view(same)
    assert "Your answer: 🙂 Tasty" in shown.text
    assert [c.style for c in shown.choices] == [None, "primary", None, None, None]
    assert [c.selected for c in shown.choices] == [False, True, False, False, False]
    assert shown.form is not None and shown.form.fields[0].label == "What do you like most?"
    assert same.updated_at >= message.updated_at
    [answer] = await world.rows(Answer)
    assert (answer.checkin_id, answer.person_id, answer.rating, answer.comment) == (
        checkin.id,
        world.sponsor.id,
        4,
        None,
    )


@pytest.mark.parametrize("action", ["taste_3", "taste"])  # Slack's action_id or Teams' "action"
async def test_slack_and_teams_name_the_taste_action_differently(world: World, action: str) -> None:
    checkin, _ = await send(world)
    assert (await world.act(world.sponsor, action, {"checkin": checkin.id, "rating": 3})).ok
    assert (await world.get(Checkin, checkin.id)).rating == 3


async def test_answering_again_changes_the_answer_and_keeps_history(world: World) -> None:
    checkin, _ = await send(world)
    assert (await click(world, checkin, 5)).ok
    assert (await click(world, checkin, 3)).ok
    stored = await world.get(Checkin, checkin.id)
    assert stored.rating == 3
    assert [a.rating for a in await world.rows(Answer)] == [5, 3]
    assert len(await world.rows(Checkin)) == 1
    shown = message_view((await world.inbox(world.sponsor))[0])
    assert "Bland" in shown.text and "Delicious" not in shown.text
    assert len(await world.inbox(world.sponsor)) == 1


async def test_the_comment_question_depends_on_the_rating(world: World) -> None:
    checkin, _ = await send(world)
    for rating in (1, 2, 3, 4, 5):
        view = await click(world, checkin, rating)
        expected = "What would make it taste better?" if rating <= 3 else "What do you like most?"
        assert view.form is not None and view.form.fields[0].label == expected, rating
        assert view.form.action == "taste_comment" and view.form.payload == {"checkin": checkin.id}
        stored = message_view((await world.inbox(world.sponsor))[0])
        assert stored.form is not None and stored.form.fields[0].label == expected, rating


async def test_a_comment_is_kept_and_shown(world: World) -> None:
    checkin, _ = await send(world)
    await click(world, checkin, 4)
    view = await world.act(
        world.sponsor, "taste_comment", {"checkin": checkin.id}, {"comment": "  Great   team "}
    )
    assert view.ok, view.as_text()
    stored = await world.get(Checkin, checkin.id)
    assert (stored.rating, stored.comment) == (4, "Great team")
    assert [(a.rating, a.comment) for a in await world.rows(Answer)] == [(4, None), (4, "Great team")]
    shown = message_view((await world.inbox(world.sponsor))[0])
    assert "You said: “Great team”" in shown.lines


async def test_nul_characters_are_dropped_from_what_sponsors_write(world: World) -> None:
    checkin, _ = await send(world)
    await click(world, checkin, 4)
    comment = {"comment": "Go\x00od"}
    assert (await world.act(world.sponsor, "taste_comment", {"checkin": checkin.id}, comment)).ok
    assert (await world.get(Checkin, checkin.id)).comment == "Good"
    prompt, _ = await send(world, "ask Apollo")
    form = {"text": "La\x00te", "impact": "2"}
    assert (await world.act(world.sponsor, "painpoint", {"checkin": prompt.id}, form)).ok
    assert (await world.dm(world.sponsor, "Slo\x00w")).ok
    assert [p.text for p in await world.rows(PainPoint)] == ["Late", "Slow"]


async def test_a_comment_before_a_rating_or_an_empty_one_is_refused(world: World) -> None:
    checkin, _ = await send(world)
    view = await changes_nothing(world, "taste_comment", {"checkin": checkin.id}, {"comment": "hello"})
    assert "Pick a taste first" in view.text
    await click(world, checkin, 4)
    await changes_nothing(world, "taste_comment", {"checkin": checkin.id}, {"comment": "   "})
    await changes_nothing(world, "taste_comment", {"checkin": checkin.id}, {"comment": "x" * 3001})


async def test_a_new_rating_keeps_the_comment_until_another_replaces_it(world: World) -> None:
    checkin, _ = await send(world)
    await click(world, checkin, 5)
    await world.act(world.sponsor, "taste_comment", {"checkin": checkin.id}, {"comment": "Love it"})
    await click(world, checkin, 2)
    stored = await world.get(Checkin, checkin.id)
    assert (stored.rating, stored.comment) == (2, "Love it")
    [alert] = [message_view(m) for m in await world.inbox(world.admin)]
    assert {f.label: f.value for f in alert.facts}["Comment"] == "Love it"
    await world.act(world.sponsor, "taste_comment", {"checkin": checkin.id}, {"comment": "Not any more"})
    assert (await world.get(Checkin, checkin.id)).comment == "Not any more"


async def test_a_click_by_someone_else_changes_nothing(world: World) -> None:
    checkin, _ = await send(world)
    for who in ("member", "staff", "admin"):
        view = await changes_nothing(world, "taste_5", {"checkin": checkin.id, "rating": 5}, who=who)
        assert "someone else" in view.text
    await click(world, checkin, 4)
    for who in ("member", "staff", "admin"):
        await changes_nothing(world, "taste_comment", {"checkin": checkin.id}, {"comment": "hi"}, who=who)


FORGED: list[dict[str, Any]] = [
    {"rating": 5},
    {"checkin": None, "rating": 5},
    {"checkin": "ID", "rating": 5},
    {"checkin": True, "rating": 5},
    {"checkin": 1.0, "rating": 5},
    {"checkin": -1, "rating": 5},
    {"checkin": 987654, "rating": 5},
    {"checkin": 2**40, "rating": 5},
    {"checkin": ID, "rating": 0},
    {"checkin": ID, "rating": 6},
    {"checkin": ID, "rating": "5"},
    {"checkin": ID, "rating": True},
    {"checkin": ID, "rating": 4.5},
    {"checkin": ID, "rating": None},
    {"checkin": ID},
]
MALFORMED: list[tuple[str, Any, Any]] = [
    ("taste_5", ["not", "an", "object"], None),
    ("taste_5", None, None),
    ("delete_everything", {"checkin": ID}, None),
    ("taste_comment", {"checkin": ID}, ["not", "an", "object"]),
    ("painpoint", {"checkin": ID}, "text"),
]


async def test_forged_payloads_change_nothing(world: World) -> None:
    checkin, _ = await send(world)
    for payload in FORGED:
        real = {
            k: (checkin.id if v is ID else str(checkin.id) if v == "ID" else v) for k, v in payload.items()
        }
        view = await changes_nothing(world, "taste_5", real)
        assert "went wrong" not in view.text, payload
    for action, payload, values in MALFORMED:
        real = {"checkin": checkin.id} if isinstance(payload, dict) else payload
        view = await changes_nothing(world, action, real, values)
        assert "went wrong" not in view.text, (action, payload, values)
    assert (await world.get(Checkin, checkin.id)).rating is None


async def test_a_checkin_of_another_organisation_cannot_be_answered(world: World) -> None:
    async with world.db.transaction() as session:
        other = await get_or_create_org(session, "other")
        other_id = other.id
    stranger = await world.add_person("Eve", "UEVE", org_id=other_id)
    project = await world.add_project("Elsewhere", stranger)
    async with world.db.transaction() as session:
        foreign = Checkin(
            org_id=other_id,
            project_id=project.id,
            sponsor_id=stranger.id,
            kind="taste",
            status="open",
            sent_at=utcnow(),
            message_refs={},
        )
        session.add(foreign)
    view = await changes_nothing(world, "taste_1", {"checkin": foreign.id, "rating": 1})
    assert "does not exist" in view.text


async def test_a_pain_point_prompt_is_not_a_taste_checkin(world: World) -> None:
    prompt, _ = await send(world, "ask Apollo")
    await changes_nothing(world, "taste_4", {"checkin": prompt.id, "rating": 4})


async def test_a_closed_checkin_refuses_answers_politely(world: World) -> None:
    checkin, _ = await send(world)
    prompt, _ = await send(world, "ask Apollo")
    async with world.db.transaction() as session:
        for closing in (checkin, prompt):
            stored = await session.get(Checkin, closing.id)
            stored.status, stored.closed_at = "closed", utcnow()
    view = await changes_nothing(world, "taste_4", {"checkin": checkin.id, "rating": 4})
    assert "has closed" in view.text and "next one" in view.text
    form = {"text": "Late", "impact": "3"}
    assert "has closed" in (await changes_nothing(world, "painpoint", {"checkin": prompt.id}, form)).text
    assert "has closed" in (await changes_nothing(world, "painpoint_open", {"checkin": prompt.id})).text


# ---- sour tastes are announced ----------------------------------------------------------------


async def test_a_sour_taste_goes_to_the_alerts_here_channel(world: World) -> None:
    assert (await world.run(world.staff, "alerts here", channel=ALERTS)).ok
    checkin, _ = await send(world)
    assert (await click(world, checkin, 1)).ok
    [alert] = await alerts_to(world, ALERTS)
    assert "Sour" in alert.title and "Apollo" in alert.title
    assert "Sam Sponsor" in alert.text
    assert await world.inbox(world.admin) == []


async def test_the_alerts_here_channel_overrides_the_policy_channel(db: Database) -> None:
    world = await make_world(db, alert_channel="pmo-default")
    assert (await world.run(world.staff, "alerts here", channel=ALERTS)).ok
    checkin, _ = await send(world)
    await click(world, checkin, 2)
    assert len(await alerts_to(world, ALERTS)) == 1
    assert await alerts_to(world, "pmo-default") == []


async def test_a_sour_taste_goes_to_the_policy_channel_when_none_was_chosen(db: Database) -> None:
    world = await make_world(db, alert_channel="C0ALERTS1")
    checkin, _ = await send(world)
    await click(world, checkin, 2)
    [alert] = await alerts_to(world, "C0ALERTS1")
    assert "Off" in alert.title
    assert await world.inbox(world.admin) == []


async def test_a_sour_taste_goes_to_all_pmo_staff_without_a_channel(world: World) -> None:
    """Issue 11: alerts reach PMO staff, not only admins, when no alert channel is set."""
    second = await world.add_person("Alan Admin", "UADMIN2", role="admin")
    checkin, _ = await send(world)
    await click(world, checkin, 1)
    for staff in (world.admin, second, world.staff):
        [alert] = [message_view(m) for m in await world.inbox(staff)]
        assert "Sour" in alert.title
    assert await world.inbox(world.member) == []


async def test_a_good_taste_is_not_announced(world: World) -> None:
    checkin, _ = await send(world)
    for rating in (5, 4, 3):
        await click(world, checkin, rating)
    assert await world.inbox(world.admin) == []


async def test_a_changed_sour_answer_does_not_alert_twice(world: World) -> None:
    checkin, _ = await send(world)
    await click(world, checkin, 1)
    await click(world, checkin, 2)
    await click(world, checkin, 2)
    [alert] = [message_view(m) for m in await world.inbox(world.admin)]
    assert "Off" in alert.title
    await click(world, checkin, 4)
    await click(world, checkin, 1)  # sour again after a good answer: the same alert says so
    [alert] = [message_view(m) for m in await world.inbox(world.admin)]
    assert "Sour" in alert.title and "Changed" not in alert.title


async def test_a_sour_comment_updates_the_alert_with_the_comment(world: World) -> None:
    checkin, _ = await send(world)
    await click(world, checkin, 1)
    view = await world.act(
        world.sponsor, "taste_comment", {"checkin": checkin.id}, {"comment": "Vendor is late"}
    )
    assert view.ok
    [alert] = [message_view(m) for m in await world.inbox(world.admin)]
    assert any(f.label == "Comment" and f.value == "Vendor is late" for f in alert.facts)
    assert "(comment added)" in alert.title


async def test_changing_the_taste_keeps_the_comment_and_updates_the_alert(db: Database) -> None:
    """Issue 9 item 8: Sour, a comment, then Bland; the comment stays everywhere, the alert follows."""
    world = await make_world(db, today=utcnow().date())  # the report's window holds today's answers
    assert (await world.run(world.staff, "alerts here", channel=ALERTS)).ok
    checkin, message = await send(world)
    await click(world, checkin, 1)
    comment = {"comment": "The vendor is late again"}
    assert (await world.act(world.sponsor, "taste_comment", {"checkin": checkin.id}, comment)).ok
    assert (await click(world, checkin, 3)).ok

    stored = await world.get(Checkin, checkin.id)
    assert (stored.rating, stored.comment) == (3, "The vendor is late again")
    [card] = await world.inbox(world.sponsor)
    assert card.id == message.id
    shown = message_view(card)
    assert "Your answer: 😐 Bland" in shown.text
    assert "You said: “The vendor is late again”" in shown.lines
    assert [(a.rating, a.comment) for a in await world.rows(Answer)] == [
        (1, None),
        (1, "The vendor is late again"),
        (3, "The vendor is late again"),
    ]
    report = await world.run(world.staff, "value")
    assert "The vendor is late again" in report.as_text()

    [alert] = await alerts_to(world, ALERTS)  # one alert, rewritten in place
    assert "now 😐 Bland" in alert.title and "was 🤢 Sour" in alert.title
    taste = {f.label: f.value for f in alert.facts}
    assert taste["Taste"] == "now 😐 Bland (was 🤢 Sour)"
    assert taste["Comment"] == "The vendor is late again"


async def test_a_comment_after_the_alert_updates_it_and_never_posts_a_second(world: World) -> None:
    assert (await world.run(world.staff, "alerts here", channel=ALERTS)).ok
    checkin, _ = await send(world)
    await click(world, checkin, 2)
    [posted] = await world.channel_posts(ALERTS)
    for words in ("Late", "Later still"):
        assert (
            await world.act(world.sponsor, "taste_comment", {"checkin": checkin.id}, {"comment": words})
        ).ok
    await click(world, checkin, 5)
    await click(world, checkin, 1)
    [alert] = await world.channel_posts(ALERTS)
    assert alert.id == posted.id
    shown = message_view(alert)
    assert "Sour" in shown.title
    assert {f.label: f.value for f in shown.facts}["Comment"] == "Later still"
    refs = (await world.get(Checkin, checkin.id)).message_refs
    assert refs["alerts"] == {f"local:{posted.id}": {"platform": "local", "message": posted.id}}
    assert set(refs) == {"local", "alerts"}  # the check-in's own message is still its own


async def test_the_updated_alert_keeps_who_follows_it_up(world: World) -> None:
    assert (await world.run(world.staff, "alerts here", channel=ALERTS)).ok
    checkin, _ = await send(world)
    await click(world, checkin, 1)
    assert (await world.act(world.staff, "follow_up", {"checkin": checkin.id})).ok
    await click(world, checkin, 3)
    [alert] = await alerts_to(world, ALERTS)
    assert "now 😐 Bland" in alert.title
    assert alert.choices == ()
    assert any("Stan Staff is following up" in line for line in alert.lines)


async def test_an_alerts_recorded_messages_are_found_from_its_follow_up_button(world: World) -> None:
    """What a channel asks before rewriting a clicked alert itself (bot/slack/listeners.py)."""
    assert (await world.run(world.staff, "alerts here", channel=ALERTS)).ok
    checkin, _ = await send(world)
    await click(world, checkin, 1)
    prompt, _ = await send(world, "ask Apollo")
    values = {"text": "No test data", "impact": "5"}
    assert (await world.act(world.sponsor, "painpoint", {"checkin": prompt.id}, values)).ok
    [point] = await world.rows(PainPoint)
    async with world.db.sessions() as session:
        [taste] = await recorded_messages(session, {"checkin": checkin.id})
        [painful] = await recorded_messages(session, {"painpoint": point.id})
        assert taste != painful and {taste["platform"], painful["platform"]} == {"local"}
        for forged in ({"checkin": prompt.id}, {"checkin": "1"}, {"painpoint": 999}, {}):
            assert await recorded_messages(session, forged) == []


# ---- pain points ------------------------------------------------------------------------------


async def test_the_pain_point_form_records_a_pain_point(world: World) -> None:
    prompt, message = await send(world, "ask Apollo")
    opened = await world.act(world.sponsor, "painpoint_open", {"checkin": prompt.id})
    assert opened.ok and opened.form is not None and opened.form.action == "painpoint"
    view = await world.act(
        world.sponsor, "painpoint", {"checkin": prompt.id}, {"text": "No test data", "impact": "3"}
    )
    assert view.ok, view.as_text()
    [point] = await world.rows(PainPoint)
    assert (point.project_id, point.reported_by, point.text, point.impact, point.status) == (
        world.project.id,
        world.sponsor.id,
        "No test data",
        3,
        "open",
    )
    assert point.checkin_id == prompt.id and f"#{point.id}" in view.text
    assert (await world.get(Checkin, prompt.id)).status == "answered"
    [same] = await world.inbox(world.sponsor)
    assert same.id == message.id and "Thank you" in message_view(same).text
    assert await world.inbox(world.admin) == []


async def test_a_painful_pain_point_is_announced(world: World) -> None:
    prompt, _ = await send(world, "ask Apollo")
    impacts = ("4", "5", 5, " 4 ")
    for n, impact in enumerate(impacts):
        view = await world.act(
            world.sponsor, "painpoint", {"checkin": prompt.id}, {"text": f"Risk {n}", "impact": impact}
        )
        assert view.ok, view.as_text()
    alerts = [message_view(m) for m in await world.inbox(world.admin)]
    assert [a.text for a in alerts] == [f"Risk {n}" for n in range(len(impacts))]
    assert [p.impact for p in await world.rows(PainPoint)] == [4, 5, 5, 4]
    assert all("impact" in a.title for a in alerts)


async def test_a_bad_impact_is_refused(world: World) -> None:
    prompt, _ = await send(world, "ask Apollo")
    for impact in ("0", "6", "high", "", None, "4.5", True, [4]):
        view = await changes_nothing(
            world, "painpoint", {"checkin": prompt.id}, {"text": "Risky", "impact": impact}
        )
        assert "Impact" in view.text, impact


async def test_an_empty_pain_point_is_refused(world: World) -> None:
    prompt, _ = await send(world, "ask Apollo")
    await changes_nothing(world, "painpoint", {"checkin": prompt.id}, {"text": "  ", "impact": "3"})


async def test_only_the_sponsor_may_answer_the_prompt(world: World) -> None:
    prompt, _ = await send(world, "ask Apollo")
    await changes_nothing(
        world, "painpoint", {"checkin": prompt.id}, {"text": "x", "impact": "3"}, who="staff"
    )
    await changes_nothing(world, "painpoint_open", {"checkin": prompt.id}, who="member")


async def test_a_plain_dm_while_a_prompt_is_open_becomes_a_pain_point(world: World) -> None:
    await send(world, "ask Apollo")
    view = await world.dm(world.sponsor, "The data migration keeps slipping")
    assert view.ok, view.as_text()
    [point] = await world.rows(PainPoint)
    assert (point.text, point.impact, point.reported_by) == (
        "The data migration keeps slipping",
        3,
        world.sponsor.id,
    )


async def test_a_plain_dm_without_an_open_prompt_is_not_understood(world: World) -> None:
    before = await world.snapshot()
    view = await world.dm(world.sponsor, "The data migration keeps slipping")
    assert not view.ok and "'The'" in view.text
    assert await world.snapshot() == before


async def test_a_plain_dm_after_the_prompt_closed_is_not_a_pain_point(world: World) -> None:
    prompt, _ = await send(world, "ask Apollo")
    async with world.db.transaction() as session:
        stored = await session.get(Checkin, prompt.id)
        stored.sent_at = utcnow() - dt.timedelta(days=8)
    view = await world.dm(world.sponsor, "The data migration keeps slipping")
    assert not view.ok
    assert await world.rows(PainPoint) == []


async def test_a_plain_dm_that_is_a_command_runs_the_command(world: World) -> None:
    await send(world, "ask Apollo")
    view = await world.dm(world.sponsor, "pause until:2026-04-01")
    assert view.ok, view.as_text()
    assert await world.rows(PainPoint) == []
    assert (await world.get(Person, world.sponsor.id)).paused_until == dt.date(2026, 4, 1)
    view = await world.dm(world.sponsor, "/pmo help")
    assert view.ok and any("/pmo resume" in line for line in view.lines)


@pytest.mark.parametrize(
    "text",
    [
        "outcomes are unclear to the board",
        "value of the vendor contract worries me",
        "checkin Apollo is late",
    ],
)
async def test_prose_that_begins_like_a_failing_command_answers_the_open_prompt(
    world: World, text: str
) -> None:
    await send(world, "ask Apollo")
    view = await world.dm(world.sponsor, text)
    assert view.ok, view.as_text()
    [point] = await world.rows(PainPoint)
    assert point.text == text


async def test_a_prefixed_failing_command_is_explained_not_taken_as_the_answer(world: World) -> None:
    await send(world, "ask Apollo")
    before = await world.snapshot()
    view = await world.dm(world.sponsor, "pmo outcomes Zeus")
    assert not view.ok and "Zeus" in view.text
    assert await world.snapshot() == before


async def test_a_dm_from_someone_without_a_prompt_runs_as_a_command(world: World) -> None:
    view = await world.dm(world.staff, "project list")
    assert view.ok and view.title == "Projects (1)"


async def test_the_org_of_a_click_is_the_callers(world: World) -> None:
    """A person is looked up within the caller's organisation, never across."""
    async with world.db.transaction() as session:
        other = await get_or_create_org(session, "other")
        other_id = other.id
    checkin, _ = await send(world)
    forged = Caller(org_id=other_id, person_id=world.sponsor.id, platform="local")
    prompt, _ = await send(world, "ask Apollo")
    before = await world.snapshot()
    view = await act(world.services, forged, "taste_5", {"checkin": checkin.id, "rating": 5})
    assert not view.ok
    view = await act(
        world.services, forged, "painpoint", {"checkin": prompt.id}, {"text": "x", "impact": "5"}
    )
    assert not view.ok
    view = await direct_message(world.services, forged, "The vendor is late")
    assert not view.ok
    assert await world.snapshot() == before
