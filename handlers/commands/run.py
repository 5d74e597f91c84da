"""Running a `/pmo` command: parse, check the role, do it in one transaction, then send.

Every channel (Slack, Teams, the console, the shell) calls `run_command`; what it returns is a
neutral view. A refusal or a mistake rolls the transaction back, so nothing ever changes then.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import followups, outcomes, projects
from handlers.checkins.lifecycle import open_checkin, open_taste_checkin, taken_alert
from handlers.checkins.views import question
from handlers.commands.parser import SPECS, Command, ParseError, Spec, parse
from handlers.csv.api import export_csv
from handlers.outbox import Rollback, perform_as
from handlers.painpoints import loop, tracking
from handlers.people import FOREVER, display, is_admin, is_paused, is_sponsor, is_staff, resolve_person
from handlers.ports import Caller, NotReachable, Outgoing, PersonRef, Reply, Services
from handlers.value.report import compute_value, recent_comments
from handlers.value.view import value_view
from handlers.views import Attachment, View, error, info, number
from storage.models import KIND_PAINPOINT, KIND_TASTE, Checkin, Organisation, Person, Project
from storage.queries import find_project, sponsored_projects

log = logging.getLogger(__name__)

ROLE_WORDS = {
    "staff": "PMO staff",
    "admin": "PMO admins",
    "sponsor": "project sponsors",
    "staff|sponsor": "PMO staff and project sponsors",
}


@dataclass
class Context:
    session: AsyncSession
    services: Services
    caller: Caller
    person: Person

    @property
    def today(self) -> dt.date:
        return self.services.today or dt.datetime.now(dt.UTC).date()


async def run_command(services: Services, caller: Caller, text: str) -> View:
    """The one entry point for `/pmo …`, whatever the channel."""
    try:
        command = parse(text)
    except ParseError as exc:
        return error(exc.message, exc.usage)

    async def work(session: AsyncSession, person: Person) -> Reply:
        ctx = Context(session, services, caller, person)
        refusal = await _refusal(ctx, command.spec)
        if refusal is not None:
            return Reply(refusal)
        return await HANDLERS[command.name](ctx, command)

    return await perform_as(services, caller, work)


async def _may_run(ctx: Context, spec: Spec) -> bool:
    if spec.role == "anyone":
        return True
    if spec.role == "staff":
        return is_staff(ctx.person)
    if spec.role == "admin":
        return is_admin(ctx.person)
    if spec.role == "staff|sponsor" and is_staff(ctx.person):
        return True
    return await is_sponsor(ctx.session, ctx.person)


async def _refusal(ctx: Context, spec: Spec) -> View | None:
    if await _may_run(ctx, spec):
        return None
    return error(f"Sorry, '{spec.name}' is for {ROLE_WORDS[spec.role]} only. Nothing was changed.")


# ---- one function per command, bound to its words by @handles -----------------------------

Handler = Callable[[Context, Command], Awaitable[Reply]]
HANDLERS: dict[str, Handler] = {}
_NAMES = frozenset(spec.name for spec in SPECS)


def handles(name: str) -> Callable[[Handler], Handler]:
    """Bind the decorated function to the command `name` of the parser's table, as `@app.command` does in bolt."""
    if name not in _NAMES:
        raise LookupError(f"'{name}' is not a command of the /pmo language (handlers.commands.parser.SPECS)")

    def bind(handler: Handler) -> Handler:
        if name in HANDLERS:
            raise LookupError(f"'{name}' has two handlers: {HANDLERS[name].__name__} and {handler.__name__}")
        HANDLERS[name] = handler
        return handler

    return bind


def check_every_command_handled(specs: Iterable[Spec]) -> None:
    """Called once the handlers are bound: a command the parser accepts but nothing runs fails at import."""
    missing = [spec.name for spec in specs if spec.name not in HANDLERS]
    if missing:
        raise LookupError(f"no handler for {', '.join(missing)} (bind one with @handles)")


