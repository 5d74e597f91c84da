"""Issue 11 end to end on Teams, with real tokens against the fake connector: a pain point gets an
owner, a note, a measured fix, the sponsor's ❌ Not yet and, after a second fix, ✅ Fixed; and a sour
taste's alert is one activity, updated in place by a comment and by an answer change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from handlers.value.report import compute_value
from storage.db import utcnow
from storage.models import Organisation, PainPoint, PainPointEvent
from tests.bot.teams.conftest import ADMIN_AAD, CHANNEL, TEAM, TeamsWorld, buttons, card_text


async def figures(teams: TeamsWorld) -> tuple[int, ...]:
    """open, in_progress, resolved, confirmed_fixes, reopened: from the one value computation."""
    async with teams.runtime.db.sessions() as session:
        org_id = await session.scalar(select(Organisation.id))
        assert org_id is not None
        found = (await compute_value(session, org_id, today=utcnow().date()))["pain_points"]
    return tuple(found[k] for k in ("open", "in_progress", "resolved", "confirmed_fixes", "reopened"))


async def point_row(teams: TeamsWorld) -> PainPoint:
    async with teams.runtime.db.sessions() as session:
        point = await session.scalar(select(PainPoint))
        assert point is not None
        return point


def said_cards(teams: TeamsWorld, chat: str) -> list[dict[str, Any]]:
    return [card for card in teams.fake.cards(chat) if "You said, we did" in card_text(card)]


async def test_a_pain_point_from_report_to_a_confirmed_fix_on_teams(teams: TeamsWorld) -> None:
    admin = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin", team=TEAM))
    staff = await teams.installed(teams.user("63", "Stan Staff", team=TEAM))
    sponsor = await teams.installed(teams.user("61", "Sam Sponsor", team=TEAM))
    await teams.say(teams.message(admin, "staff add stan@contoso.example"))
    await teams.say(teams.channel_message(admin, "@PMO alerts here"))
    await teams.say(teams.message(staff, "project add Apollo sponsor:sam@contoso.example"))
    await teams.say(teams.message(staff, "ask Apollo"))
    chat, staff_chat = teams.personal(sponsor), teams.personal(staff)
    [send] = buttons(teams.last_card(chat))
    data = {**send["data"], "text": "Orders wait days for credit checks", "impact": "5"}
    await teams.say(teams.submit(sponsor, data, teams.last_id(chat)))
    point = await point_row(teams)
    assert await figures(teams) == (1, 0, 0, 0, 0)

    await teams.say(teams.message(admin, f"painpoint {point.id} owner:stan@contoso.example due:2999-01-01"))
    assert "painpoint resolve" in card_text(teams.last_card(staff_chat))  # the owner's brief
    assert await figures(teams) == (0, 1, 0, 0, 0)
    await teams.say(teams.message(staff, f'painpoint {point.id} note:"Asked finance for a rule"'))
    await teams.say(teams.message(staff, f'painpoint {point.id} metric:"Order cycle time" baseline:12'))
    await teams.say(
        teams.message(staff, f'painpoint resolve {point.id} after:9 fix:"Credit checks at entry"')
    )
    [said] = said_cards(teams, chat)
    shown = card_text(said)
    assert "Orders wait days for credit checks" in shown and "Order cycle time: 12 → 9 (+25.0%)" in shown
    answers = {b["title"]: b["data"] for b in buttons(said)}
    assert answers["✅ Fixed"] == {"action": "fix", "painpoint": point.id, "fixed": True}
    assert await figures(teams) == (0, 0, 1, 0, 0)
    said_id = next(a["id"] for a in teams.fake.sent(chat) if a.get("attachments") and "You said" in str(a))

    await teams.say(teams.submit(sponsor, answers["❌ Not yet"], said_id))
    assert "is not fixed yet" in card_text(teams.last_card(staff_chat))  # the owner is told
    assert "is not fixed yet" in card_text(teams.last_card(CHANNEL))  # and the alert channel
    assert await figures(teams) == (1, 0, 1, 0, 1)
    [comment] = [b for b in buttons(teams.last_card(chat)) if b["data"].get("action") == "fix_comment"]
    still = {**comment["data"], "comment": "Rush orders still wait"}
    await teams.say(teams.submit(sponsor, still, said_id))
    assert "Rush orders still wait" in card_text(teams.last_card(staff_chat))

    await teams.say(
        teams.message(staff, f'painpoint resolve {point.id} after:5 fix:"Rush orders skip the queue"')
    )
    second = said_cards(teams, chat)[-1]
    fixed = next(b["data"] for b in buttons(second) if b["title"] == "✅ Fixed")
    await teams.say(teams.submit(sponsor, fixed, teams.last_id(chat)))
    done = await point_row(teams)
    assert (done.status, done.confirmed) == ("resolved", True)
    assert await figures(teams) == (0, 0, 1, 1, 1)
    async with teams.runtime.db.sessions() as session:
        kinds = list(await session.scalars(select(PainPointEvent.kind).order_by(PainPointEvent.id)))
    assert kinds == ["owner", "note", "resolved", "not_yet", "reopened", "comment", "resolved", "fixed"]


async def test_one_alert_kept_current_through_a_comment_and_an_answer_change_on_teams(
    teams: TeamsWorld,
) -> None:
    """A sour click, a comment and an answer change: one alert activity in the alert channel and two
    updates of that activity, the last one no longer Sour and carrying the comment."""
    admin = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin", team=TEAM))
    sponsor = await teams.installed(teams.user("61", "Sam Sponsor", team=TEAM))
    await teams.say(teams.channel_message(admin, "@PMO alerts here"))
    await teams.say(teams.message(admin, "project add Apollo sponsor:sam@contoso.example"))
    await teams.say(teams.message(admin, "checkin Apollo"))
    chat = teams.personal(sponsor)
    card_id = teams.last_id(chat)
    sour = next(b["data"] for b in buttons(teams.last_card(chat)) if b["title"] == "🤢 Sour")
    before = len(teams.fake.sent(CHANNEL))

    await teams.say(teams.submit(sponsor, sour, card_id))
    [send] = [b for b in buttons(teams.last_card(chat)) if b["data"].get("action") == "taste_comment"]
    await teams.say(teams.submit(sponsor, {**send["data"], "comment": "Nobody tested the release"}, card_id))
    bland = next(b["data"] for b in buttons(teams.last_card(chat)) if b["title"] == "😐 Bland")
    await teams.say(teams.submit(sponsor, bland, card_id))

    [alert] = teams.fake.sent(CHANNEL)[before:]  # one alert activity, never a second one
    updates = teams.fake.connector_calls("PUT", f"/activities/{alert['id']}")
    assert [call.status for call in updates] == [200, 200]
    commented, changed = (card_text(call.body["attachments"][0]["content"]) for call in updates)
    assert "Taste\n🤢 Sour" in commented and "Nobody tested the release" in commented
    assert "Taste\nnow 😐 Bland (was 🤢 Sour)" in changed and "Nobody tested the release" in changed
    assert card_text(alert["attachments"][0]["content"]) == changed  # what the channel shows now


async def test_home_in_a_personal_chat_shows_the_owners_list_on_teams(teams: TeamsWorld) -> None:
    """Teams has no App Home: `home` in the personal chat is the owner's home page."""
    admin = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin", team=TEAM))
    staff = await teams.installed(teams.user("63", "Stan Staff", team=TEAM))
    sponsor = await teams.installed(teams.user("61", "Sam Sponsor", team=TEAM))
    await teams.say(teams.message(admin, "staff add stan@contoso.example"))
    await teams.say(teams.message(staff, "project add Apollo sponsor:sam@contoso.example"))
    await teams.say(teams.message(staff, "ask Apollo"))
    chat = teams.personal(sponsor)
    [send] = buttons(teams.last_card(chat))
    data = {**send["data"], "text": "Testers are missing", "impact": "4"}
    await teams.say(teams.submit(sponsor, data, teams.last_id(chat)))
    point = await point_row(teams)
    await teams.say(teams.message(admin, f"painpoint {point.id} owner:stan@contoso.example due:2999-01-01"))

    await teams.say(teams.message(staff, "home"))
    shown = card_text(teams.last_card(teams.personal(staff)))
    assert "Your home" in shown and "Your pain points" in shown
    assert f"#{point.id} [in_progress] Apollo · impact 4 · due 2999-01-01" in shown
    await teams.say(teams.message(sponsor, "home"))
    home = teams.last_card(chat)
    assert "Your projects" in card_text(home) and "Your pain points" not in card_text(home)
    assert [b["title"] for b in buttons(home)] == ["Pause check-ins"]
