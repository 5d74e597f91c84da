"""Running a `/pmo` command: parse, check the role, do it in one transaction, then send.

Every channel (Slack, Teams, the console, the shell) calls `run_command`; what it returns is a
neutral view. A refusal or a mistake rolls the transaction back, so nothing ever changes then.
"""

from __future__ import annotations

import asyncio
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
from handlers.commands import home
from handlers.commands.help import help_view, may_run
from handlers.commands.parser import SPECS, Command, ParseError, Spec, parse
from handlers.csv.api import export_csv
from handlers.digest import settings as digest
from handlers.digest.view import build_digest, days_for, with_chart
from handlers.i18n import LANGUAGES, Cat, Day, Money, _, ngettext
from handlers.languages import language_of
from handlers.outbox import Rollback, perform_as
from handlers.painpoints import loop, tracking
from handlers.painpoints.views import story_choice
from handlers.people import FOREVER, display, is_admin, is_paused, is_staff, resolve_person
from handlers.ports import Caller, NotReachable, Outgoing, PersonRef, Reply, Services
from handlers.stories.compute import story as compute_story
from handlers.stories.view import story_view
from handlers.value.report import compute_value, recent_comments
from handlers.value.view import value_view
from handlers.views import Attachment, View, error, info
from storage.models import KIND_PAINPOINT, KIND_TASTE, Checkin, Organisation, Person, Project
from storage.queries import find_project, sponsored_projects

log = logging.getLogger(__name__)


def _refusal_text(role: str, command: str) -> str:
    """Who may run it, as a whole sentence (each language orders it its own way)."""
    if role == "staff":
        return _("Sorry, '%(command)s' is for PMO staff only. Nothing was changed.", command=command)
    if role == "admin":
        return _("Sorry, '%(command)s' is for PMO admins only. Nothing was changed.", command=command)
    if role == "sponsor":
        return _("Sorry, '%(command)s' is for project sponsors only. Nothing was changed.", command=command)
    return _(
        "Sorry, '%(command)s' is for PMO staff and project sponsors only. Nothing was changed.",
        command=command,
    )


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
    """The one entry point for `/pmo …`, whatever the channel; a mistake is answered in the
    caller's language too, so the parse comes inside the use case."""
    try:
        command: Command | None = parse(text)
        mistake = None
    except ParseError as exc:
        command, mistake = None, error(exc.message, exc.usage)

    async def work(session: AsyncSession, person: Person) -> Reply:
        if command is None:
            assert mistake is not None
            return Reply(mistake)
        ctx = Context(session, services, caller, person)
        refusal = await _refusal(ctx, command.spec)
        if refusal is not None:
            return Reply(refusal)
        return await HANDLERS[command.name](ctx, command)

    return await perform_as(services, caller, work)


async def _may_run(ctx: Context, spec: Spec) -> bool:
    return await may_run(ctx.session, ctx.person, spec)


async def _refusal(ctx: Context, spec: Spec) -> View | None:
    if await _may_run(ctx, spec):
        return None
    return error(_refusal_text(spec.role, spec.name))


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
    return Reply(await help_view(ctx.session, ctx.person))


@handles("home")
async def _home(ctx: Context, command: Command) -> Reply:
    return Reply(
        home.as_one(await home.sections_for(ctx.session, ctx.services, ctx.caller.org_id, ctx.person))
    )


async def _project_named(ctx: Context, name: str) -> Project:
    project = await find_project(ctx.session, ctx.caller.org_id, name)
    if project is None:
        raise Rollback(
            Reply(
                error(_("There is no project named '%(name)s'. Type 'project list' to see them.", name=name))
            )
        )
    return project


