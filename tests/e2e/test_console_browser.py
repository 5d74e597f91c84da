"""The local console in a real browser: Debian's Chromium driven by Playwright.

A newcomer plays both parts. As PMO staff they add a project, choose an alert channel and send a
check-in; as the sponsor (in a second tab, which must see the check-in arrive by itself) they click
🤢 Sour and say why; back as staff they see the alert and the value report change. A second test
shows the demo organisation's value report. Screenshots are taken at desktop and phone width; set
CONSOLE_SCREENSHOTS=1 to write the README's three to docs/, otherwise they go to the test's
temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.config import load_settings
from bot.demo import load_demo
from bot.runtime import Runtime, start
from bot.web import build_app

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TIMEOUT_MS = 15_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = playwright_api.expect


class Server:
    """The bot's real aiohttp app on 127.0.0.1 and a free port, in its own thread and event loop."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="console-server", daemon=True)
        self.started = threading.Event()
        self.error: BaseException | None = None
        self.url = ""
        self.runtime: Runtime | None = None
        self.runner: web.AppRunner | None = None

    def __enter__(self) -> Server:
        self.thread.start()
        if not self.started.wait(60):
            raise RuntimeError("the console server did not start within 60 s")
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread, which raises it
            self.error = exc
            self.started.set()
            return
        self.started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._stop())
        self.loop.close()

    async def _start(self) -> None:
        environ = {"DATABASE_URL": self.database_url, "PMO_CURRENCY": "EUR"}
        self.runtime = await start(load_settings(environ=environ, env_file=None))
        self.runner = web.AppRunner(build_app(self.runtime), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/"

    async def _stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.runtime is not None:
            await self.runtime.aclose()


@pytest.fixture
def server(database_url: str) -> Iterator[Server]:
    with Server(database_url) as running:
        yield running


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("CONSOLE_SCREENSHOTS") else tmp_path


class Console:
    """One browser tab on the console, with the few gestures a person makes."""

    def __init__(self, page: object, url: str) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        expect(page.locator("body[data-ready='true']")).to_be_attached()

    def be(self, name: str) -> None:
        """Pick someone under 'Who are you?'."""
        option = self.page.locator("#person option", has_text=name).first
        expect(option).to_be_attached()
        value = option.get_attribute("value")
        self.page.select_option("#person", value=value)
        expect(self.page.locator(f"body[data-person='{value}']")).to_be_attached()

    def say(self, text: str) -> object:
        """Type into the DM composer; return the bot's reply to it."""
        before = self.page.locator("#timeline .msg.ephemeral").count()
        self.page.fill("#say", text)
        self.page.press("#say", "Enter")
        replies = self.page.locator("#timeline .msg.ephemeral")
        expect(replies).to_have_count(before + 1)
        return replies.last

    def fact(self, reply: object, label: str) -> object:
        return reply.locator(f".facts tr:has(th:text-is('{label}')) td")

    def no_horizontal_scroll(self) -> bool:
        return bool(self.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_staff_and_sponsor_use_the_console(
    server: Server, browser: object, shots: Path, tmp_path: Path
) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    staff = Console(browser.new_page(viewport={"width": 1200, "height": 900}), server.url)

    # A fresh database: the console's own admin is there, and the page says what to try first.
    expect(staff.page.locator("#person option:checked")).to_have_text("Console admin · admin")
    expect(staff.page.locator("#badges")).to_have_text("admin")
    expect(staff.page.locator("#timeline .empty")).to_contain_text("try the bot as PMO staff")

    staff.page.click("#value-report")
    before = staff.page.locator("#timeline .msg.ephemeral").last
    expect(staff.fact(before, "Responses")).to_have_text("0")

    # Alerts go to a console channel, chosen from that channel.
    staff.page.click("#tab-channels")
    staff.page.fill("#channel-name", "#pmo-alerts")
    staff.page.fill("#channel-say", "/pmo alerts here")
    staff.page.press("#channel-say", "Enter")
    expect(staff.page.locator("#channel-timeline .msg.ephemeral")).to_contain_text(
        "Alerts will come to this channel"
    )
    staff.page.click("#tab-dm")

    added = staff.say("/pmo project add Apollo sponsor:sam@example.com segment:Digital")
    expect(added.locator(".view.refusal")).to_have_count(0)

    # The sponsor opens the console in another tab before anything was sent to them.
    sponsor = Console(browser.new_page(viewport={"width": 1200, "height": 720}), server.url)
    sponsor.be("Sam")
    expect(sponsor.page.locator("#badges")).to_have_text("sponsor")
    expect(sponsor.page.locator("#timeline .empty")).to_contain_text("No messages from the bot yet")

    sent = staff.say("/pmo checkin Apollo")
    expect(sent).to_contain_text("Sent the taste check-in for Apollo to Sam.")

    # The check-in arrives in the sponsor's tab by itself (the page polls its inbox).
    checkin = sponsor.page.locator("#timeline article.msg:not(.ephemeral)").first
    expect(checkin.locator("h3.title")).to_have_text("How does Apollo taste?")
    expect(checkin.locator("h3.title strong")).to_have_text("Apollo")
    buttons = checkin.locator(".choices button")
    expect(buttons).to_have_text(["😋 Delicious", "🙂 Tasty", "😐 Bland", "😕 Off", "🤢 Sour"])

    sponsor.page.get_by_role("button", name="🤢 Sour").click()
    chosen = sponsor.page.locator("#timeline .choices button[aria-pressed='true']")
    expect(chosen).to_have_text("🤢 Sour")
    expect(sponsor.page.locator("#timeline article.msg")).to_have_count(1)  # updated in place
    comment = sponsor.page.get_by_label("What would make it taste better?")
    comment.fill("The vendor keeps missing the integration milestones.")
    checkin.locator("form.inline-form").get_by_role("button", name="Send").click()
    expect(sponsor.page.locator("#timeline .lines")).to_have_text(
        "You said: “The vendor keeps missing the integration milestones.”"
    )
    expect(sponsor.page.locator("#timeline .notice")).to_have_count(0)  # the message itself answered
    sponsor.page.locator("#timeline article.msg").first.scroll_into_view_if_needed()
    sponsor.page.screenshot(path=shots / "console-sponsor.png")

    # The same, at phone width.
    phone_context = browser.new_context(
        viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    phone = Console(phone_context.new_page(), server.url)
    phone.be("Sam")
    expect(phone.page.locator("#timeline .choices button[aria-pressed='true']")).to_have_text("🤢 Sour")
    assert phone.no_horizontal_scroll()
    phone.page.screenshot(path=shots / "console-phone.png", full_page=True)

    # Back as staff: the sour taste is in the alert channel, and the value report has changed.
    staff.page.click("#tab-channels")
    alert = staff.page.locator("#channel-timeline article.msg:not(.ephemeral)")
    expect(alert.locator("h3.title").last).to_have_text("🤢 Sour: Apollo (comment added)")
    expect(staff.page.locator("#channel-list .channel.current")).to_contain_text("#pmo-alerts")
    alert.last.get_by_role("button", name="I'll follow up").click()
    expect(staff.page.locator("#channel-timeline .notice")).to_contain_text(
        "Console admin is following up this sour taste"
    )
    staff.page.click("#tab-dm")
    staff.page.click("#value-report")
    report = staff.page.locator("#timeline .msg.ephemeral").last
    expect(staff.fact(report, "Responses")).to_have_text("1")
    expect(staff.fact(report, "Satisfaction (CSAT)")).to_contain_text("0.0%")
    expect(report.locator(".view > .lines")).to_contain_text(
        "The vendor keeps missing the integration milestones."
    )
    chart = report.locator(".chart img")
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    assert (chart.get_attribute("src") or "").startswith("data:image/png;base64,")
    assert staff.no_horizontal_scroll()
    staff.page.set_viewport_size({"width": 1200, "height": 1320})
    report.evaluate("node => node.previousElementSibling.scrollIntoView({block: 'start'})")  # the command too
    staff.page.screenshot(path=tmp_path / "console-staff-flow.png")

    # On the phone, the sponsor answers a pain-point prompt with the inline form.
    expect(staff.say("/pmo ask Apollo")).to_contain_text("Sent the pain-point prompt for Apollo to Sam.")
    prompt = phone.page.locator("#timeline article.msg", has_text="What keeps you up at night about Apollo?")
    prompt.get_by_label("What keeps you up at night?").fill("Nobody owns the data migration.")
    prompt.get_by_label("How much does it hurt?").select_option("5")
    prompt.get_by_role("button", name="Send").click()
    expect(phone.page.locator("#timeline .notice")).to_contain_text(
        "Pain point #1 on Apollo is with the PMO."
    )
    expect(prompt.locator(".text")).to_contain_text("Thank you, the PMO has it.")
    assert phone.no_horizontal_scroll()
    staff.page.click("#tab-channels")
    expect(staff.page.locator("#channel-timeline h3.title").last).to_have_text(
        "🌙 Pain point #1 on Apollo (impact 5)"
    )

    for tab in (staff, sponsor, phone):
        assert tab.errors == []
    for path in (
        tmp_path / "console-staff-flow.png",
        shots / "console-sponsor.png",
        shots / "console-phone.png",
    ):
        assert path.read_bytes().startswith(b"\x89PNG")
    phone_context.close()


@pytest.mark.sqlite_only
def test_the_demo_value_report_as_the_readme_shows_it(server: Server, browser: object, shots: Path) -> None:
    """What `python app.py demo` shows staff: six months of answers, pain points and outcomes."""
    assert server.runtime is not None
    runtime = server.runtime

    async def load() -> None:
        async with runtime.db.transaction() as session:
            await load_demo(session, runtime.org_id)

    asyncio.run_coroutine_threadsafe(load(), server.loop).result(60)
    expect.set_options(timeout=TIMEOUT_MS)
    staff = Console(browser.new_page(viewport={"width": 1200, "height": 1320}), server.url)
    staff.page.fill("#say", "/pmo value")
    staff.page.press("#say", "Enter")
    report = staff.page.locator("#timeline .msg.ephemeral").last
    # the story first: the headline, the wins (✅ where confirmed), what needs attention
    expect(report.locator(".text").first).to_contain_text("Sponsors' satisfaction")
    expect(report.locator(".text").first).to_contain_text("€")
    headings = report.locator(".part .heading")
    expect(headings.nth(0)).to_have_text("Wins")
    expect(headings.nth(1)).to_have_text("Needs attention")
    expect(report.locator(".part").nth(0)).to_contain_text("✅")
    expect(report.locator(".part").nth(1)).to_contain_text("ERP Upgrade is souring")
    expect(report.locator(".part").nth(1)).to_contain_text("Outcome at risk")
    expect(report.locator(".part").nth(1)).to_contain_text("Lena Hoffmann")
    expect(staff.fact(report, "Outcomes")).to_contain_text("achieved")
    assert staff.fact(report, "Responses").inner_text() not in ("0", "")
    expect(staff.fact(report, "ROI")).not_to_have_text("n/a")
    expect(staff.fact(report, "Benefits realized")).to_contain_text("€")
    chart = report.locator(".chart img")
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    report.evaluate("node => node.previousElementSibling.scrollIntoView({block: 'start'})")
    staff.page.screenshot(path=shots / "console-staff.png")
    assert (shots / "console-staff.png").read_bytes().startswith(b"\x89PNG")
    assert staff.errors == []
