"""What each command of app.py does, on top of the runtime.

What a command prints is said in the organisation's language (PMO_LANGUAGE, known before the
database is opened): its sentences are lazy texts (handlers.i18n), and so is every CliError's
message, which app.py says in that language. JSON (`value --json`), CSV, logs and argparse's
--help stay English.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from bot.clock.scheduler import ClockRefused
from bot.config import Settings
from bot.demo import DemoError, load_demo
from bot.runtime import Runtime, start
from handlers.clock.deliveries import listing as delivery_listing
from handlers.commands.run import run_command
from handlers.csv.api import export_csv, import_csv_file
from handlers.digest.settings import schedule_of as digest_schedule
from handlers.digest.view import build_digest, days_for, digest_text
from handlers.i18n import _, ngettext, say
from handlers.people import identify
from handlers.ports import Caller
from handlers.stories.compute import story as compute_story
from handlers.stories.compute import track_record
from handlers.stories.html import record_html, story_html
from handlers.stories.markdown import record_markdown, story_markdown
from handlers.value.report import compute_value
from handlers.value.view import value_text
from handlers.views import localize
from handlers.webhooks.queue import listing as webhook_listing
from storage.db import DatabaseUrlError, async_url, shown_url, unavailable_reason, utcnow
from storage.queries import find_project

log = logging.getLogger("pmo")

SHELL_ID = "shell"  # the identity of whoever runs `app.py pmo …`: an admin by definition
WEBHOOKS_OFF = _(
    "Webhooks are off (PMO_WEBHOOK_URL and PMO_WEBHOOK_SECRET are unset); no events are recorded."
)


class CliError(Exception):
    """A failure the user can act on: printed in one line, with an exit status. Its message may
    be a lazy text: `said` gives it in the organisation's language."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def said(self, language: str) -> str:
        return say(self.message, language)


def _say(settings: Settings, text: str) -> str:
    """A sentence of the command line in the organisation's language."""
    return say(text, settings.pmo_language)


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Runtime]:
    """The runtime of one command, inside its lifespan: the database opened (and migrated), and
    whatever the command starts on it (platforms, web server, clock) closed again at the end.

    The one place where a database that cannot be used (no such directory, read-only, no such
    PostgreSQL database or role, refused connection) becomes one line and exit status 1, for
    every command, whether it fails on opening or later; a bad DATABASE_URL is status 2.
    """
    try:
        runtime = await start(settings)
    except DatabaseUrlError as exc:
        raise CliError(str(exc), 2) from None
    except (OSError, DBAPIError) as exc:
        reason = unavailable_reason(exc, async_url(settings.database_url)) or _first_line(exc)
        raise CliError(
            _("cannot open the database: %(reason)s (%(where)s)", reason=reason, where=_shown(settings))
        ) from None
    async with runtime:
        try:
            yield runtime
        except (OSError, DBAPIError) as exc:
            reason = unavailable_reason(exc, runtime.db.url)
            if reason is None:
                raise
            raise CliError(
                _("cannot use the database: %(reason)s (%(where)s)", reason=reason, where=_shown(settings))
            ) from None


def _shown(settings: Settings) -> str:
    return f"DATABASE_URL={shown_url(settings.database_url)}"


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def migrate(settings: Settings, args: Any) -> int:
    async with opened(settings) as runtime:
        print(_say(settings, _("Database schema is up to date (%(url)s).", url=runtime.db.safe_url)))
    return 0


async def serve(settings: Settings, args: Any) -> int:
    async with opened(settings) as runtime:
        return await _serve(settings, args, runtime)


async def _serve(settings: Settings, args: Any, runtime: Runtime) -> int:
    """Platforms, then the web server (with the durable work), then the clock; stopped in reverse."""
    await _started(runtime)
    try:
        await runtime.serve(settings.host, settings.port)
    except OSError as exc:
        where = f"{settings.host}:{settings.port}"
        raise CliError(
            _("cannot listen on %(where)s: %(reason)s", where=where, reason=_reason(exc))
        ) from None
    gc.collect()
    gc.freeze()  # start-up objects out of the cyclic GC's scans: 10-20 ms pauses instead of 100-200 ms
    where = f"http://{settings.host}:{settings.port}/"
    log.info("PMO value bot listening on %s (database %s)", where, runtime.db.safe_url)
    if settings.local_console:
        log.info("Local console: open %s in your browser", where)
    stop = _stop_on_signals()
    if not getattr(args, "no_scheduler", False):
        await runtime.start_clock(required=False)
    await stop.wait()
    log.info("shutting down")
    return 0


