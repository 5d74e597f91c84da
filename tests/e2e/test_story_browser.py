"""A story's HTML page and the track record in Debian's Chromium: self-contained and printable on A4.

The page is served to the browser by a route that answers its one URL; every other request the
page would make fails the test (data: URIs never reach the network, so the chart is allowed). In
print media at A4's printable width nothing is wider than the page, and Chromium prints a PDF.
Set STORY_SCREENSHOTS=1 to write docs/images/story.png; otherwise it goes to the test's temporary
directory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.stories.compute import story, track_record
from handlers.stories.html import PAGE_MARGIN_MM, PRINTABLE_MM, record_html, story_html
from storage.db import Database
from storage.models import KIND_TASTE, Checkin, PainPointEvent
from tests.e2e.test_console_browser import CHROMIUM, CHROMIUM_ARGS
from tests.helpers import make_world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sqlite_only,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
PAGE_URL = "https://story.invalid/story.html"  # answered by the route below, never the network
TODAY = dt.date(2026, 6, 20)
MM_PX = 96 / 25.4
LONG_WORD = "Supercalifragilistic" * 12  # one unbroken word far wider than the page


async def _documents(database_url: str) -> tuple[str, str]:
    """A realistic story (answers before and after, notes, a confirmation) and a track record."""
    db = Database(database_url)
    try:
        world = await make_world(db, today=TODAY)
        reported, resolved = dt.datetime(2026, 3, 2, 9), dt.datetime(2026, 3, 20, 15)
        point = await world.add_painpoint(
            text="Orders wait days for credit checks before they ship; customers call us every morning",
            impact=5, reported_at=reported, status="resolved", resolved_at=resolved,
            metric="Order cycle time (days)", baseline=12.0, after=7.0, owner_id=world.staff.id,
            fix="Credit limits per customer, checked automatically at order entry", confirmed=True,
            confirmed_at=resolved + dt.timedelta(days=2),
        )  # fmt: skip
        async with db.transaction() as session:
            for days, rating in (
                (-80, 2),
                (-60, 3),
                (-40, 2),
                (-20, 4),
                (-5, 1),
                (3, 4),
                (20, 5),
                (40, 4),
                (60, 5),
                (80, 3),
            ):
                at = (reported if days < 0 else resolved) + dt.timedelta(days=days)
                session.add(Checkin(org_id=world.org_id, project_id=world.project.id, sponsor_id=world.sponsor.id,
                                    kind=KIND_TASTE, status="answered", sent_at=at, answered_at=at, rating=rating,
                                    message_refs={}))  # fmt: skip
            for days, text in (
                (1, "Mapped the credit check with Finance"),
                (8, "Agreed limits per customer"),
            ):
                session.add(PainPointEvent(org_id=world.org_id, painpoint_id=point.id, person_id=world.staff.id,
                                           kind="note", text=text, at=reported + dt.timedelta(days=days)))  # fmt: skip
        for n in range(12):  # a track record longer than a page, with a word no line can hold
            await world.add_painpoint(
                text=f"Pain point {n} {LONG_WORD if n == 3 else ''}", reported_at=reported,
                status="resolved", resolved_at=resolved + dt.timedelta(days=n),
                metric="Hours" if n % 2 else None, baseline=8.0 if n % 2 else None, after=6.0 if n % 2 else None,
            )  # fmt: skip
        async with db.sessions() as session:
            one = await story(session, world.org_id, point.id, today=TODAY)
            record = await track_record(session, world.org_id, days=365, today=TODAY)
        assert one is not None
        return story_html(one), record_html(record)
    finally:
        await db.dispose()


@pytest.fixture
def documents(database_url: str) -> tuple[str, str]:
    return asyncio.run(_documents(database_url))


@pytest.fixture
def browser(documents: tuple[str, str]) -> Iterator[object]:
    """Chromium, once the documents are made: Playwright's sync API runs an event loop of its own."""
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _open(browser: object, page_html: str, width_px: int) -> tuple[object, list[str]]:
    """The page in a fresh context whose every request but the page itself is refused and noted."""
    context = browser.new_context(viewport={"width": width_px, "height": 1123})
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url in (PAGE_URL,) or request.url.startswith("data:")
            else outside.append(request.url)
        ),
    )

    def answer(route: object) -> None:
        if route.request.url == PAGE_URL:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=page_html)
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", answer)
    page.goto(PAGE_URL, wait_until="load")
    return page, outside


def _overflow(page: object) -> list[str]:
    """Elements that reach past the body's box (what A4 would cut), as 'tag: right edge' strings."""
    return page.evaluate(
        """() => {
          const limit = document.body.getBoundingClientRect().right + 0.5;
          const wide = [];
          for (const el of document.body.querySelectorAll('*')) {
            const box = el.getBoundingClientRect();
            if (box.width && box.right > limit) wide.push(`${el.tagName}: ${box.right} > ${limit}`);
          }
          if (document.documentElement.scrollWidth > document.documentElement.clientWidth)
            wide.push(`document: ${document.documentElement.scrollWidth}`);
          return wide;
        }"""
    )


@pytest.mark.parametrize("which", ["story", "record"])
def test_self_contained_and_printable_on_a4(
    browser: object, documents: tuple[str, str], which: str, tmp_path: Path
) -> None:
    page_html = documents[0] if which == "story" else documents[1]
    printable_px = round(PRINTABLE_MM * MM_PX)  # 180 mm ≈ 680 px
    page, outside = _open(browser, page_html, printable_px)
    try:
        page.emulate_media(media="print")
        assert page.evaluate("document.images.length") == 1
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth === 600)")
        assert _overflow(page) == []
        body_px = page.evaluate("document.body.getBoundingClientRect().width")
        assert body_px <= printable_px + 0.5
        pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
        pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
        assert pdf.startswith(b"%PDF") and pages >= (2 if which == "record" else 1), pages
        (tmp_path / f"{which}.pdf").write_bytes(pdf)
    finally:
        page.context.close()
    assert outside == []
    assert PAGE_MARGIN_MM * 2 + PRINTABLE_MM == 210


def test_screenshot(browser: object, documents: tuple[str, str], tmp_path: Path) -> None:
    where = DOCS_IMAGES if os.environ.get("STORY_SCREENSHOTS") else tmp_path
    page, outside = _open(browser, documents[0], 794)  # A4's width at 96 dpi
    try:
        text = page.inner_text("body")
        assert "Order cycle time (days): 12 → 7 (+41.7%, lower is better)" in text
        assert "Mapped the credit check with Finance" in text and "✅ Fixed" in text
        where.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(where / "story.png"), full_page=True)
    finally:
        page.context.close()
    assert outside == [] and (where / "story.png").stat().st_size > 10_000
