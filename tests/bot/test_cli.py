"""app.py as a user runs it: real processes, a real SQLite file, exit codes and messages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app.py"

pytestmark = pytest.mark.sqlite_only


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "PMO_"))}
    environ["DATABASE_URL"] = f"sqlite:///{tmp_path / 'pmo.db'}"
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, str(APP), *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], status: int) -> None:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    "command",
    [[], ["serve"], ["migrate"], ["demo"], ["import"], ["export"], ["value"], ["digest"], ["pmo"]],
)
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    result = run(tmp_path, *command, "--help")
    assert result.returncode == 0
    assert "usage:" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["frobnicate"],
        ["value", "--days", "abc"],
        ["value", "--days", "0"],
        ["digest", "--days", "0"],
        ["digest", "--weekly"],
        ["import", "widgets", "x.csv"],
        ["export", "projects", "--bogus"],
        ["import", "projects", "missing.csv"],
    ],
)
def test_bad_arguments_give_one_line_and_status_2(tmp_path: Path, args: list[str]) -> None:
    assert_one_line_error(run(tmp_path, *args), 2)


@pytest.mark.parametrize(
    ("env", "word"),
    [
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"SLACK_BOT_TOKEN": "xoxb-123"}, "SLACK_SIGNING_SECRET"),
        ({"PMO_TIMEZONE": "Mars/Olympus"}, "PMO_TIMEZONE"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ],
)
def test_bad_settings_stop_the_start_with_one_line(tmp_path: Path, env: dict[str, str], word: str) -> None:
    result = run(tmp_path, "migrate", env=env)
    assert_one_line_error(result, 2)
    assert word in result.stderr


def test_migrate_pmo_and_value(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate").returncode == 0
    cost = run(tmp_path, "pmo", "cost", "450k")
    assert cost.returncode == 0, cost.stderr
    assert "450,000" in cost.stdout
    report = json.loads(run(tmp_path, "value", "--json").stdout)
    assert report["benefits"]["pmo_cost"] == 450000
    text = run(tmp_path, "value", "--days", "30")
    assert text.returncode == 0 and text.stdout.strip()
    refused = run(tmp_path, "pmo", "outcome", "add", "Nope", "metric:x", "baseline:1", "target:2")
    assert refused.returncode == 1
    assert "Nope" in refused.stdout
    unknown = run(tmp_path, "value", "--project", "Nope")
    assert_one_line_error(unknown, 1)


def test_import_is_all_or_nothing_and_export_round_trips(tmp_path: Path) -> None:
    good = tmp_path / "projects.csv"
    good.write_text(
        "name,sponsor,segment,cadence,day,time\n"
        "ERP Upgrade,ana@example.com,Finance,weekly,mon,09:00\n"
        "Customer Portal,ben@example.com,Digital,biweekly,tue,10:00\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "name,sponsor,segment,cadence,day,time\n"
        "Fine,cy@example.com,Ops,weekly,mon,09:00\n"
        "Broken,dee@example.com,Ops,hourly,mon,09:00\n"
        "Worse,,Ops,weekly,funday,25:00\n",
        encoding="utf-8",
    )
    result = run(tmp_path, "import", "projects", str(bad))
    assert result.returncode == 1
    assert "line 3" in result.stderr and "line 4" in result.stderr
    assert "Traceback" not in result.stderr
    assert run(tmp_path, "export", "projects").stdout.strip() == "name,sponsor,segment,cadence,day,time"

    assert run(tmp_path, "import", "projects", str(good)).returncode == 0
    out = tmp_path / "out.csv"
    assert run(tmp_path, "export", "projects", "--out", str(out)).returncode == 0
    exported = out.read_text(encoding="utf-8")
    assert "ERP Upgrade,ana@example.com,Finance,weekly,mon,09:00" in exported
    again = tmp_path / "again"
    again.mkdir()
    assert run(again, "import", "projects", str(out)).returncode == 0
    assert run(again, "export", "projects").stdout == run(tmp_path, "export", "projects").stdout


def test_demo_without_serving_then_value(tmp_path: Path) -> None:
    assert run(tmp_path, "demo", "--no-serve").returncode == 0
    report = json.loads(run(tmp_path, "value", "--json").stdout)
    assert report["satisfaction"]["responses"] > 0
    assert report["outcomes"]["total"] > 0
    assert report["benefits"]["roi_pct"] is not None


def test_digest_prints_the_value_digest_of_the_schedules_window(tmp_path: Path) -> None:
    assert run(tmp_path, "demo", "--no-serve").returncode == 0
    monthly = run(tmp_path, "digest")
    assert monthly.returncode == 0, monthly.stderr
    lines = monthly.stdout.splitlines()
    assert lines[0] == "PMO value digest — last 30 days"
    assert "By segment" in monthly.stdout and "CSAT by month" in monthly.stdout
    value = json.loads(run(tmp_path, "value", "--days", "30", "--json").stdout)
    assert re.search(rf"Responses +{value['satisfaction']['responses']}\n", monthly.stdout)
    here = run(tmp_path, "pmo", "digest", "here", "weekly")  # the shell is no channel
    assert here.returncode == 1 and "in the channel that should receive the digest" in here.stdout
    added = run(tmp_path, "pmo", "digest", "to", "lena@example.com")  # the console makes Lena
    assert added.returncode == 0 and "Lena <lena@example.com> will receive the value digest" in added.stdout
    assert "Lena (direct message)" in run(tmp_path, "pmo", "digest").stdout
    weekly = run(tmp_path, "digest", "--days", "7")
    assert weekly.stdout.startswith("PMO value digest — last 7 days\n")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_migrates_and_stops_cleanly(tmp_path: Path) -> None:
    import signal
    import time
    import urllib.request

    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "PMO_"))}
    environ.update(DATABASE_URL=f"sqlite:///{tmp_path / 'pmo.db'}", PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, str(APP), "serve", "--no-scheduler"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        body = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body = response.read().decode()
                    break
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.2)
        assert json.loads(body) == {"status": "ok"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert response.status == 200
            assert "<html" in response.read().decode().lower()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Traceback" not in output