async def _person(ctx: Context, ref: PersonRef) -> Person:
    try:
        person = await resolve_person(ctx.session, ctx.caller.org_id, ref, ctx.services.directory)
    except NotReachable as exc:
        raise Rollback(Reply(error(exc.message))) from None
    if person is None:
        raise Rollback(
            Reply(
                error(
                    _(
                        "I can't find %(who)s here. Check the mention or e-mail, or ask them to say hello to the bot.",
                        who=ref.written,
                    )
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
            error(
                _(
                    "Project detail is for PMO staff and the sponsor of %(project)s. Try 'value' alone.",
                    project=project.name,
                )
            )
        )
    if segment is not None:  # equality, not ILIKE: '%' and '_' in a segment are not wildcards
        found = await ctx.session.scalar(
            select(Project.segment)
            .where(Project.org_id == ctx.caller.org_id, func.lower(Project.segment) == segment.lower())
            .limit(1)
        )
        if found is None:
            return Reply(error(_("No project is in segment '%(segment)s'.", segment=segment)))
        segment = found
    days = command.options.get("days", 90)
    report = await compute_value(
        ctx.session,
        ctx.caller.org_id,
        project=project,
        segment=segment,
        days=days,
        today=ctx.today,
        currency=ctx.services.policy.currency,
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
        return Reply(error(_("'%(project)s' is archived; nothing was sent.", project=project.name)))
    sponsor = await ctx.session.get(Person, project.sponsor_id)
    assert sponsor is not None
    if is_paused(sponsor, ctx.today):
        assert sponsor.paused_until is not None
        paused = (
            _(
                "%(sponsor)s has paused check-ins until further notice; nothing was sent.",
                sponsor=sponsor.name,
            )
            if sponsor.paused_until == FOREVER
            else _(
                "%(sponsor)s has paused check-ins until %(until)s; nothing was sent.",
                sponsor=sponsor.name,
                until=Day(sponsor.paused_until),
            )
        )
        return Reply(error(paused))
    checkin = await open_checkin(ctx.session, project, kind)
    if checkin is None:
        return Reply(error(_("That was sent a moment ago; nothing more was sent.")))
    sent = question(kind, checkin.id, project.name)
    told = (
        _(
            "Sent the taste check-in for %(project)s to %(sponsor)s.",
            project=project.name,
            sponsor=sponsor.name,
        )
        if kind == KIND_TASTE
        else _(
            "Sent the pain-point prompt for %(project)s to %(sponsor)s.",
            project=project.name,
            sponsor=sponsor.name,
        )
    )
    return Reply(
        info(told),
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
                    _(
                        "%(project)s's check-in of %(when)s UTC is still open; nothing was sent. "
                        "Type 'checkin %(project)s again' to send another.",
                        project=project.name,
                        when=f"{pending.sent_at:%Y-%m-%d %H:%M}",
                    )
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
    return Reply(replace(view, lines=(*view.lines, *lines), choices=(story_choice(point.id),)), outbox)


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
            return Reply(
                error(
                    _("The outcomes of %(project)s are for PMO staff and its sponsor.", project=project.name)
                )
            )
        return Reply(
            await outcomes.listing(ctx.session, ctx.caller.org_id, [project], ctx.services.policy.currency)
        )
    if staff:
        return Reply(
            await outcomes.listing(ctx.session, ctx.caller.org_id, None, ctx.services.policy.currency)
        )
    own = await sponsored_projects(ctx.session, ctx.person.id)
    if not own:
        return Reply(error(_("Outcomes are for PMO staff and project sponsors.")))
    return Reply(await outcomes.listing(ctx.session, ctx.caller.org_id, own, ctx.services.policy.currency))


@handles("cost")
async def _cost(ctx: Context, command: Command) -> Reply:
    if command.positional < 0:
        return Reply(error(_("The PMO's cost cannot be negative."), "cost AMOUNT"))
    org = await ctx.session.get(Organisation, ctx.caller.org_id)
    assert org is not None
    org.pmo_cost = command.positional
    return Reply(
        info(
            _(
                "The PMO's cost to date is now %(cost)s; ROI in 'value' uses it.",
                cost=Money(command.positional, ctx.services.policy.currency),
            )
        )
    )


@handles("alerts here")
async def _alerts_here(ctx: Context, command: Command) -> Reply:
    if not ctx.caller.channel:
        return Reply(
            error(_("Run 'alerts here' in the channel that should receive alerts (after inviting the bot)."))
        )
    org = await ctx.session.get(Organisation, ctx.caller.org_id)
    assert org is not None
    org.alert_channels = {**(org.alert_channels or {}), ctx.caller.platform: ctx.caller.channel}
    return Reply(
        info(
            _("Alerts will come to this channel: sour tastes and pain points of impact 4–5."),
        ),
        [],
    )


@handles("staff add")
async def _staff_add(ctx: Context, command: Command) -> Reply:
    person = await _person(ctx, command.positional)
    if is_staff(person):
        already = (
            _("%(name)s is already an admin.", name=person.name)
            if is_admin(person)
            else _("%(name)s is already PMO staff.", name=person.name)
        )
        return Reply(info(already))
    person.role = "staff"
    return Reply(info(_("%(name)s is now PMO staff.", name=display(person))))


@handles("staff remove")
async def _staff_remove(ctx: Context, command: Command) -> Reply:
    person = await _person(ctx, command.positional)
    if is_admin(person):
        return Reply(
            error(_("%(name)s is an admin; admins come from PMO_ADMINS and stay staff.", name=person.name))
        )
    if not is_staff(person):
        return Reply(error(_("%(name)s is not PMO staff.", name=person.name)))
    person.role = "member"
    return Reply(info(_("%(name)s is no longer PMO staff.", name=person.name)))


@handles("staff list")
async def _staff_list(ctx: Context, command: Command) -> Reply:
    people = await ctx.session.scalars(
        select(Person)
        .where(Person.org_id == ctx.caller.org_id, Person.role.in_(("staff", "admin")))
        .order_by(Person.role, Person.name)
    )
    lines = tuple(f"{display(p)} · {p.role}" for p in people)
    return Reply(View(title=_("PMO staff"), lines=lines or (_("Nobody yet."),)))


@handles("pause")
async def _pause(ctx: Context, command: Command) -> Reply:
    until = command.options.get("until")
    if until is not None and until <= ctx.today:
        return Reply(
            error(_("until: %(until)s is not in the future.", until=Day(until)), "pause [until:YYYY-MM-DD]")
        )
    ctx.person.paused_until = until or FOREVER
    paused = (
        _("Check-ins are paused until %(until)s. Enjoy the time off!", until=Day(until))
        if until
        else _("Check-ins are paused until you type 'resume'. Enjoy the time off!")
    )
    return Reply(info(paused))


@handles("resume")
async def _resume(ctx: Context, command: Command) -> Reply:
    if ctx.person.paused_until is None:
        return Reply(info(_("Your check-ins were not paused; nothing changed.")))
    ctx.person.paused_until = None
    return Reply(info(_("Welcome back: check-ins resume on schedule.")))


@handles("export")
async def _export(ctx: Context, command: Command) -> Reply:
    buffer = io.StringIO()
    rows = await export_csv(ctx.session, ctx.caller.org_id, command.positional, buffer)
    filename = f"{command.positional}-{ctx.today.isoformat()}.csv"
    return Reply(
        View(
            text=ngettext(
                "Here is %(kind)s: %(n)s row.", "Here is %(kind)s: %(n)s rows.", rows, kind=command.positional
            ),
            attachment=Attachment(filename=filename, content=buffer.getvalue().encode("utf-8")),
        )
    )


LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "fr": "français", "es": "español", "pt": "português"}


@handles("language")
async def _language(ctx: Context, command: Command) -> Reply:
    """`language fr`: what the bot says to this person from now on (their commands stay English);
    `language` alone: which one it speaks now. The reply is already in the new language."""
    chosen = command.positional
    if chosen is None:
        current = await language_of(ctx.session, ctx.person.id, ctx.services.policy.language)
        how = (
            _("I speak %(language)s with you; you chose it.", language=LANGUAGE_NAMES[current])
            if ctx.person.language in LANGUAGES
            else _(
                "I speak %(language)s with you, from your platform's settings or the PMO's default.",
                language=LANGUAGE_NAMES[current],
            )
        )
        return Reply(info(how, _("Choose another with: language en|de|fr|es|pt")))
    ctx.person.language = chosen
    return Reply(
        info(
            _("From now on I speak %(language)s with you.", language=LANGUAGE_NAMES[chosen]),
            _("Commands stay in English, e.g. 'help'."),
        )
    )


@handles("story")
async def _story(ctx: Context, command: Command) -> Reply:
    """`story ID`: for staff and the sponsor of the pain point's project (now), nobody else."""
    point = await tracking.get_point(ctx.session, ctx.caller.org_id, command.positional)
    if point is None:
        return Reply(error(loop.not_found(command.positional)))
    project = await ctx.session.get(Project, point.project_id)
    assert project is not None
    if not is_staff(ctx.person) and project.sponsor_id != ctx.person.id:
        return Reply(
            error(
                _(
                    "The story of pain point #%(id)s is for PMO staff and the sponsor of %(project)s.",
                    id=point.id,
                    project=project.name,
                )
            )
        )
    found = await compute_story(ctx.session, ctx.caller.org_id, point.id, today=ctx.today)
    assert found is not None
    return Reply(story_view(found))


# ---- the value digest (handlers/digest/) --------------------------------------------------


@handles("digest")
async def _digest(ctx: Context, command: Command) -> Reply:
    return Reply(await digest.settings_view(ctx.session, ctx.caller.org_id, ctx.services.policy.timezone))


@handles("digest here")
async def _digest_here(ctx: Context, command: Command) -> Reply:
    if not ctx.caller.channel:
        return Reply(
            error("Run 'digest here' in the channel that should receive the digest (after inviting the bot).")
        )
    o = command.options
    return Reply(
        await digest.set_here(
            ctx.session, ctx.caller.org_id, ctx.caller.platform, ctx.caller.channel,
            cadence=command.positional, day=o.get("day"), time=o.get("time"), timezone=ctx.services.policy.timezone,
        )
    )  # fmt: skip


@handles("digest to")
async def _digest_to(ctx: Context, command: Command) -> Reply:
    person = await _person(ctx, command.positional)
    return Reply(
        await digest.add_person(ctx.session, ctx.caller.org_id, person, ctx.services.policy.timezone)
    )


@handles("digest remove")
async def _digest_remove(ctx: Context, command: Command) -> Reply:
    return Reply(
        await digest.remove_person(ctx.session, ctx.caller.org_id, await _person(ctx, command.positional))
    )


@handles("digest now")
async def _digest_now(ctx: Context, command: Command) -> Reply:
    rows = await digest.recipients(ctx.session, ctx.caller.org_id)
    if not rows:
        return Reply(
            error(Cat(_("Nobody receives the value digest yet; nothing was sent."), " ", digest.HOW_TO_START))
        )
    schedule = await digest.schedule_of(ctx.session, ctx.caller.org_id)
    built = await build_digest(
        ctx.session, ctx.caller.org_id, days=days_for(schedule.cadence if schedule else "monthly"), today=ctx.today,
        chart=False, currency=ctx.services.policy.currency,
    )  # fmt: skip
    built = await asyncio.to_thread(
        with_chart, built
    )  # it sends, so not the read-only lane: matplotlib off the loop
    who = f"{len(rows)} recipient{'s' if len(rows) != 1 else ''}"
    return Reply(info(f"Sent the value digest to {who}."), digest.outbox_for(rows, built.view))


check_every_command_handled(SPECS)
