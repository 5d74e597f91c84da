"""The runtime's lifespan (bot/runtime.py): what was started is stopped in reverse order, whatever
fails, and the database is disposed of last; `serve` with a platform that cannot start ends in one
line, its port free."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import bot.runtime
from app import main
from bot.config import load_settings
from bot.local.channel import LocalDirectory
from bot.platform import PlatformContext
from bot.runtime import start
from storage.db import Database

pytestmark = pytest.mark.sqlite_only


class Recorded:
    """A platform that writes down what the lifespan does with it; `fails` makes its start raise."""

    def __init__(
        self, context: PlatformContext, name: str, events: list[str], *, fails: bool = False
    ) -> None:
        self.name = name
        self.events = events
        self.fails = fails
        self.channel: Any = type("Channel", (), {"platform": name})()
        self.directory = LocalDirectory()

    def add_routes(self, app: web.Application) -> None:
        return None

    async def start(self) -> None:
        self.events.append(f"start {self.name}")
        if self.fails:
            raise RuntimeError(f"{self.name} cannot connect\nsecond line")

    async def stop(self) -> None:
        self.events.append(f"stop {self.name}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def disposals(monkeypatch: pytest.MonkeyPatch, events: list[str]) -> None:
    dispose = Database.dispose

    async def recorded(self: Database) -> None:
        events.append("dispose")
        await dispose(self)

    monkeypatch.setattr(Database, "dispose", recorded)


async def test_the_lifespan_closes_in_reverse_order_and_the_database_last(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    disposals(monkeypatch, events)
    settings = load_settings(environ={"DATABASE_URL": database_url}, env_file=None)
    factories: list[Any] = [lambda c: Recorded(c, "one", events), lambda c: Recorded(c, "two", events)]
    port = free_port()
    async with await start(settings, factories=factories) as runtime:
        await runtime.start_platforms()
        await runtime.serve("127.0.0.1", port)
    assert events == ["start one", "start two", "stop two", "stop one", "dispose"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # the server is gone


async def test_a_platform_that_fails_to_start_is_stopped_with_those_before_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    disposals(monkeypatch, events)
    settings = load_settings(environ={"DATABASE_URL": database_url}, env_file=None)
    factories: list[Any] = [
        lambda c: Recorded(c, "one", events),
        lambda c: Recorded(c, "two", events, fails=True),
    ]
    with pytest.raises(RuntimeError):
        async with await start(settings, factories=factories) as runtime:
            await runtime.start_platforms()
    assert events == ["start one", "start two", "stop two", "stop one", "dispose"]


def test_serve_with_a_platform_that_cannot_start_is_one_line_and_frees_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events: list[str] = []
    disposals(monkeypatch, events)
    port = free_port()
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "MICROSOFT_APP_ID", "LOCAL_CONSOLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'pmo.db'}")
    monkeypatch.setenv("PORT", str(port))
    monkeypatch.setattr(
        bot.runtime,
        "platform_factories",
        lambda settings: [lambda c: Recorded(c, "broken", events, fails=True)],
    )
    status = main(["serve", "--no-scheduler"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert err == ["app.py serve: cannot start the platforms: broken cannot connect"]
    assert events == ["start broken", "stop broken", "dispose"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))
