"""app.py when something outside it is wrong: a database that cannot be used, a closed stdout, a
FILE that is not a readable CSV file, a shell-style option. Real processes; one line, no traceback,
nothing changed."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.clockkit import ClockProcess
from tests.conftest import PG_URL

APP = Path(__file__).resolve().parents[2] / "app.py"
PASSWORD = "s3cret-pw-never-shown"

pytestmark = pytest.mark.sqlite_only


def environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "PMO_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'pmo.db'}"
    env.update(extra)
    return env


def run(
    tmp_path: Path, *args: str, prefix: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, str(APP), *args],
        cwd=tmp_path,
        env=environ(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], status: int, *words: str) -> str:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def unprivileged() -> tuple[str, ...]:
    """A command prefix under which file permissions hold: none for a normal user; for root a user
    namespace of its own (`unshare -U`), where root keeps only the owner's rights to its files."""
    if os.geteuid() != 0:
        return ()
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-U", "true"], capture_output=True).returncode == 0:
        return (unshare, "-U")
    pytest.skip("running as root without user namespaces: permissions cannot be tested")


def pg_url(*, database: str | None = None, user: str | None = None, password: str | None = None) -> str:
    if not PG_URL:
        pytest.skip("needs a PostgreSQL server (TEST_DATABASE_URL)")
    url = make_url(PG_URL.replace("postgres://", "postgresql://", 1))
    if database is not None:
        url = url.set(database=database)
    if user is not None:
        url = url.set(username=user)
    if password is not None:
        url = url.set(password=password)
    return url.render_as_string(hide_password=False)


EVERY_COMMAND = [
    ["serve", "--no-scheduler"],
    ["migrate"],
    ["value"],
    ["demo", "--no-serve"],
    ["import", "projects", "projects.csv"],
    ["export", "responses"],
    ["pmo", "cost", "1"],
    ["clock"],
    ["deliveries"],
]


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: c[0])
def test_every_command_says_in_one_line_that_the_database_directory_does_not_exist(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "projects.csv").write_text("name,sponsor,segment,cadence,day,time\n", encoding="utf-8")
    missing = tmp_path / "no" / "such"
    result = run(tmp_path, *command, DATABASE_URL=f"sqlite:///{missing / 'pmo.db'}")
    line = assert_one_line(result, 1, "cannot open the database", "does not exist")
    assert line.endswith(f"directory {missing} does not exist (DATABASE_URL=sqlite:///{missing}/pmo.db)")
    assert not missing.parent.exists()


@pytest.mark.parametrize("command", [["serve", "--no-scheduler"], ["value"], ["migrate"]], ids=lambda c: c[0])
def test_a_database_path_that_is_a_directory_is_one_line(tmp_path: Path, command: list[str]) -> None:
    folder = tmp_path / "folder.db"
    folder.mkdir()
    result = run(tmp_path, *command, DATABASE_URL=f"sqlite:///{folder}")
    assert_one_line(result, 1, f"{folder} is a directory")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("command", [["serve", "--no-scheduler"], ["value"], ["migrate"]], ids=lambda c: c[0])
def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path, command: list[str]) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("not a database, but someone's notes\n" * 200, encoding="utf-8")
    before = notes.read_bytes()
    result = run(tmp_path, *command, DATABASE_URL=f"sqlite:///{notes}")
    assert_one_line(result, 1, "is not a SQLite database")
    assert notes.read_bytes() == before


@pytest.mark.parametrize(
    "command", [["serve", "--no-scheduler"], ["value"], ["migrate"], ["pmo", "cost", "1"]], ids=lambda c: c[0]
)
def test_a_read_only_database_is_one_line(tmp_path: Path, command: list[str]) -> None:
    prefix = unprivileged()
    database = tmp_path / "pmo.db"
    database.touch()  # empty, as `touch pmo.db` leaves it; read-only, so the schema cannot be made
    database.chmod(0o444)
    result = run(tmp_path, *command, prefix=prefix)
    assert_one_line(result, 1, "cannot open the database", f"{database} is read-only")
    assert database.stat().st_size == 0


def test_a_read_only_database_refuses_a_write_in_one_line(tmp_path: Path) -> None:
    """The schema is there and reading works; the first write is refused."""
    prefix = unprivileged()
    assert run(tmp_path, "migrate").returncode == 0
    database = tmp_path / "pmo.db"
    digest = hashlib.sha256(database.read_bytes()).hexdigest()
    database.chmod(0o444)
    assert run(tmp_path, "value", prefix=prefix).returncode == 0
    result = run(tmp_path, "pmo", "cost", "1", prefix=prefix)
    assert_one_line(result, 1, "the database", f"{database} is read-only")
    assert hashlib.sha256(database.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("command", [["serve", "--no-scheduler"], ["value"], ["migrate"]], ids=lambda c: c[0])
def test_a_postgresql_database_that_does_not_exist_is_one_line(tmp_path: Path, command: list[str]) -> None:
    url = pg_url(database="pmo_no_such_database", password=PASSWORD)
    result = run(tmp_path, *command, DATABASE_URL=url)
    line = assert_one_line(result, 1, 'PostgreSQL database "pmo_no_such_database" does not exist')
    assert PASSWORD not in result.stderr + result.stdout
    assert ":***@" in line


@pytest.mark.parametrize("command", [["serve", "--no-scheduler"], ["value"], ["migrate"]], ids=lambda c: c[0])
def test_a_postgresql_role_that_does_not_exist_is_one_line(tmp_path: Path, command: list[str]) -> None:
    url = pg_url(user="pmo_nobody", password=PASSWORD)
    result = run(tmp_path, *command, DATABASE_URL=url)
    assert_one_line(result, 1, 'PostgreSQL role "pmo_nobody" does not exist')
    assert PASSWORD not in result.stderr + result.stdout


def test_a_closed_postgresql_port_is_still_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "value", DATABASE_URL=f"postgresql://pmo:{PASSWORD}@127.0.0.1:1/pmo")
    assert_one_line(result, 1, "PostgreSQL at 127.0.0.1:1 refuses connections")
    assert PASSWORD not in result.stderr