@handles("help")
async def _help(ctx: Context, command: Command) -> Reply:
    lines = [f"/pmo {spec.usage}\n    {spec.summary}" for spec in SPECS if await _may_run(ctx, spec)]
    return Reply(View(title="What you can ask the PMO bot", lines=tuple(lines)))


async def _project_named(ctx: Context, name: str) -> Project:
    project = await find_project(ctx.session, ctx.caller.org_id, name)
    if project is None:
        raise Rollback(Reply(error(f"There is no project named '{name}'. Type 'project list' to see them.")))
    return project


async def _person(ctx: Context, ref: PersonRef) -> Person:
    try:
        person = await resolve_person(ctx.session, ctx.caller.org_id, ref, ctx.services.directory)
    except NotReachable as exc:
        raise Rollback(Reply(error(str(exc)))) from None
    if person is None:
        raise Rollback(
            Reply(
                error(
                    f"I can't find {ref.written} here. Check the mention or e-mail, or ask them to say hello to the bot."
                )
            )
        )
    return person


@handles("value")
async def _value(ctx: Context, command: Command) -> Reply:
    project = await _project_named(ctx, command.positional) if command.positional else None
    segment = command.options.get("segment")
    staff = is_staff(ctx.person)
    if project is not None and not staff and project.sponsor_id != ctx.person.id:
        return Reply(
            error(f"Project detail is for PMO staff and the sponsor of {project.name}. Try 'value' alone.")
        )
    if segment is not None:  # equality, not ILIKE: '%' and '_' in a segment are not wildcards
        found = await ctx.session.scalar(
            select(Project.segment)
            .where(Project.org_id == ctx.caller.org_id, func.lower(Project.segment) == segment.lower())
            .limit(1)
        )
        if found is None:
            return Reply(error(f"No project is in segment '{segment}'."))
        segment = found
    days = command.options.get("days", 90)
    report = await compute_value(
        ctx.session, ctx.caller.org_id, project=project, segment=segment, days=days, today=ctx.today
    )
    comments = (
        await recent_comments(
            ctx.session, ctx.caller.org_id, project=project, segment=segment, today=ctx.today
        )
        if staff or project is not None
        else []
    )
    return Reply(value_view(report, comments=comments))


@handles("project add")
async def _project_add(ctx: Context, command: Command) -> Reply:
    sponsor = await _person(ctx, command.options["sponsor"])
    return Reply(
        await projects.add(ctx.session, ctx.caller.org_id, command.positional, sponsor, command.options)
    )


@handles("project list")
async def _project_list(ctx: Context, command: Command) -> Reply:
    return Reply(await projects.listing(ctx.session, ctx.caller.org_id))


@handles("project archive")
async def _project_archive(ctx: Context, command: Command) -> Reply:
    return Reply(await projects.archive(ctx.session, await _project_named(ctx, command.positional)))


async def _send_now(ctx: Context, command: Command, kind: str) -> Reply:
    project = await _project_named(ctx, command.positional)
    if project.archived:
        return Reply(error(f"'{project.name}' is archived; nothing was sent."))
    sponsor = await ctx.session.get(Person, project.sponsor_id)
    assert sponsor is not None
    if is_paused(sponsor, ctx.today):
        until = "further notice" if sponsor.paused_until == FOREVER else str(sponsor.paused_until)
        return Reply(error(f"{sponsor.name} has paused check-ins until {until}; nothing was sent."))
    checkin = await open_checkin(ctx.session, project, kind)
    if checkin is None:
        return Reply(error("That was sent a moment ago; nothing more was sent."))
    what = "taste check-in" if kind == KIND_TASTE else "pain-point prompt"
    sent = question(kind, checkin.id, project.name)
    return Reply(
        info(f"Sent the {what} for {project.name} to {sponsor.name}."),
        [Outgoing(view=sent, person_id=sponsor.id, checkin_id=checkin.id)],
    )


