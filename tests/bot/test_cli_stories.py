"""`app.py story ID` and `app.py stories` as a user runs them (CONTRACT section 1), real processes."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from storage.db import Database, utcnow
from tests.bot.test_cli import assert_one_line_error, run
from tests.helpers import make_world

pytestmark = pytest.mark.sqlite_only


def seed(tmp_path: Path) -> tuple[int, int]:
    """A migrated file with one resolved, measured pain point and one open one."""
    assert run(tmp_path, "migrate").returncode == 0

    async def fill() -> tuple[int, int]:
        db = Database(f"sqlite:///{tmp_path / 'pmo.db'}")
        try:
            world = await make_world(db)
            now = utcnow()
            fixed = await world.add_painpoint(
                text="Orders wait for credit checks",
                reported_at=now - dt.timedelta(days=12),
                status="resolved",
                resolved_at=now - dt.timedelta(days=2),
                metric="Cycle time",
                baseline=12.0,
                after=7.0,
                fix="Credit limits per customer",
            )
            still = await world.add_painpoint(text="Testers have no time", reported_at=now)
            return fixed.id, still.id
        finally:
            await db.dispose()

    return asyncio.run(fill())


@pytest.mark.parametrize("command", [["story"], ["stories"]])
def test_help(tmp_path: Path, command: list[str]) -> None:
    result = run(tmp_path, *command, "--help")
    assert result.returncode == 0 and "--format" in result.stdout and "--out" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["story"],
        ["story", "abc"],
        ["story", "0"],
        ["story", "1", "--format", "pdf"],
        ["stories", "--days", "0"],
        ["stories", "--days", "x"],
        ["stories", "--format", "docx"],
        ["stories", "7"],
    ],
)
def test_bad_arguments_give_one_line_and_status_2(tmp_path: Path, args: list[str]) -> None:
    assert_one_line_error(run(tmp_path, *args), 2)


def test_story_and_stories_as_markdown_and_html(tmp_path: Path) -> None:
    fixed, still = seed(tmp_path)
    md = run(tmp_path, "story", str(fixed))
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith(f"# Story of pain point #{fixed}: Apollo")
    assert "Cycle time: 12 → 7 (+41.7%, lower is better)" in md.stdout
    assert "- **Days to resolve:** 10.0 days" in md.stdout

    out = tmp_path / "story.html"
    html = run(tmp_path, "story", f"#{fixed}", "--format", "html", "--out", str(out))
    assert html.returncode == 0 and html.stdout == "" and f"Wrote {out}" in html.stderr
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page

    record = run(tmp_path, "stories", "--days", "30")
    assert record.returncode == 0, record.stderr
    assert "1 pain point fixed, 1 measured (+41.7% on average)" in record.stdout
    assert "Testers have no time" not in record.stdout  # not resolved: not in the track record
    assert run(tmp_path, "stories", "--format", "html").stdout.startswith("<!DOCTYPE html>")

    assert_one_line_error(run(tmp_path, "story", "999"), 1)
    unresolved = run(tmp_path, "story", str(still))
    assert unresolved.returncode == 0 and "not resolved yet" in unresolved.stdout

    unwritable = run(tmp_path, "stories", "--out", str(tmp_path / "no" / "such" / "dir.md"))
    assert_one_line_error(unwritable, 1)


def test_the_documents_follow_pmo_language(tmp_path: Path) -> None:
    fixed, _ = seed(tmp_path)
    german = {"PMO_LANGUAGE": "de"}
    page = run(tmp_path, "story", str(fixed), "--format", "html", env=german)
    assert page.returncode == 0, page.stderr
    assert page.stdout.startswith('<!DOCTYPE html>\n<html lang="de">')
    assert f"<h1>Geschichte von Pain Point #{fixed}: Apollo</h1>" in page.stdout
    assert "<dd>Cycle time: 12 → 7 (+41,7\xa0%, niedriger ist besser)</dd>" in page.stdout
    assert "<dt>Tage bis zur Lösung</dt><dd>10,0 Tage</dd>" in page.stdout
    assert "<h2>Unternommene Schritte</h2>" in page.stdout
    for english in ("Steps taken", "Story of pain point", "Days to resolve", "taste check-ins", "Made by"):
        assert english not in page.stdout

    record = run(tmp_path, "stories", "--days", "30", env=german)
    assert record.returncode == 0, record.stderr
    assert record.stdout.startswith("# Die Bilanz des PMO\n")
    assert "**1 Pain Point behoben, 1 gemessen (+41,7\xa0% im Schnitt);" in record.stdout
    assert "ein Zeitraum von 30 Tagen" in record.stdout

    french = run(tmp_path, "story", str(fixed), env={"PMO_LANGUAGE": "fr"})
    assert french.returncode == 0 and french.stdout.startswith(
        f"# Histoire du point de douleur n° {fixed} : Apollo"
    )
