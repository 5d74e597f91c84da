"""Installing the bot: the person (AAD id, name, e-mail, UPN, time zone), the conversation reference,
teams and their members; one person across platforms; removing the bot makes a person unreachable."""

from __future__ import annotations

from sqlalchemy import select

from bot.teams.members import PLATFORM
from storage.models import Conversation, Identity, LocalMessage, Person
from storage.queries import add_identity, add_person
from tests.bot.teams.conftest import ADMIN_AAD, CHANNEL, TEAM, TENANT, TeamsWorld, card_text


async def rows(world: TeamsWorld, model: type, *where: object) -> list:
    async with world.runtime.db.sessions() as session:
        return list(await session.scalars(select(model).where(*where).order_by(model.id)))


async def test_personal_install_stores_the_person_and_how_to_reach_them(teams: TeamsWorld) -> None:
    sam = teams.user("5a", "Sam Sponsor")
    await teams.installed(sam)
    [identity] = await rows(teams, Identity, Identity.platform == PLATFORM)
    person = (await rows(teams, Person, Person.id == identity.person_id))[0]
    assert identity.external_id == sam.aad_id
    assert person.name == "Sam Sponsor" and person.email == "sam@contoso.example"
    assert person.org_id == teams.runtime.org_id
    address = identity.address
    assert address["upn"] == "sam@contoso.example" and address["tenant_id"] == TENANT
    reference = address["reference"]
    assert reference["conversation"]["id"] == teams.personal(sam)
    assert reference["serviceUrl"] == teams.fake.service_url
    assert "Hi Sam Sponsor" in card_text(teams.last_card(teams.personal(sam)))
    # The time zone comes with the first message (Teams' clientInfo entity).
    await teams.say(teams.message(sam, "help", timezone="Europe/Berlin"))
    assert (await rows(teams, Person, Person.id == person.id))[0].tz == "Europe/Berlin"
    # Installing again (Teams also sends conversationUpdate) does not welcome twice.
    await teams.say(teams.install(sam))
    welcomes = [c for c in teams.fake.cards(teams.personal(sam)) if "Hi Sam" in card_text(c)]
    assert len(welcomes) == 1


async def test_a_bad_time_zone_is_ignored(teams: TeamsWorld) -> None:
    sam = await teams.installed(teams.user("5b", "Sam Sponsor"))
    await teams.say(teams.message(sam, "help", timezone="Mars/Olympus_Mons"))
    [person] = await rows(teams, Person)
    assert person.tz is None


async def test_someone_known_by_email_is_one_person(teams: TeamsWorld) -> None:
    async with teams.runtime.db.transaction() as session:
        known = await add_person(session, teams.runtime.org_id, "Sam S.", email="SAM@contoso.example")
        await add_identity(session, known, "slack", "U0SAM")
    sam = await teams.installed(teams.user("5c", "Sam Sponsor"))
    people = await rows(teams, Person)
    assert [p.id for p in people] == [known.id]
    platforms = sorted(i.platform for i in await rows(teams, Identity, Identity.person_id == known.id))
    assert platforms == ["slack", "teams"]
    assert sam.email == people[0].email


async def test_admins_from_pmo_admins_by_aad_id(teams: TeamsWorld) -> None:
    await teams.installed(teams.user(ADMIN_AAD, "Ada Admin"))
    [person] = await rows(teams, Person)
    assert person.role == "admin"


async def test_adding_the_bot_to_a_team_stores_the_team_and_its_members(teams: TeamsWorld) -> None:
    ada = teams.user(ADMIN_AAD, "Ada Admin", team=TEAM)
    teams.user("7a", "Tom Teammate", team=TEAM)
    await teams.say(teams.team_install(ada))
    [team] = await rows(teams, Conversation, Conversation.kind == "team")
    assert team.external_id == TEAM and team.address["reference"]["serviceUrl"] == teams.fake.service_url
    names = sorted(p.name for p in await rows(teams, Person))
    assert names == ["Ada Admin", "Tom Teammate"]
    tom = next(
        i
        for i in await rows(teams, Identity)
        if i.address.get("user_id") == "29:" + "7a".rjust(8, "0") + "-0000-4000-8000-000000000000"
    )
    assert "reference" not in tom.address  # no 1:1 chat yet: one is created when needed
    assert "alerts here" in card_text(teams.last_card(TEAM))
    # A channel message records the channel too.
    await teams.say(teams.channel_message(ada, "@PMO help"))
    channel = await rows(teams, Conversation, Conversation.external_id == CHANNEL)
    assert channel and channel[0].address["team_id"] == TEAM


async def test_removing_the_bot_makes_the_person_unreachable_and_tells_staff_once(teams: TeamsWorld) -> None:
    ada = await teams.installed(teams.user(ADMIN_AAD, "Ada Admin"))
    sam = await teams.installed(teams.user("5d", "Sam Sponsor"))
    await teams.say(teams.uninstall(sam))
    await teams.say(teams.uninstall(sam))
    person = next(p for p in await rows(teams, Person) if p.name == "Sam Sponsor")
    assert person.unreachable
    told = [c for c in teams.fake.cards(teams.personal(ada)) if "can no longer be reached" in card_text(c)]
    assert len(told) == 1 and "Sam Sponsor" in card_text(told[0])
    assert "Apps" in card_text(told[0])  # how to fix it
    # Adding the bot again makes them reachable.
    await teams.say(teams.install(sam))
    assert not (await rows(teams, Person, Person.id == person.id))[0].unreachable
    assert await rows(teams, LocalMessage) == []  # nothing went to a console that is not served