@handles("checkin")
async def _checkin(ctx: Context, command: Command) -> Reply:
    """`checkin PROJECT [again]`: while the sponsor's last check-in of it is open, only with `again`."""
    name, again = command.positional, False
    if name.lower().endswith(" again") and await find_project(ctx.session, ctx.caller.org_id, name) is None:
        name, again = name[: -len(" again")].rstrip(), True
        command = replace(command, positional=name)
    if not again:
        project = await _project_named(ctx, name)
        pending = await open_taste_checkin(ctx.session, project)
        if pending is not None:
            return Reply(
                error(
                    f"{project.name}'s check-in of {pending.sent_at:%Y-%m-%d %H:%M} UTC is still open; "
                    f"nothing was sent. Type 'checkin {project.name} again' to send another.",
                )
            )
    return await _send_now(ctx, command, KIND_TASTE)


@handles("ask")
async def _ask(ctx: Context, command: Command) -> Reply:
    return await _send_now(ctx, command, KIND_PAINPOINT)


@handles("painpoints")
async def _painpoints(ctx: Context, command: Command) -> Reply:
    name = command.options.get("project")
    project = await _project_named(ctx, name) if name else None
    return Reply(
        await tracking.listing(ctx.session, ctx.caller.org_id, command.positional or "open", project)
    )


@handles("painpoint")
async def _painpoint(ctx: Context, command: Command) -> Reply:
    """`painpoint ID …`: an owner, a note, or the measure (the parser lets only one through)."""
    o = command.options
    if "owner" in o:
        owner = await _person(ctx, o["owner"])
        return await loop.assign(ctx.session, ctx.person, command.positional, owner, o.get("due"))
    if "note" in o:
        return await loop.add_note(ctx.session, ctx.person, command.positional, o["note"])
    return Reply(
        await tracking.attach_measure(
            ctx.session,
            ctx.caller.org_id,
            command.positional,
            o["metric"],
            o["baseline"],
            o.get("better"),
            ctx.person,
        )
    )


@handles("painpoint resolve")
async def _painpoint_resolve(ctx: Context, command: Command) -> Reply:
    """Resolve, then tell the reporter "You said, we did" when it was not resolved before."""
    point = await tracking.get_point(ctx.session, ctx.caller.org_id, command.positional)
    was_resolved = point is not None and point.status == "resolved"
    fix = command.options.get("fix")
    view = await tracking.resolve(
        ctx.session, ctx.caller.org_id, command.positional, command.options.get("after"), fix
    )
    if not view.ok or point is None:
        return Reply(view)
    outbox, lines = await loop.after_resolve(
        ctx.session, ctx.person, point, fix, not was_resolved, ctx.services.policy
    )
    return Reply(replace(view, lines=(*view.lines, *lines)), outbox)


@handles("painpoints mine")
async def _painpoints_mine(ctx: Context, command: Command) -> Reply:
    return Reply(await loop.mine(ctx.session, ctx.person))


@handles("followup")
async def _followup(ctx: Context, command: Command) -> Reply:
    reply = await followups.record_did(ctx.session, ctx.person, command.positional, command.options["did"])
    checkin = await ctx.session.get(Checkin, command.positional) if reply.view.ok else None
    if checkin is None:
        return reply
    return Reply(reply.view, await taken_alert(ctx.session, checkin, ctx.services.policy))


@handles("outcome add")
async def _outcome_add(ctx: Context, command: Command) -> Reply:
    project = await _project_named(ctx, command.positional)
    o = command.options
    view = await outcomes.add(
        ctx.session,
        project,
        metric=o["metric"],
        baseline=o["baseline"],
        target=o["target"],
        unit=o.get("unit"),
        benefit=o.get("benefit"),
        due=o.get("due"),
    )
    return Reply(view)


@handles("outcome update")
async def _outcome_update(ctx: Context, command: Command) -> Reply:
    return Reply(
        await outcomes.record(
            ctx.session, ctx.caller.org_id, command.positional, command.options["current"], ctx.person.id
        )
    )


