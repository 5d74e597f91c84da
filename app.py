"""The PMO value bot's command line: serve, migrate, demo, import, export, value, digest, story, stories,
pmo, webhooks.

The composition root: it reads settings, builds the runtime and hands over to `bot/`.
It holds no logic of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("pmo")


class Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments in one line and exit status 2, never a traceback."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _whole(text: str) -> bool:
    """Digits 0-9 only: str.isdigit alone takes '²' and '٣', which int() refuses or reads."""
    return text.isascii() and text.isdigit()


def _days(text: str) -> int:
    if not _whole(text) or not 1 <= int(text) <= 3660:
        raise argparse.ArgumentTypeError(f"days must be a whole number from 1 to 3660, not '{text}'")
    return int(text)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0.05 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"expected a number of seconds from 0.05 to 3600, not '{text}'")
    return seconds


def _count(text: str) -> int:
    if not _whole(text) or not 1 <= int(text) <= 100_000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 100000, not '{text}'")
    return int(text)


def _point_id(text: str) -> int:
    from handlers.ids import parse_id

    try:
        return parse_id(text.lstrip("#"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a pain point's id, {exc}") from None


def _documents(parser: argparse.ArgumentParser) -> None:
    """--format and --out of `story` and `stories`."""
    parser.add_argument("--format", choices=("md", "html"), default="md", help="Markdown (default) or HTML")
    parser.add_argument("--out", type=Path, help="file to write instead of stdout")


def build_parser() -> Parser:
    parser = Parser(prog="app.py", description="PMO value bot: asks sponsors how their project tastes.")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    serve = sub.add_parser("serve", help="web server and scheduler (the default)")
    serve.add_argument("--no-scheduler", action="store_true", help="leave the scheduler out")
    clock = sub.add_parser("clock", help="the scheduler alone (one leads; others wait to take over)")
    clock.add_argument(
        "--tick", type=_seconds, help="seconds between the clock's looks at the schedules (15)"
    )
    clock.add_argument("--lease", type=_seconds, help="seconds a claimed send is held before a retry (60)")
    deliveries = sub.add_parser("deliveries", help="what the scheduler sent and what failed, newest first")
    deliveries.add_argument("--failed", action="store_true", help="only the failed ones")
    deliveries.add_argument("--limit", type=_count, default=50, help="how many to show (default 50)")
    webhooks = sub.add_parser(
        "webhooks", help="the webhook events: delivered, waiting and failed, newest first"
    )
    webhooks.add_argument("--failed", action="store_true", help="only the ones given up on")
    webhooks.add_argument("--limit", type=_count, default=50, help="how many to show (default 50)")
    sub.add_parser("migrate", help="bring the database schema to the newest version")
    demo = sub.add_parser("demo", help="fill the database with a demo organisation, then serve")
    demo.add_argument("--no-serve", action="store_true", help="only load the demo data")
    demo.add_argument("--no-scheduler", action="store_true", help="leave the scheduler out")
    from handlers.csv.kinds import KINDS  # the one table of CSV kinds

    kinds = tuple(KINDS)
    imp = sub.add_parser("import", help="import a CSV file: all rows or none")
    imp.add_argument("kind", choices=kinds)
    imp.add_argument("file", type=Path)
    exp = sub.add_parser("export", help="write a CSV file (stdout by default)")
    exp.add_argument("kind", choices=kinds)
    exp.add_argument("--out", type=Path, help="file to write instead of stdout")
    value = sub.add_parser("value", help="print the value report")
    value.add_argument("--project", help="one project")
    value.add_argument("--segment", help="every project of a segment")
    value.add_argument("--days", type=_days, default=90, help="window length in days (default 90)")
    value.add_argument("--json", action="store_true", help="the JSON of the API instead of text")
    story = sub.add_parser("story", help="the story of one pain point, from the sponsor's words to the fix")
    story.add_argument("id", type=_point_id, help="the pain point's id")
    _documents(story)
    stories = sub.add_parser("stories", help="the track record: every pain point resolved in the last N days")
    stories.add_argument("--days", type=_days, default=365, help="window length in days (default 365)")
    _documents(stories)
    digest = sub.add_parser("digest", help="print the value digest leaders would receive now")
    digest.add_argument("--days", type=_days, help="window length in days (default: 7 weekly, 30 monthly)")
    pmo = sub.add_parser("pmo", help="run one /pmo command as an admin, e.g. pmo cost 450000")
    pmo.add_argument("words", nargs=argparse.REMAINDER, help="the command's words")
    package = sub.add_parser("teams-package", help="write the Teams app package (zip) to sideload")
    package.add_argument("--app-id", required=True, help="the bot's Microsoft App ID (a GUID)")
    package.add_argument("--out", type=Path, help="zip file to write (default pmo-teams-app.zip)")
    package.add_argument(
        "--domain", help="host the bot is served on, for validDomains (e.g. pmo.example.com)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "serve"
    chatty = command in ("serve", "demo", "clock")
    from bot.config import ConfigError, load_settings  # after --help: fast help
    from bot.logs import configure_logging
    from bot.redaction import install_log_redaction

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"app.py: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, logging.INFO if chatty else logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    install_log_redaction(settings)
    return asyncio.run(_run(command, args, settings))


async def _run(command: str, args: Any, settings: Settings) -> int:
    from bot import cli

    handlers = {
        "serve": cli.serve,
        "clock": cli.clock,
        "deliveries": cli.deliveries,
        "webhooks": cli.webhooks,
        "migrate": cli.migrate,
        "demo": cli.demo,
        "import": cli.import_file,
        "export": cli.export,
        "value": cli.value,
        "story": cli.story,
        "stories": cli.stories,
        "digest": cli.digest,
        "pmo": cli.pmo,
        "teams-package": cli.teams_package,
    }
    try:
        return await handlers[command](settings, args)
    except cli.CliError as exc:
        print(f"app.py {command}: {exc.said(settings.pmo_language)}", file=sys.stderr)
        return exc.status


def _quiet_broken_pipe() -> NoReturn:
    """stdout was closed early (`app.py export responses | head -2`): end quietly, as `cat` would.

    What is still buffered cannot be written either; pointing stdout at /dev/null stops Python
    from reporting that at exit. 141 is the status of a process ended by SIGPIPE (128 + 13)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(141)


if __name__ == "__main__":
    try:
        status = main()
        sys.stdout.flush()
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        _quiet_broken_pipe()
    sys.exit(status)
