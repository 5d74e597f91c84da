"""LOG_FORMAT: today's text lines, or one JSON object a line; every line written for an HTTP
request (also by the durable work it recorded) carries the request's id, which the response echoes."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import ConfigError, load_settings
from bot.logs import ACCESS_LOGGER, JsonFormatter, TextFormatter, formatter, new_request_id, requesting
from bot.redaction import install_log_redaction, remove_log_redaction
from bot.runtime import Runtime, start
from bot.web import build_app
from storage.db import Database
from tests.bot.test_cli import APP, free_port

pytestmark = pytest.mark.sqlite_only

SECRET = "s3cr3t-metrics-token-value"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What the root logger writes, in JSON, formatted as it is emitted (where the request id is)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root, access = logging.getLogger(), logging.getLogger(ACCESS_LOGGER)
    levels = root.level, access.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    access.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(levels[0])
    access.setLevel(levels[1])


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    rt = await start(load_settings(environ={"DATABASE_URL": database_url}, env_file=None))
    yield rt
    await rt.aclose()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(runtime), host="127.0.0.1")) as c:
        yield c


def record(message: str, *args: Any, **extra: Any) -> logging.LogRecord:
    made = logging.getLogger("pmo.test").makeRecord(
        "pmo.test", logging.WARNING, __file__, 1, message, args, None
    )
    made.__dict__.update(extra)
    return made


# ---- the two formats ---------------------------------------------------------------------------


def test_a_json_line_has_the_fields_a_shipper_expects() -> None:
    with requesting("req-1"):
        line = json.loads(JsonFormatter().format(record("sent %d", 3, delivery=812, platform="slack")))
    assert set(line) == {"time", "level", "logger", "message", "request_id", "delivery", "platform"}
    assert line["message"] == "sent 3" and line["level"] == "WARNING" and line["logger"] == "pmo.test"
    assert line["request_id"] == "req-1"
    assert line["delivery"] == 812 and line["platform"] == "slack"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    assert json.loads(JsonFormatter().format(record("outside")))["request_id"] is None


def test_a_json_line_escapes_controls_and_masks_secrets_also_in_extra_fields(captured: io.StringIO) -> None:
    install_log_redaction(load_settings(environ={"PMO_METRICS_TOKEN": SECRET}, env_file=None))
    try:
        logging.getLogger("pmo.test").warning(
            "name %s\nFORGED line", "\x1b[31mred\u202e", extra={"who": f"evil\r\n{SECRET}", "ids": [SECRET]}
        )
        try:
            raise ValueError(f"bad\x1b {SECRET}")
        except ValueError:
            logging.getLogger("pmo.test").exception("it failed")
    finally:
        remove_log_redaction()
    text = captured.getvalue()
    assert SECRET not in text and "\x1b" not in text and "\u202e" not in text
    assert len(text.splitlines()) == 2  # nothing forged a line of its own
    first, second = lines(captured)
    assert first["message"] == "name \\x1b[31mred\\u202e\\nFORGED line"
    assert first["who"] == "evil\\r\\n**********" and first["ids"] == ["**********"]
    assert "Traceback" in second["exception"] and "bad\\x1b **********" in second["exception"]


def test_the_text_format_keeps_todays_line_and_adds_the_request_id() -> None:
    outside = TextFormatter().format(record("hello"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING pmo\.test: hello", outside)
    with requesting("abc123"):
        assert TextFormatter().format(record("hello")).endswith(" WARNING pmo.test [abc123]: hello")


def test_a_bad_log_format_is_refused_with_a_clear_reason() -> None:
    assert load_settings(environ={}, env_file=None).log_format == "text"
    assert load_settings(environ={"LOG_FORMAT": "JSON"}, env_file=None).log_format == "json"
    with pytest.raises(ConfigError, match=r"^LOG_FORMAT must be text or json .*got 'xml'$"):
        load_settings(environ={"LOG_FORMAT": "xml"}, env_file=None)
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        formatter("yaml")


def test_the_metrics_token_is_a_secret() -> None:
    settings = load_settings(environ={"PMO_METRICS_TOKEN": SECRET}, env_file=None)
    assert SECRET not in repr(settings) and SECRET in settings.secret_values()


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("lb-1f2e.3:9_x", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("two words", False),
        ("ünï", False),
        ("", False),
    ],
)
def test_a_callers_request_id_is_kept_only_when_sane(given: str, kept: bool) -> None:
    made = new_request_id(given)
    assert (made == given) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", made)


# ---- request ids through the web server -------------------------------------------------------


async def test_a_json_line_per_request_with_its_id(client: TestClient, captured: io.StringIO) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-Id": "lb-0001"})
    assert echoed.headers["X-Request-Id"] == "lb-0001"
    made = await client.get("/healthz", headers={"X-Request-Id": "not sane"})
    fresh = made.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    missing = await client.get("/no/such/page?code=hidden")
    assert missing.status == 404 and missing.headers["X-Request-Id"]
    access = [line for line in lines(captured) if line["logger"] == ACCESS_LOGGER]
    assert [(a["request_id"], a["status"], a["route"]) for a in access] == [
        ("lb-0001", 200, "/healthz"),
        (fresh, 200, "/healthz"),
        (missing.headers["X-Request-Id"], 404, "unmatched"),
    ]
    assert access[0]["method"] == "GET" and access[0]["path"] == "/healthz" and access[0]["duration_ms"] >= 0
    assert "hidden" not in json.dumps(access)  # the query is never written


async def test_an_outage_logged_inside_a_request_names_it(database_url: str, captured: io.StringIO) -> None:
    rt = await start(
        load_settings(environ={"DATABASE_URL": database_url, "PMO_API_TOKEN": SECRET}, env_file=None)
    )
    try:
        async with TestClient(TestServer(build_app(rt))) as c:
            healthy, rt.db = rt.db, Database("postgresql://postgres@127.0.0.1:1/nowhere")
            try:
                headers = {"Authorization": f"Bearer {SECRET}", "X-Request-Id": "req-outage"}
                response = await c.get("/api/v1/value", headers=headers)
            finally:
                await rt.db.dispose()
                rt.db = healthy
    finally:
        await rt.aclose()
    assert response.status == 503
    [warning] = [line for line in lines(captured) if line["logger"] == "bot.web"]
    assert warning["request_id"] == "req-outage" and "database is unavailable" in warning["message"]


async def test_the_durable_work_a_request_recorded_carries_its_id(
    runtime: Runtime, captured: io.StringIO
) -> None:
    async def job(_job: Any) -> None:
        logging.getLogger("pmo.test.work").info("working on it")

    runtime.work.register("test-kind", job)
    with requesting("req-work"):
        await runtime.work.accept("console", "test-kind", {})
    await runtime.work.accept("console", "test-kind", {})  # outside any request
    await runtime.work.join()
    worked = [line["request_id"] for line in lines(captured) if line["logger"] == "pmo.test.work"]
    assert sorted(worked, key=str) == [None, "req-work"]


# ---- the real process ------------------------------------------------------------------------------


def test_serve_with_json_logs_writes_json_lines_and_serves_metrics(tmp_path: Path) -> None:
    port = free_port()
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "PMO_", "LOG_"))
    }
    environ.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'pmo.db'}",
        PORT=str(port),
        LOG_FORMAT="json",
        PMO_METRICS_TOKEN=SECRET,
    )
    process = subprocess.Popen(
        [sys.executable, str(APP), "serve", "--no-scheduler"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, status = time.monotonic() + 60, 0
        while time.monotonic() < deadline and process.poll() is None:
            try:
                asked = urllib.request.Request(
                    f"http://127.0.0.1:{port}/healthz", headers={"X-Request-Id": "probe-1"}
                )
                with urllib.request.urlopen(asked, timeout=2) as response:
                    status = response.status
                    break
            except OSError:
                time.sleep(0.2)
        assert status == 200
        asked = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {SECRET}"}
        )
        with urllib.request.urlopen(asked, timeout=10) as response:
            assert "pmo_database_up 1.0" in response.read().decode()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    written = [json.loads(line) for line in output.splitlines()]  # every line is one JSON object
    assert any(w["request_id"] == "probe-1" and w["logger"] == ACCESS_LOGGER for w in written)
    assert any(
        w["logger"] == ACCESS_LOGGER and w["route"] == "/metrics" and w["status"] == 200 for w in written
    )
    assert SECRET not in output