@handles("outcomes")
async def _outcomes(ctx: Context, command: Command) -> Reply:
    staff = is_staff(ctx.person)
    if command.positional:
        project = await _project_named(ctx, command.positional)
        if not staff and project.sponsor_id != ctx.person.id:
            return Reply(error(f"The outcomes of {project.name} are for PMO staff and its sponsor."))
        return Reply(await outcomes.listing(ctx.session, ctx.caller.org_id, [project]))
    if staff:
        return Reply(await outcomes.listing(ctx.session, ctx.caller.org_id, None))
    own = await sponsored_projects(ctx.session, ctx.person.id)
    if not own:
        return Reply(error("Outcomes are for PMO staff and project sponsors."))
    return Reply(await outcomes.listing(ctx.session, ctx.caller.org_id, own))


@handles("cost")
async def _cost(ctx: Context, command: Command) -> Reply:
    if command.positional < 0:
        return Reply(error("The PMO's cost cannot be negative.", "cost AMOUNT"))
    org = await ctx.session.get(Organisation, ctx.caller.org_id)
    assert org is not None
    org.pmo_cost = command.positional
    return Reply(info(f"The PMO's cost to date is now {number(command.positional)}; ROI in 'value' uses it."))


@handles("alerts here")
async def _alerts_here(ctx: Context, command: Command) -> Reply:
    if not ctx.caller.channel:
        return Reply(
            error("Run 'alerts here' in the channel that should receive alerts (after inviting the bot).")
        )
    org = await ctx.session.get(Organisation, ctx.caller.org_id)
    assert org is not None
    org.alert_channels = {**(org.alert_channels or {}), ctx.caller.platform: ctx.caller.channel}
    return Reply(
        info(
            "Alerts will come to this channel: sour tastes and pain points of impact 4–5.",
        ),
        [],
    )


@handles("staff add")
async def _staff_add(ctx: Context, command: Command) -> Reply:
    person = await _person(ctx, command.positional)
    if is_staff(person):
        return Reply(info(f"{person.name} is already {'an admin' if is_admin(person) else 'PMO staff'}."))
    person.role = "staff"
    return Reply(info(f"{display(person)} is now PMO staff."))


@handles("staff remove")
async def _staff_remove(ctx: Context, command: Command) -> Reply:
    person = await _person(ctx, command.positional)
    if is_admin(person):
        return Reply(error(f"{person.name} is an admin; admins come from PMO_ADMINS and stay staff."))
    if not is_staff(person):
        return Reply(error(f"{person.name} is not PMO staff."))
    person.role = "member"
    return Reply(info(f"{person.name} is no longer PMO staff."))


@handles("staff list")
async def _staff_list(ctx: Context, command: Command) -> Reply:
    people = await ctx.session.scalars(
        select(Person)
        .where(Person.org_id == ctx.caller.org_id, Person.role.in_(("staff", "admin")))
        .order_by(Person.role, Person.name)
    )
    lines = tuple(f"{display(p)} · {p.role}" for p in people)
    return Reply(View(title="PMO staff", lines=lines or ("Nobody yet.",)))


@handles("pause")
async def _pause(ctx: Context, command: Command) -> Reply:
    until = command.options.get("until")
    if until is not None and until <= ctx.today:
        return Reply(error(f"until: {until} is not in the future.", "pause [until:YYYY-MM-DD]"))
    ctx.person.paused_until = until or FOREVER
    when = f"until {until}" if until else "until you type 'resume'"
    return Reply(info(f"Check-ins are paused {when}. Enjoy the time off!"))


@handles("resume")
async def _resume(ctx: Context, command: Command) -> Reply:
    if ctx.person.paused_until is None:
        return Reply(info("Your check-ins were not paused; nothing changed."))
    ctx.person.paused_until = None
    return Reply(info("Welcome back: check-ins resume on schedule."))


@handles("export")
async def _export(ctx: Context, command: Command) -> Reply:
    buffer = io.StringIO()
    rows = await export_csv(ctx.session, ctx.caller.org_id, command.positional, buffer)
    filename = f"{command.positional}-{ctx.today.isoformat()}.csv"
    return Reply(
        View(
            text=f"Here is {command.positional}: {rows} rows.",
            attachment=Attachment(filename=filename, content=buffer.getvalue().encode("utf-8")),
        )
    )


check_every_command_handled(SPECS)
