"""Webhook settings (both or neither, the URL kept secret) and `app.py webhooks [--failed]`."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from storage.db import Database, utcnow
from storage.models import WebhookEvent
from storage.queries import get_or_create_org
from tests.bot.test_cli import assert_one_line_error, run

pytestmark = pytest.mark.sqlite_only

URL = "https://hooks.example.com/pmo?token=capability-123"


@pytest.mark.parametrize(
    ("env", "missing"),
    [({"PMO_WEBHOOK_URL": URL}, "PMO_WEBHOOK_SECRET"), ({"PMO_WEBHOOK_SECRET": "s3cret"}, "PMO_WEBHOOK_URL")],
)
def test_webhooks_need_both_variables_or_neither(env: dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigError, match=f"{missing} is not") as caught:
        load_settings(env, env_file=None)
    assert "capability-123" not in str(caught.value) and "s3cret" not in str(caught.value)
    assert not load_settings({}, env_file=None).webhooks


def test_both_turn_webhooks_on_and_neither_value_is_ever_shown() -> None:
    settings = load_settings({"PMO_WEBHOOK_URL": URL, "PMO_WEBHOOK_SECRET": "s3cret"}, env_file=None)
    assert settings.webhooks and settings.pmo_webhook_timeout == 10
    assert (
        settings.pmo_webhook_url is not None and settings.pmo_webhook_url.reveal() == URL
    )  # used as written
    assert "capability-123" not in repr(settings) and "s3cret" not in repr(settings)
    assert URL in settings.secret_values() and "s3cret" in settings.secret_values()  # masked in logs


@pytest.mark.parametrize(
    ("env", "word"),
    [
        ({"PMO_WEBHOOK_URL": "ftp://x", "PMO_WEBHOOK_SECRET": "s"}, "PMO_WEBHOOK_URL must be an http"),
        (
            {"PMO_WEBHOOK_URL": URL, "PMO_WEBHOOK_SECRET": "s", "PMO_WEBHOOK_TIMEOUT": "0"},
            "PMO_WEBHOOK_TIMEOUT",
        ),
    ],
)
def test_bad_webhook_settings_are_one_line(env: dict[str, str], word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        load_settings(env, env_file=None)


def test_a_half_configured_webhook_stops_the_start_with_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "serve", env={"PMO_WEBHOOK_URL": URL})
    assert_one_line_error(result, 2)
    assert "PMO_WEBHOOK_SECRET is set" not in result.stderr and "PMO_WEBHOOK_SECRET is not" in result.stderr
    assert "capability-123" not in result.stderr


def test_the_webhooks_command_lists_and_filters(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate").returncode == 0
    asyncio.run(_seed(tmp_path / "pmo.db"))
    env = {"PMO_WEBHOOK_URL": URL, "PMO_WEBHOOK_SECRET": "s3cret"}
    listed = run(tmp_path, "webhooks", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert "Webhook events (3 newest)" in listed.stdout
    assert any("painpoint.resolved · failed · 40 attempt(s)" in line and "HTTP 500" in line for line in lines)
    assert any("answer.recorded · delivered · 1 attempt(s)" in line for line in lines)
    assert any("painpoint.reported · pending · 3 attempt(s) · next attempt" in line for line in lines)
    assert any("connection refused" in line for line in lines)
    failed = run(tmp_path, "webhooks", "--failed", env=env)
    assert failed.returncode == 0 and "painpoint.resolved" in failed.stdout
    assert "answer.recorded" not in failed.stdout and "painpoint.reported" not in failed.stdout
    off = run(tmp_path, "webhooks")
    assert off.returncode == 0 and "Webhooks are off" in off.stdout
    assert "--failed" in run(tmp_path, "webhooks", "--help").stdout
    assert_one_line_error(run(tmp_path, "webhooks", "--failed", "extra"), 2)
    assert_one_line_error(run(tmp_path, "webhooks", "--limit", "0"), 2)


async def _seed(path: Path) -> None:
    db = Database(f"sqlite:///{path}")
    now = utcnow()
    try:
        async with db.transaction() as session:
            org = await get_or_create_org(session)
            for type_, state, attempts, error in (
                ("answer.recorded", "delivered", 1, None),
                ("painpoint.reported", "pending", 3, "cannot connect: connection refused"),
                ("painpoint.resolved", "failed", 40, "HTTP 500 Internal Server Error"),
            ):
                session.add(
                    WebhookEvent(
                        org_id=org.id, event_id=str(uuid.uuid4()), type=type_, at=now, data={}, key="painpoint:1",
                        state=state, attempts=attempts, next_attempt_at=now + dt.timedelta(minutes=5),
                        delivered_at=now if state == "delivered" else None, last_error=error,
                    )
                )  # fmt: skip
    finally:
        await db.dispose()


async def test_the_runtime_records_events_only_when_webhooks_are_configured(tmp_path: Path) -> None:
    from bot.runtime import start
    from handlers.webhooks.events import is_on

    base = {"DATABASE_URL": f"sqlite:///{tmp_path / 'pmo.db'}"}
    for env, on in ((base, False), ({**base, "PMO_WEBHOOK_URL": URL, "PMO_WEBHOOK_SECRET": "s3cret"}, True)):
        runtime = await start(load_settings(env, env_file=None), factories=[])
        async with runtime, runtime.db.sessions() as session:
            assert is_on(session) is on