# ---- a closed stdout -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo database: enough responses that the export fills the pipe while it writes."""
    path = tmp_path_factory.mktemp("demo")
    assert run(path, "demo", "--no-serve").returncode == 0
    return path


@pytest.mark.parametrize(
    "command", [["export", "responses"], ["value", "--json"], ["pmo", "help"]], ids=lambda c: " ".join(c)
)
def test_a_stdout_closed_by_the_reader_ends_quietly(demo_dir: Path, command: list[str]) -> None:
    process = subprocess.Popen(
        [sys.executable, str(APP), *command],
        cwd=demo_dir,
        env=environ(demo_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line is written
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) in (0, 141), stderr
    assert stderr == ""


def test_export_piped_into_head_prints_two_lines_and_nothing_else(demo_dir: Path) -> None:
    result = subprocess.run(
        f"'{sys.executable}' '{APP}' export responses | head -2",
        shell=True,
        cwd=demo_dir,
        env=environ(demo_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == "project,sponsor,sent_at,answered_at,rating,comment"
    assert len(result.stdout.splitlines()) == 2
    assert result.stderr == ""


# ---- a FILE that cannot be imported ----------------------------------------------------------------


def test_import_of_a_directory_says_it_is_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "responses"
    folder.mkdir()
    assert_one_line(run(tmp_path, "import", "responses", str(folder)), 2, f"{folder} is a directory")
    assert not (tmp_path / "pmo.db").exists()  # the database was not even opened


def test_import_of_an_unreadable_file_says_it_cannot_be_read(tmp_path: Path) -> None:
    prefix = unprivileged()
    secret = tmp_path / "responses.csv"
    secret.write_text("project,sponsor,sent_at,answered_at,rating,comment\n", encoding="utf-8")
    secret.chmod(0o000)
    result = run(tmp_path, "import", "responses", str(secret), prefix=prefix)
    assert_one_line(result, 2, f"cannot read {secret}", "ermission denied")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 4, "holds binary data"),
        ("project,sponsor\n".encode("utf-16"), "is UTF-16 text"),
    ],
    ids=["binary", "utf-16"],
)
def test_import_of_a_file_that_is_not_utf8_text_says_so_in_one_line(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "responses.csv"
    path.write_bytes(content)
    assert_one_line(run(tmp_path, "import", "responses", str(path)), 1, str(path), words)
    assert not (tmp_path / "pmo.db").exists()  # refused before the database is opened


# ---- options written the shell's way --------------------------------------------------------------


def test_pmo_value_with_a_dashed_option_says_how_options_are_written(tmp_path: Path) -> None:
    result = run(tmp_path, "pmo", "value", "--days", "0")
    assert result.returncode == 1
    assert "Options are written key:value, e.g. days:N, not '--days'." in result.stdout
    assert "no project named" not in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("days", ["0", "²", "٣", "-3", "30.5"])
def test_value_days_must_be_plain_digits(tmp_path: Path, days: str) -> None:
    result = run(tmp_path, "value", "--days", days)
    assert_one_line(result, 2, "days must be a whole number from 1 to 3660")
    assert not (tmp_path / "pmo.db").exists()


# ---- the clock's lock file ---------------------------------------------------------------------------


async def test_the_clock_removes_its_lock_file_on_a_clean_stop_and_takes_over_a_killed_ones(
    tmp_path: Path,
) -> None:
    env = environ(tmp_path, PYTHONUNBUFFERED="1")
    lock = tmp_path / "pmo.db.clock-lock"
    killed = await ClockProcess(env, tmp_path, "--tick", "0.5").start()
    await killed.wait_for_line("this clock leads")
    assert lock.read_text() == str(killed.pid)
    killed.kill()  # SIGKILL: no clean-up at all
    assert await killed.exited() == -signal.SIGKILL
    assert lock.exists()  # a killed clock leaves it; the next one takes it over

    clean = await ClockProcess(env, tmp_path, "--tick", "0.5").start()
    try:
        await clean.wait_for_line("this clock leads")
        assert lock.read_text() == str(clean.pid)
        refused = await ClockProcess(env, tmp_path, "--tick", "0.5").start()
        assert await refused.exited() == 1
        assert lock.read_text() == str(clean.pid)  # a refused clock leaves the lock alone
    finally:
        assert await clean.stop() == 0
    assert not lock.exists()