async def clock(settings: Settings, args: Any) -> int:
    """The scheduler alone (Procfile `clock:`): leads, or waits to take over, until stopped."""
    async with opened(settings) as runtime:
        stop = _stop_on_signals()
        await _started(runtime)
        runtime.start_work()
        try:
            await runtime.start_clock(tick=args.tick, lease=args.lease)
        except ClockRefused as exc:
            raise CliError(str(exc)) from None
        await stop.wait()
        log.info("clock stopping")
    return 0


async def _started(runtime: Runtime) -> None:
    """Start the platforms; one that cannot start is one line (the lifespan closes the rest)."""
    try:
        await runtime.start_platforms()
    except Exception as exc:
        log.debug("a platform failed to start", exc_info=True)
        raise CliError(_("cannot start the platforms: %(reason)s", reason=_first_line(exc))) from None


def _stop_on_signals() -> asyncio.Event:
    """An event SIGINT and SIGTERM set: the process ends its lifespan when it is."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def deliveries(settings: Settings, args: Any) -> int:
    """What the clock sent and what failed, newest first."""
    async with opened(settings) as runtime, runtime.db.transaction() as session:
        view = await delivery_listing(session, failed_only=args.failed, limit=args.limit)
    print(localize(view, settings.pmo_language).as_text())
    return 0


async def webhooks(settings: Settings, args: Any) -> int:
    """The webhook outbox: what was delivered, what waits (and when it is tried next), what failed."""
    async with opened(settings) as runtime, runtime.db.transaction() as session:
        view = await webhook_listing(session, failed_only=args.failed, limit=args.limit, now=utcnow())
    if not settings.webhooks:
        print(_say(settings, WEBHOOKS_OFF))
    print(localize(view, settings.pmo_language).as_text())
    return 0


async def demo(settings: Settings, args: Any) -> int:
    async with opened(settings) as runtime:
        try:
            async with runtime.db.transaction() as session:
                summary = await load_demo(session, runtime.org_id)
        except DemoError as error:
            raise CliError(error.args[0], 1) from error
        if summary.projects:
            print(_say(settings, _("Demo organisation loaded: %(summary)s.", summary=summary.text())))
        else:
            print(_say(settings, _("The demo organisation is already in this database.")))
        if args.no_serve:
            return 0
        return await _serve(settings, args, runtime)


def _check_csv_file(path: Path) -> None:
    """A FILE argument that cannot be imported: status 2 when it is not a readable file, 1 when
    it is not UTF-8 text (what a row of a text file cannot be is told row by row)."""
    if path.is_dir():
        raise CliError(_("%(path)s is a directory, not a CSV file", path=str(path)), 2)
    if not path.exists():
        raise CliError(_("no such file: %(path)s", path=str(path)), 2)
    try:
        with path.open("rb") as stream:
            head = stream.read(8192)
    except OSError as exc:
        raise CliError(
            _("cannot read %(path)s: %(reason)s", path=str(path), reason=_reason(exc)), 2
        ) from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CliError(_("%(path)s is UTF-16 text; save it as CSV UTF-8 and import that", path=str(path)))
    if b"\x00" in head:
        raise CliError(_("%(path)s is not a CSV file: it holds binary data, not UTF-8 text", path=str(path)))


async def import_file(settings: Settings, args: Any) -> int:
    path: Path = args.file
    await asyncio.to_thread(_check_csv_file, path)
    async with opened(settings) as runtime, runtime.db.transaction() as session:
        result = await import_csv_file(session, runtime.org_id, args.kind, path)
        if not result.ok:
            await session.rollback()
    if not result.ok:
        for problem in result.errors:
            # the reason is a lazy text too: saying the line says it in the language with it
            line = _(
                "%(path)s: line %(line)s: %(reason)s",
                path=str(path),
                line=problem.line,
                reason=problem.reason,
            )
            print(_say(settings, line), file=sys.stderr)
        bad = ngettext(
            "Nothing was imported: %(n)s bad row(s).",
            "Nothing was imported: %(n)s bad row(s).",
            len(result.errors),
        )
        print(_say(settings, bad), file=sys.stderr)
        return 1
    done = _(
        "Imported %(kind)s: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.",
        kind=args.kind,
        created=result.created,
        updated=result.updated,
        unchanged=result.skipped,
    )
    print(_say(settings, done))
    return 0


async def export(settings: Settings, args: Any) -> int:
    """The CSV to --out, or to stdout; a stdout closed early (`| head`) is left to app.py."""
    async with opened(settings) as runtime, runtime.db.transaction() as session:
        if args.out is None:
            await export_csv(session, runtime.org_id, args.kind, sys.stdout)
            return 0
        try:
            with args.out.open("w", encoding="utf-8", newline="") as out:
                rows = await export_csv(session, runtime.org_id, args.kind, out)
        except OSError as exc:
            raise CliError(_cannot_write(args.out, exc)) from None
    wrote = ngettext(
        "Wrote %(n)s %(kind)s rows to %(path)s.", "Wrote %(n)s %(kind)s rows to %(path)s.", rows,
        kind=args.kind, path=str(args.out),
    )  # fmt: skip
    print(_say(settings, wrote), file=sys.stderr)
    return 0


async def value(settings: Settings, args: Any) -> int:
    async with opened(settings) as runtime, runtime.db.transaction() as session:
        project = None
        if args.project:
            project = await find_project(session, runtime.org_id, args.project)
            if project is None:
                raise CliError(_("there is no project named '%(project)s'", project=args.project))
        report = await compute_value(
            session,
            runtime.org_id,
            project=project,
            segment=args.segment,
            days=args.days,
            currency=settings.pmo_currency,
        )
    print(json.dumps(report, indent=2) if args.json else value_text(report, settings.pmo_language))
    return 0


def _write_document(settings: Settings, text: str, out: Path | None) -> None:
    """A story or the track record to --out, or to stdout; "Wrote FILE." in PMO_LANGUAGE."""
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(_cannot_write(out, exc)) from None
    print(_say(settings, _("Wrote %(path)s.", path=str(out))), file=sys.stderr)


def _reason(exc: OSError) -> str:
    """What the system said, as it said it (its words are the operating system's)."""
    return exc.strerror or str(exc)


def _cannot_write(path: Path, exc: OSError) -> str:
    return _("cannot write %(path)s: %(reason)s", path=str(path), reason=_reason(exc))


async def story(settings: Settings, args: Any) -> int:
    """A story as Markdown or HTML, in the organisation's language (PMO_LANGUAGE)."""
    async with opened(settings) as runtime, runtime.db.transaction() as session:
        found = await compute_story(session, runtime.org_id, args.id)
    if found is None:
        raise CliError(_("there is no pain point #%(id)s", id=args.id))
    render = story_html if args.format == "html" else story_markdown
    _write_document(settings, render(found, language=settings.pmo_language), args.out)
    return 0


async def stories(settings: Settings, args: Any) -> int:
    """The track record as Markdown or HTML, in the organisation's language (PMO_LANGUAGE)."""
    async with opened(settings) as runtime, runtime.db.transaction() as session:
        record = await track_record(session, runtime.org_id, days=args.days)
    render = record_html if args.format == "html" else record_markdown
    _write_document(settings, render(record, language=settings.pmo_language), args.out)
    return 0


async def digest(settings: Settings, args: Any) -> int:
    """The value digest as its recipients would get it now, as text (its chart as a line)."""
    async with opened(settings) as runtime, runtime.db.transaction() as session:
        schedule = await digest_schedule(session, runtime.org_id)
        days = args.days or days_for(schedule.cadence if schedule else "monthly")
        today = runtime.services.today or utcnow().date()
        currency = settings.pmo_currency
        built = await build_digest(
            session, runtime.org_id, days=days, today=today, chart=False, currency=currency
        )
    print(digest_text(built, settings.pmo_language))
    return 0


async def pmo(settings: Settings, args: Any) -> int:
    text = " ".join(args.words)
    async with opened(settings) as runtime:
        async with runtime.db.transaction() as session:
            admin = await identify(session, runtime.org_id, "cli", SHELL_ID, name="Shell admin")
            admin.role = "admin"
            person_id = admin.id
        view = await run_command(runtime.services, Caller(runtime.org_id, person_id, "cli"), text)
    if view.attachment is not None:
        sys.stdout.write(view.attachment.content.decode("utf-8"))
    else:
        print(view.as_text())
    return 0 if view.ok else 1


async def teams_package(settings: Settings, args: Any) -> int:
    """The Teams app package (settings are not needed: the package depends only on the arguments)."""
    from bot.teams.package import PackageError, build  # only for this command

    out = Path(args.out) if args.out else Path("pmo-teams-app.zip")
    try:
        build(args.app_id, out, args.domain)
    except PackageError as exc:
        raise CliError(str(exc), 2) from None
    except OSError as exc:
        raise CliError(_cannot_write(out, exc)) from None
    wrote = _("Wrote %(path)s: upload it in Teams (Apps → Manage your apps → Upload an app).", path=str(out))
    print(_say(settings, wrote))
    return 0
