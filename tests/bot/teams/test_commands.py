"""Every `/pmo` command by message in Teams: prefixes, @mentions, people by e-mail, roles."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from storage.models import Organisation, Outcome, PainPoint, Person, Project
from tests.bot.teams.conftest import ADMIN_AAD, CHANNEL, TEAM, TeamsWorld, card_text
from tests.fakes.bot_connector import User


@dataclass
class Org:
    admin: User
    staff: User
    sponsor: User
    member: User


@pytest.fixture
async def org(teams: TeamsWorld) -> Org:
    """An admin, staff (made by the admin with an @mention), a sponsor of Apollo and a member, all installed."""
    admin = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin", team=TEAM))
    staff = await teams.installed(teams.user("51", "Stan Staff", team=TEAM))
    sponsor = await teams.installed(teams.user("52", "Sam Sponsor", team=TEAM))
    member = await teams.installed(teams.user("53", "Mel Member", team=TEAM))
    await teams.say(teams.channel_message(admin, "@PMO staff add @Stan Staff", mentioned=(staff,)))
    assert "Stan Staff" in card_text(teams.last_card(CHANNEL)) and "is now PMO staff" in card_text(
        teams.last_card(CHANNEL)
    )
    await teams.say(teams.message(staff, "project add Apollo sponsor:sam@contoso.example segment:Space"))
    assert "Apollo" in card_text(teams.last_card(teams.personal(staff)))
    return Org(admin, staff, sponsor, member)


async def said(teams: TeamsWorld, user: User, text: str) -> str:
    await teams.say(teams.message(user, text))
    return card_text(teams.last_card(teams.personal(user)))


@pytest.mark.parametrize("text", ["value", "pmo value", "/pmo value", "  PMO   value "])
async def test_value_with_or_without_the_prefix(teams: TeamsWorld, org: Org, text: str) -> None:
    card = None
    await teams.say(teams.message(org.member, text))
    card = teams.last_card(teams.personal(org.member))
    assert "PMO value — last 90 days" in card_text(card)
    facts = next(b for b in card["body"] if b["type"] == "FactSet")
    assert any(f["title"] == "Satisfaction (CSAT)" for f in facts["facts"])
    image = next(b for b in card["body"] if b["type"] == "Image")
    assert image["url"].startswith("data:image/png;base64,")
    assert base64.b64decode(image["url"].split(",", 1)[1]).startswith(b"\x89PNG")
    assert len(json.dumps(card).encode()) < 28_000  # Teams' message size limit
    assert card["version"] == "1.5"


async def test_in_a_channel_the_bots_mention_is_removed(teams: TeamsWorld, org: Org) -> None:
    await teams.say(teams.channel_message(org.staff, "@PMO project list"))
    assert "Apollo" in card_text(teams.last_card(CHANNEL))
    await teams.say(teams.channel_message(org.staff, "@PMO"))  # the mention alone: help
    assert "What you can ask the PMO bot" in card_text(teams.last_card(CHANNEL))


async def test_project_add_finds_the_sponsor(teams: TeamsWorld, org: Org) -> None:
    async with teams.runtime.db.sessions() as session:
        project = await session.scalar(select(Project).where(Project.name == "Apollo"))
        sponsor = await session.get(Person, project.sponsor_id)
    assert sponsor.name == "Sam Sponsor" and sponsor.email == "sam@contoso.example"


async def test_a_sponsor_only_in_a_team_is_found_through_the_team(teams: TeamsWorld, org: Org) -> None:
    await teams.say(teams.team_install(org.admin))
    teams.user("54", "Rita Roster", team=TEAM)  # joins later; never talked to the bot
    text = await said(teams, org.staff, "project add Hermes sponsor:rita@contoso.example")
    assert "Hermes" in text and "Rita Roster" in text
    member_calls = teams.fake.connector_calls("GET", "/members/rita@contoso.example")
    assert member_calls and member_calls[-1].status == 200


async def test_a_sponsor_who_has_not_installed_the_bot_is_told_how_to_fix_it(
    teams: TeamsWorld, org: Org
) -> None:
    await teams.say(teams.team_install(org.admin))
    before = await teams.snapshot()
    text = await said(teams, org.staff, "project add Zeus sponsor:nobody@contoso.example")
    assert "nobody@contoso.example" in text and "not installed the PMO bot" in text
    assert "Apps" in text and "run this command again" in text
    assert await teams.snapshot() == before
    await said(teams, org.staff, "language fr")  # the same advice, in French
    text = await said(teams, org.staff, "project add Zeus sponsor:nobody@contoso.example")
    assert "Je ne peux pas joindre nobody@contoso.example dans Teams" in text
    assert "dans Teams, ouvrir Applications" in text and "relancez cette commande" in text


async def test_every_staff_command_works_by_message(teams: TeamsWorld, org: Org) -> None:
    s = org.staff
    assert "Apollo" in await said(teams, s, "project list")
    assert "Sent the taste check-in for Apollo to Sam Sponsor" in await said(teams, s, "checkin Apollo")
    assert "Sent the pain-point prompt for Apollo" in await said(teams, s, "ask Apollo")
    await teams.say(teams.message(org.sponsor, "The vendor keeps slipping"))  # a plain reply to the prompt
    async with teams.runtime.db.sessions() as session:
        point = await session.scalar(select(PainPoint))
    assert point.text == "The vendor keeps slipping"
    assert f"#{point.id}" in await said(teams, s, "painpoints all")
    assert "Lead time" in await said(teams, s, f'painpoint {point.id} metric:"Lead time" baseline:10')
    assert "resolved" in (await said(teams, s, f"painpoint resolve {point.id} after:6")).lower()
    await said(teams, s, 'outcome add Apollo metric:"Cycle time" baseline:20 target:10 unit:days benefit:50k')
    async with teams.runtime.db.sessions() as session:
        outcome = await session.scalar(select(Outcome))
    assert outcome.metric == "Cycle time"
    await said(teams, s, f"outcome update {outcome.id} current:15")
    assert "Cycle time" in await said(teams, s, "outcomes")
    assert "Apollo" in await said(teams, s, "value Apollo")
    assert "archived" in (await said(teams, s, "project archive Apollo")).lower()


async def test_admin_commands_by_message(teams: TeamsWorld, org: Org) -> None:
    a = org.admin
    assert "450,000" in await said(teams, a, "cost 450k")
    assert "Stan Staff" in await said(teams, a, "staff list")
    assert "is now PMO staff" in await said(teams, a, "staff add mel@contoso.example")
    assert "no longer PMO staff" in await said(teams, a, "staff remove mel@contoso.example")
    async with teams.runtime.db.sessions() as session:
        org_row = await session.get(Organisation, teams.runtime.org_id)
    assert org_row.pmo_cost == 450000


async def test_alerts_here_in_a_channel(teams: TeamsWorld, org: Org) -> None:
    await teams.say(teams.channel_message(org.staff, "@PMO alerts here"))
    assert "Alerts will come to this channel" in card_text(teams.last_card(CHANNEL))
    async with teams.runtime.db.sessions() as session:
        org_row = await session.get(Organisation, teams.runtime.org_id)
    assert org_row.alert_channels == {"teams": CHANNEL}
    # In a personal chat there is no channel to choose.
    assert "in the channel" in await said(teams, org.staff, "alerts here")


async def test_a_sponsor_pauses_and_resumes(teams: TeamsWorld, org: Org) -> None:
    assert "paused" in await said(teams, org.sponsor, "pause until:2099-01-01")
    assert "Welcome back" in await said(teams, org.sponsor, "resume")
    assert "Cycle" not in await said(teams, org.sponsor, "outcomes Apollo")


STAFF_COMMANDS = [
    "project add Zeus sponsor:sam@contoso.example",
    "project list",
    "project archive Apollo",
    "checkin Apollo",
    "ask Apollo",
    "painpoints",
    "painpoint 1 metric:x baseline:1",
    "painpoint resolve 1",
    "outcome add Apollo metric:x baseline:1 target:2",
    "outcome update 1 current:2",
    "export projects",
]
ADMIN_COMMANDS = [
    "cost 1000",
    "staff add mel@contoso.example",
    "staff remove stan@contoso.example",
    "staff list",
]


@pytest.mark.parametrize("who", ["member", "sponsor"])
async def test_staff_and_admin_commands_are_refused_for_members_and_sponsors(
    teams: TeamsWorld, org: Org, who: str
) -> None:
    user = getattr(org, who)
    before = await teams.snapshot()
    for text in [*STAFF_COMMANDS, *ADMIN_COMMANDS]:
        answer = await said(teams, user, text)
        assert "Sorry" in answer and "only" in answer and "Nothing was changed" in answer, text
    await teams.say(teams.channel_message(user, "@PMO alerts here"))
    assert "only" in card_text(teams.last_card(CHANNEL))
    assert await teams.snapshot() == before


async def test_staff_cannot_run_admin_commands(teams: TeamsWorld, org: Org) -> None:
    before = await teams.snapshot()
    for text in ADMIN_COMMANDS:
        assert "PMO admins only" in await said(teams, org.staff, text), text
    assert await teams.snapshot() == before


async def test_bad_input_names_the_problem(teams: TeamsWorld, org: Org) -> None:
    before = await teams.snapshot()
    text = await said(teams, org.staff, "project add Zeus sponsor:nobody")
    assert "'nobody' is not a person" in text and "Usage" in text
    assert "frobnicate" in await said(teams, org.staff, "frobnicate")
    assert await teams.snapshot() == before
