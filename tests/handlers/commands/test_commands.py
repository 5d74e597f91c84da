"""Every `/pmo` command through `run_command`, on SQLite and PostgreSQL (CONTRACT.md section 4).

Each command works for the role that may run it and its effect is in the database; every
refusal and every mistake leaves every table exactly as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from handlers.commands.parser import SPECS, parse
from handlers.commands.run import run_command
from handlers.people import FOREVER
from handlers.ports import Caller
from handlers.views import View
from storage.db import Database, utcnow
from storage.models import (
    Checkin,
    Delivery,
    Measurement,
    Outcome,
    PainPoint,
    Person,
    Project,
)
from storage.queries import get_or_create_org
from tests.helpers import TODAY, World, make_world, message_view


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db)


def refused(view: View) -> None:
    assert not view.ok, view.as_text()
    assert "Sorry" in view.text and "only" in view.text and "Nothing was changed" in view.text


async def unchanged(world: World, person_attr: str, text: str, channel: str | None = None) -> View:
    """Run a command that must change nothing, and prove it changed nothing."""
    before = await world.snapshot()
    view = await world.run(getattr(world, person_attr), text, channel)
    assert not view.ok, view.as_text()
    assert await world.snapshot() == before
    return view


# ---- who may run what -----------------------------------------------------------------------

STAFF_COMMANDS = [
    "project add Zeus sponsor:<@UMEMBER>",
    "project list",
    "project archive Apollo",
    "checkin Apollo",
    "ask Apollo",
    "painpoints all",
    "painpoint {point} metric:Cycle time baseline:5",
    "painpoint resolve {point}",
    "outcome add Apollo metric:NPS baseline:10 target:50",
    "outcome update {outcome} current:20",
    "alerts here",
    "export projects",
    # issue 11, the loop
    "checkin Apollo again",
    "painpoints mine",
    "painpoint {point} owner:<@USTAFF> due:2026-04-01",
    'painpoint {point} note:"Called the vendor"',
    'painpoint resolve {point} after:3 fix:"A second supplier"',
    'followup {point} did:"Weekly demo"',
    # issue 12, the value digest
    "digest",
    "digest here weekly",
    "digest to <@USTAFF>",
    "digest remove <@USTAFF>",
    "digest now",
]
ADMIN_COMMANDS = ["cost 450k", "staff add <@UMEMBER>", "staff remove <@USTAFF>", "staff list"]


async def with_ids(world: World, text: str) -> str:
    """Real ids for the commands above, so that only the role can be the reason for a refusal."""
    if "{" not in text:
        return text
    point = await world.add_painpoint()
    async with world.db.transaction() as session:
        outcome = Outcome(
            org_id=world.org_id,
            project_id=world.project.id,
            metric="NPS",
            baseline=10,
            target=50,
            added_on=TODAY,
        )
        session.add(outcome)
    return text.format(point=point.id, outcome=outcome.id)


async def refusals(world: World, who: str, commands: list[str], role_words: str) -> list[str]:
    """Run each command as `who`; return what went wrong (a command that was not refused, or a change)."""
    failures = []
    for command in commands:
        text = await with_ids(world, command)
        before = await world.snapshot()
        view = await world.run(getattr(world, who), text, "#pmo" if command == "alerts here" else None)
        expected = f"Sorry, '{parse(text).name}' is for {role_words} only. Nothing was changed."
        if view.ok or view.text != expected:
            failures.append(f"{text!r} by {who}: {view.as_text()!r}")
        elif await world.snapshot() != before:
            failures.append(f"{text!r} by {who} changed the database")
    return failures


@pytest.mark.parametrize("who", ["member", "sponsor"])
async def test_every_staff_command_is_refused_to_members_and_sponsors(world: World, who: str) -> None:
    assert await refusals(world, who, STAFF_COMMANDS, "PMO staff") == []


@pytest.mark.parametrize("who", ["member", "sponsor", "staff"])
async def test_every_admin_command_is_refused_to_everyone_else(world: World, who: str) -> None:
    assert await refusals(world, who, ADMIN_COMMANDS, "PMO admins") == []


@pytest.mark.parametrize("who", ["member", "staff", "admin"])
async def test_pause_and_resume_are_for_sponsors(world: World, who: str) -> None:
    commands = ["pause", "pause until:2026-04-01", "resume"]
    assert await refusals(world, who, commands, "project sponsors") == []


async def test_a_stranger_is_not_served(world: World) -> None:
    async with world.db.transaction() as session:
        other = await get_or_create_org(session, "other")
        other_id = other.id
    stranger = await world.add_person("Eve", "UEVE", role="admin", org_id=other_id)
    before = await world.snapshot()
    forged = Caller(org_id=world.org_id, person_id=stranger.id, platform="local")
    view = await run_command(world.services, forged, "cost 5")
    assert not view.ok and "don't know you" in view.text
    assert await world.snapshot() == before


def test_the_refusal_lists_hold_every_staff_and_admin_command() -> None:
    names = {parse(text.format(point=1, outcome=1)).name for text in STAFF_COMMANDS}
    assert names == {spec.name for spec in SPECS if spec.role == "staff"}
    assert {parse(text).name for text in ADMIN_COMMANDS} == {
        spec.name for spec in SPECS if spec.role == "admin"
    }


def commands_in(view: View) -> set[str]:
    """The command names a help answer lists (each line is `/pmo USAGE` and a summary)."""
    usages = {spec.usage: spec.name for spec in SPECS}
    return {usages[line.split("\n")[0].removeprefix("/pmo ")] for line in view.lines}


async def test_help_lists_only_what_each_person_may_run(world: World) -> None:
    every = {spec.name for spec in SPECS}
    staff_too = every - {"pause", "resume", "cost", "staff add", "staff remove", "staff list"}
    expected = {
        "member": {"help", "home", "value", "language"},
        "sponsor": {"help", "home", "value", "outcomes", "pause", "resume", "language", "story"},
        "staff": staff_too,
        "admin": every - {"pause", "resume"},
    }
    for who, names in expected.items():
        view = await world.run(getattr(world, who), "help")
        assert view.ok and commands_in(view) == names, who
    await world.add_project("Zeus", world.staff)  # staff who sponsor a project may pause too
    assert commands_in(await world.run(world.staff, "help")) == staff_too | {"pause", "resume"}


# ---- mistakes change nothing ----------------------------------------------------------------


STAFF_MISTAKES = [
    ("frobnicate", "'frobnicate'"),
    ("project add Zeus", "sponsor:"),
    ("project add Zeus sponsor:<@UMEMBER> day:someday", "'someday'"),
    ("project add Zeus sponsor:<@UNKNOWN>", "<@UNKNOWN>"),
    ("project add Zeus sponsor:<@UNKNOWN|ghost>", "<@UNKNOWN|ghost>"),
    ("project add apollo sponsor:<@UMEMBER>", "already exists"),
    ("project archive Hermes", "'Hermes'"),
    ("checkin Hermes", "'Hermes'"),
    ("ask Hermes", "'Hermes'"),
    ("painpoints open project:Hermes", "'Hermes'"),
    ("painpoint 999 metric:x baseline:1", "#999"),
    ("painpoint resolve 999", "#999"),
    ('outcome add Hermes metric:"x" baseline:1 target:2', "'Hermes'"),
    ("outcome add Apollo metric:x baseline:3 target:3", "equals baseline"),
    ("outcome add Apollo metric:x baseline:3 target:5 benefit:-10", "benefit"),
    ("outcome update 999 current:5", "#999"),
    ("outcomes Hermes", "'Hermes'"),
    ("outcome update 1 current:", "'current:'"),
    ('outcome add Apollo metric:"Order cycle baseline:1 target:2', "quote"),
    ("value Hermes", "'Hermes'"),
    ("value segment:Nowhere", "'Nowhere'"),
    ("value segment:%", "'%'"),
    ("value segment:Sp_ce", "'Sp_ce'"),
]
ADMIN_MISTAKES = [
    ("cost lots", "'lots'"),
    ("cost -5", "negative"),
    ("staff add nobody", "'nobody'"),
    ("staff add <@UNKNOWN>", "<@UNKNOWN>"),
    ("staff remove <@UNKNOWN>", "<@UNKNOWN>"),
    ("staff remove nobody@example.com", "not PMO staff"),
]


async def mistakes(world: World, who: str, cases: list[tuple[str, str]]) -> list[str]:
    """Run each mistaken command; return those not refused, not named in the answer, or that changed data."""
    failures = []
    for text, says in cases:
        before = await world.snapshot()
        view = await world.run(getattr(world, who), text)
        if view.ok or says not in view.as_text():
            failures.append(f"{text!r}: {view.as_text()!r} does not say {says!r}")
        elif await world.snapshot() != before:
            failures.append(f"{text!r} changed the database")
    return failures


async def test_bad_input_names_the_problem_and_changes_nothing(world: World) -> None:
    assert await mistakes(world, "staff", STAFF_MISTAKES) == []


async def test_bad_admin_input_names_the_problem_and_changes_nothing(world: World) -> None:
    assert await mistakes(world, "admin", ADMIN_MISTAKES) == []


async def test_bad_input_carries_the_usage_line(world: World) -> None:
    view = await unchanged(world, "staff", "project add Zeus sponsor:<@UMEMBER> cadence:daily")
    assert "'daily'" in view.text
    assert view.lines and view.lines[0].startswith("Usage: project add NAME sponsor:PERSON")


# ---- projects -------------------------------------------------------------------------------


async def test_project_add_with_defaults(world: World) -> None:
    view = await world.run(world.staff, "project add Order to Cash sponsor:<@UMEMBER>")
    assert view.ok, view.as_text()
    assert "Order to Cash" in view.text and "Mel Member" in view.text
    [project] = await world.rows(Project, Project.name == "Order to Cash")
    assert (project.sponsor_id, project.org_id) == (world.member.id, world.org_id)
    assert (project.cadence, project.day, project.time, project.ask) == (
        "biweekly",
        "tue",
        "10:00",
        "monthly",
    )
    assert project.segment is None and project.archived is False
    assert "biweekly on Tuesday at 10:00" in view.lines[0]


async def test_project_add_with_every_option(world: World) -> None:
    view = await world.run(
        world.staff,
        'project add "Order to Cash" sponsor:<@UMEMBER|mel> segment:Back office cadence:weekly '
        "day:friday time:9:30 ask:quarterly",
    )
    assert view.ok, view.as_text()
    [project] = await world.rows(Project, Project.name == "Order to Cash")
    assert (project.segment, project.cadence, project.day, project.time, project.ask) == (
        "Back office",
        "weekly",
        "fri",
        "09:30",
        "quarterly",
    )


async def test_project_add_by_email_finds_or_adds_the_sponsor(world: World) -> None:
    assert (await world.run(world.admin, "project add Zeus sponsor:UMEMBER@example.com")).ok
    [zeus] = await world.rows(Project, Project.name == "Zeus")
    assert zeus.sponsor_id == world.member.id
    view = await world.run(world.admin, "project add Hera sponsor:<mailto:new.person@example.com|x>")
    assert view.ok, view.as_text()
    [newcomer] = await world.rows(Person, Person.email == "new.person@example.com")
    [hera] = await world.rows(Project, Project.name == "Hera")
    assert hera.sponsor_id == newcomer.id and newcomer.name == "New Person"


async def test_text_postgresql_cannot_store_is_cleaned_or_refused(world: World) -> None:
    assert (await world.run(world.staff, "project add Ne\x00ptune sponsor:<@UMEMBER>")).ok
    assert len(await world.rows(Project, Project.name == "Neptune")) == 1
    view = await unchanged(world, "staff", "outcome add Neptune metric:m baseline:1 target:2 due:9999-12-31")
    assert "'9999-12-31'" in view.text
    view = await unchanged(
        world, "staff", f"outcome add Neptune metric:m baseline:1 target:2 unit:{'u' * 41}"
    )
    assert "40" in view.text


async def test_project_names_are_unique_whatever_the_case_and_spacing(world: World) -> None:
    for text in ("project add APOLLO sponsor:<@UMEMBER>", "project add  apollo  sponsor:<@UMEMBER>"):
        view = await unchanged(world, "staff", text)
        assert "'Apollo' already exists" in view.text


async def test_project_list_and_archive(world: World) -> None:
    await world.add_project("Zeus", world.member, cadence="off")
    view = await world.run(world.staff, "project list")
    assert view.ok and view.title == "Projects (2)"
    assert any(
        line.startswith("Apollo · sponsor Sam Sponsor · Space · biweekly tue 10:00") for line in view.lines
    )
    assert any(line.startswith("Zeus · sponsor Mel Member · off") for line in view.lines)
    view = await world.run(world.staff, "project archive apollo")
    assert view.ok and "archived" in view.text
    assert (await world.get(Project, world.project.id)).archived is True
    assert "Apollo (archived)" in (await world.run(world.staff, "project list")).lines[-1]
    assert "already archived" in (await unchanged(world, "staff", "project archive Apollo")).text


# ---- check-ins and prompts sent now ----------------------------------------------------------


async def test_checkin_delivers_the_taste_question_to_the_sponsors_inbox(world: World) -> None:
    view = await world.run(world.staff, "checkin apollo")
    assert view.ok, view.as_text()
    assert "Sam Sponsor" in view.text
    [message] = await world.inbox(world.sponsor)
    question = message_view(message)
    assert question.title == "How does *Apollo* taste?"
    [checkin] = await world.rows(Checkin)
    assert (checkin.kind, checkin.status, checkin.sponsor_id) == ("taste", "open", world.sponsor.id)
    assert [c.payload for c in question.choices] == [
        {"checkin": checkin.id, "rating": r} for r in (5, 4, 3, 2, 1)
    ]
    assert checkin.message_refs == {"local": {"platform": "local", "message": message.id}}
    [delivery] = await world.rows(Delivery)
    assert (delivery.status, delivery.checkin_id, delivery.kind) == ("sent", checkin.id, "taste")
    assert await world.inbox(world.staff) == []


async def test_ask_delivers_the_pain_point_prompt(world: World) -> None:
    view = await world.run(world.staff, "ask Apollo")
    assert view.ok, view.as_text()
    [message] = await world.inbox(world.sponsor)
    prompt = message_view(message)
    assert prompt.title == "What keeps you up at night about *Apollo*?"
    [checkin] = await world.rows(Checkin)
    assert checkin.kind == "painpoint"
    assert prompt.form is not None and prompt.form.payload == {"checkin": checkin.id}


@pytest.mark.parametrize("command", ["checkin Apollo", "ask Apollo"])
async def test_nothing_is_sent_for_an_archived_project(world: World, command: str) -> None:
    assert (await world.run(world.staff, "project archive Apollo")).ok
    view = await unchanged(world, "staff", command)
    assert "archived" in view.text
    assert await world.inbox(world.sponsor) == []


@pytest.mark.parametrize("command", ["checkin Apollo", "ask Apollo"])
async def test_nothing_is_sent_to_a_paused_sponsor(world: World, command: str) -> None:
    assert (await world.run(world.sponsor, "pause until:2026-04-01")).ok
    view = await unchanged(world, "staff", command)
    assert "paused" in view.text and "2026-04-01" in view.text
    assert await world.inbox(world.sponsor) == []
    assert (await world.run(world.sponsor, "resume")).ok
    assert (await world.run(world.staff, command)).ok
    assert len(await world.inbox(world.sponsor)) == 1


async def test_a_pause_that_ended_does_not_hold_check_ins_back(world: World) -> None:
    async with world.db.transaction() as session:
        sponsor = await session.get(Person, world.sponsor.id)
        sponsor.paused_until = TODAY  # check-ins resume on that date
    assert (await world.run(world.staff, "checkin Apollo")).ok


# ---- pain points ----------------------------------------------------------------------------


async def test_painpoint_measure_then_resolve(world: World) -> None:
    point = await world.add_painpoint(text="Orders take two weeks")
    view = await world.run(world.staff, f'painpoint {point.id} metric:"Order cycle time" baseline:14')
    assert view.ok, view.as_text()
    stored = await world.get(PainPoint, point.id)
    assert (stored.metric, stored.baseline, stored.better, stored.status) == (
        "Order cycle time",
        14,
        "lower",
        "open",
    )
    view = await world.run(world.staff, f"painpoint resolve #{point.id} after:7")
    assert view.ok, view.as_text()
    assert "14 → 7" in view.text and "+50.0%" in view.text
    stored = await world.get(PainPoint, point.id)
    assert (stored.status, stored.after) == ("resolved", 7)
    assert stored.resolved_at is not None


async def test_painpoint_better_higher(world: World) -> None:
    point = await world.add_painpoint()
    assert (await world.run(world.staff, f"painpoint {point.id} metric:NPS baseline:20 better:higher")).ok
    view = await world.run(world.staff, f"painpoint resolve {point.id} after:30")
    assert "+50.0%" in view.text
    assert (await world.get(PainPoint, point.id)).better == "higher"


async def test_resolve_without_a_measure(world: World) -> None:
    point = await world.add_painpoint()
    view = await unchanged(world, "staff", f"painpoint resolve {point.id} after:3")
    assert "no measure" in view.text
    assert (await world.run(world.staff, f"painpoint resolve {point.id}")).ok
    assert (await world.get(PainPoint, point.id)).status == "resolved"
    assert "already resolved" in (await unchanged(world, "staff", f"painpoint resolve {point.id}")).text


async def test_painpoints_listing(world: World) -> None:
    zeus = await world.add_project("Zeus", world.member)
    first = await world.add_painpoint(text="Vendor late")
    second = await world.add_painpoint(zeus, text="No budget", status="resolved")
    view = await world.run(world.staff, "painpoints")
    assert view.title == "Pain points (open)"
    assert len(view.lines) == 1 and view.lines[0].startswith(f"#{first.id} [open] Apollo")
    view = await world.run(world.staff, "painpoints all")
    assert [line.split()[0] for line in view.lines] == [f"#{second.id}", f"#{first.id}"]
    view = await world.run(world.staff, "painpoints resolved project:zeus")
    assert len(view.lines) == 1 and "No budget" in view.lines[0]
    assert (
        "No open pain points on Zeus" in (await world.run(world.staff, "painpoints open project:Zeus")).text
    )


async def test_another_organisations_rows_are_not_found(world: World) -> None:
    async with world.db.transaction() as session:
        other = await get_or_create_org(session, "other")
        other_id = other.id
    stranger = await world.add_person("Eve", "UEVE", org_id=other_id)
    elsewhere = await world.add_project("Elsewhere", stranger)
    point = await world.add_painpoint(elsewhere)
    async with world.db.transaction() as session:
        outcome = Outcome(
            org_id=other_id, project_id=elsewhere.id, metric="NPS", baseline=1, target=2, added_on=TODAY
        )
        session.add(outcome)
    view = await unchanged(world, "staff", f"painpoint {point.id} metric:x baseline:1")
    assert f"no pain point #{point.id}" in view.text
    assert (
        f"no pain point #{point.id}"
        in (await unchanged(world, "staff", f"painpoint resolve {point.id}")).text
    )
    assert (
        f"no outcome #{outcome.id}"
        in (await unchanged(world, "staff", f"outcome update {outcome.id} current:2")).text
    )
    assert "'Elsewhere'" in (await unchanged(world, "staff", "checkin Elsewhere")).text
    assert "Elsewhere" not in "\n".join((await world.run(world.staff, "painpoints all")).lines)
    assert "Elsewhere" not in "\n".join((await world.run(world.staff, "outcomes")).lines)
    assert "Elsewhere" not in "\n".join((await world.run(world.staff, "project list")).lines)


# ---- outcomes -------------------------------------------------------------------------------


async def test_outcome_add_and_update_keep_history(world: World) -> None:
    view = await world.run(
        world.staff,
        'outcome add apollo metric:"Order cycle time" baseline:14 target:7 unit:days benefit:450k due:2026-12-31',
    )
    assert view.ok, view.as_text()
    [outcome] = await world.rows(Outcome)
    assert (outcome.project_id, outcome.metric, outcome.unit) == (
        world.project.id,
        "Order cycle time",
        "days",
    )
    assert (outcome.baseline, outcome.target, outcome.current) == (14, 7, None)
    assert (outcome.benefit, outcome.due) == (450000, dt.date(2026, 12, 31))
    assert f"Outcome #{outcome.id}" in view.text

    assert (await world.run(world.staff, f"outcome update {outcome.id} current:10")).ok
    view = await world.run(world.admin, f"outcome update #{outcome.id} current:8.5")
    assert view.ok and "79% of the way" in view.text
    assert (await world.get(Outcome, outcome.id)).current == 8.5
    history = await world.rows(Measurement)
    assert [(m.value, m.person_id, m.outcome_id) for m in history] == [
        (10, world.staff.id, outcome.id),
        (8.5, world.admin.id, outcome.id),
    ]
    view = await world.run(world.staff, f"outcome update {outcome.id} current:6")
    assert "achieved" in view.text


async def test_outcomes_for_staff_and_the_sponsor_only(world: World) -> None:
    other_sponsor = await world.add_person("Olga", "UOLGA")
    zeus = await world.add_project("Zeus", other_sponsor)
    assert (await world.run(world.staff, "outcome add Apollo metric:NPS baseline:10 target:50")).ok
    assert (await world.run(world.staff, "outcome add Zeus metric:Uptime baseline:90 target:99 unit:%")).ok
    everything = await world.run(world.staff, "outcomes")
    assert everything.ok and len(everything.lines) == 2
    mine = await world.run(world.sponsor, "outcomes")
    assert mine.ok and len(mine.lines) == 1 and "Apollo" in mine.lines[0]
    assert (await world.run(world.sponsor, "outcomes apollo")).title == "Outcomes of Apollo"
    view = await unchanged(world, "sponsor", f"outcomes {zeus.name}")
    assert "for PMO staff and its sponsor" in view.text
    refused(await unchanged(world, "member", "outcomes"))
    refused(await unchanged(world, "member", "outcomes Apollo"))


# ---- organisation settings --------------------------------------------------------------------


async def test_cost(world: World) -> None:
    view = await world.run(world.admin, "cost $450,000")
    assert view.ok and "450,000" in view.text
    assert (await world.org()).pmo_cost == 450000
    assert (await world.run(world.admin, "cost 1.2m")).ok
    assert (await world.org()).pmo_cost == 1200000


async def test_alerts_here_needs_a_channel(world: World) -> None:
    view = await unchanged(world, "staff", "alerts here")
    assert "channel" in view.text
    view = await world.run(world.staff, "alerts here", channel="#pmo-alerts")
    assert view.ok, view.as_text()
    assert (await world.org()).alert_channels == {"local": "#pmo-alerts"}
    assert (await world.run(world.admin, "alerts here", channel="#elsewhere")).ok
    assert (await world.org()).alert_channels == {"local": "#elsewhere"}


async def test_staff_add_remove_list(world: World) -> None:
    view = await world.run(world.admin, "staff add <@UMEMBER|mel>")
    assert view.ok and "now PMO staff" in view.text
    assert (await world.get(Person, world.member.id)).role == "staff"
    assert "already PMO staff" in (await world.run(world.admin, "staff add umember@example.com")).text
    assert "already an admin" in (await world.run(world.admin, "staff add <@UADMIN>")).text
    listing = await world.run(world.admin, "staff list")
    assert listing.ok and len(listing.lines) == 3
    assert [line.split(" <")[0] for line in listing.lines] == ["Ada Admin", "Mel Member", "Stan Staff"]
    assert (await world.run(world.admin, "staff remove <@UMEMBER>")).ok
    assert (await world.get(Person, world.member.id)).role == "member"
    assert "not PMO staff" in (await unchanged(world, "admin", "staff remove <@UMEMBER>")).text


async def test_an_admin_cannot_be_removed(world: World) -> None:
    view = await unchanged(world, "admin", "staff remove <@UADMIN>")
    assert "admin" in view.text
    assert (await world.get(Person, world.admin.id)).role == "admin"


async def test_staff_add_by_email_adds_someone_new(world: World) -> None:
    view = await world.run(world.admin, "staff add pat.jones@example.com")
    assert view.ok, view.as_text()
    [pat] = await world.rows(Person, Person.email == "pat.jones@example.com")
    assert pat.role == "staff"


# ---- pause and resume -----------------------------------------------------------------------


async def test_pause_until_a_date_and_resume(world: World) -> None:
    view = await world.run(world.sponsor, "pause until:2026-04-01")
    assert view.ok and "2026-04-01" in view.text
    assert (await world.get(Person, world.sponsor.id)).paused_until == dt.date(2026, 4, 1)
    assert (await world.run(world.sponsor, "resume")).ok
    assert (await world.get(Person, world.sponsor.id)).paused_until is None
    assert "were not paused" in (await world.run(world.sponsor, "resume")).text


async def test_pause_without_a_date_lasts_until_resume(world: World) -> None:
    assert (await world.run(world.sponsor, "pause")).ok
    assert (await world.get(Person, world.sponsor.id)).paused_until == FOREVER
    assert "further notice" in (await unchanged(world, "staff", "checkin Apollo")).text


async def test_pause_until_a_past_date_is_refused(world: World) -> None:
    for until in ("2026-03-09", TODAY.isoformat(), "2020-01-01"):
        view = await unchanged(world, "sponsor", f"pause until:{until}")
        assert until in view.text and "not in the future" in view.text


# ---- export and value -----------------------------------------------------------------------


async def test_export_returns_a_csv_attachment(world: World) -> None:
    view = await world.run(world.staff, "export projects")
    assert view.ok, view.as_text()
    assert view.attachment is not None
    assert view.attachment.filename == f"projects-{TODAY.isoformat()}.csv"
    rows = list(csv.reader(io.StringIO(view.attachment.content.decode("utf-8"))))
    assert rows[0] == ["name", "sponsor", "segment", "cadence", "day", "time"]
    assert rows[1][0] == "Apollo" and rows[1][2] == "Space"
    assert len(rows) == 2


async def test_value_at_organisation_scope_for_anyone(world: World) -> None:
    """A plain member is the least anyone can be (sponsors and staff: see the comments test)."""
    view = await world.run(world.member, "value days:30")
    assert view.ok, view.as_text()
    assert view.title == "PMO value — last 30 days"
    assert (
        view.text == "Nothing to tell yet: no answers, fixes or benefits in the last 30 days."
    )  # the headline
    assert view.lines[-1] == "Window: 2026-02-09 to 2026-03-10 (UTC)"
    assert view.chart is not None


async def test_value_project_detail_for_staff_and_its_sponsor(world: World) -> None:
    view = await unchanged(world, "member", "value Apollo")
    assert "sponsor of Apollo" in view.text
    for person in (world.sponsor, world.staff):
        view = await world.run(person, "value apollo")
        assert view.ok, view.as_text()
        assert "Apollo" in view.title


async def test_verbatim_comments_are_for_staff_and_the_projects_sponsor(db: Database) -> None:
    world = await make_world(db, today=utcnow().date())  # the comment is answered now, so "today" is now
    assert (await world.run(world.staff, "checkin Apollo")).ok
    [checkin] = await world.rows(Checkin)
    assert (await world.act(world.sponsor, "taste_2", {"checkin": checkin.id, "rating": 2})).ok
    comment = {"comment": "Too many meetings"}
    assert (await world.act(world.sponsor, "taste_comment", {"checkin": checkin.id}, comment)).ok
    shown = {
        "member": await world.run(world.member, "value"),
        "sponsor, organisation": await world.run(world.sponsor, "value"),
        "sponsor, project": await world.run(world.sponsor, "value Apollo"),
        "staff, organisation": await world.run(world.staff, "value"),
    }
    assert {who: any("Too many meetings" in line for line in view.lines) for who, view in shown.items()} == {
        "member": False,
        "sponsor, organisation": False,
        "sponsor, project": True,
        "staff, organisation": True,
    }


async def test_value_by_segment_ignores_case(world: World) -> None:
    view = await world.run(world.member, "value segment:space")
    assert view.ok and "segment Space" in view.title


async def test_every_refusal_says_who_may(world: World) -> None:
    view = await world.run(world.member, "checkin Apollo")
    assert view.text == "Sorry, 'checkin' is for PMO staff only. Nothing was changed."
    view = await world.run(world.staff, "cost 5")
    assert view.text == "Sorry, 'cost' is for PMO admins only. Nothing was changed."
    view = await world.run(world.member, "pause")
    assert view.text == "Sorry, 'pause' is for project sponsors only. Nothing was changed."


async def test_snapshot_sees_changes(world: World) -> None:
    """The 'nothing changed' checks above are only worth something if a change shows."""
    before = await world.snapshot()
    assert (await world.run(world.admin, "cost 1")).ok
    assert await world.snapshot() != before
