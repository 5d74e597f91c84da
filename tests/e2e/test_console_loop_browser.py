"""Closing the loop in the console, in a real browser (docs/loop.md).

A sponsor's pain point is taken from the alert (the alert card changes in place), gets an owner
(who finds it in `painpoints mine`), a measure and a note, and is resolved; the sponsor answers
❌ Not yet (reopened, the owner told), it is resolved again and the sponsor answers ✅ Fixed
(confirmed); the value report counts one confirmed fix and one reopening. Every click goes through
the console's `act` endpoint, like Slack's and Teams' buttons. Set CONSOLE_SCREENSHOTS=1 to write
docs/loop.md's screenshots to docs/images/, otherwise they go to the test's temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e import test_console_browser as console_browser
from tests.e2e.test_console_browser import DOCS, TIMEOUT_MS, Console, Server, expect

pytestmark = console_browser.pytestmark  # a browser test, skipped without Chromium
server = console_browser.server  # the same fixtures: the bot's app on a free port, and Chromium
browser = console_browser.browser


@pytest.fixture
def loop_shots(tmp_path: Path) -> Path:
    if not os.environ.get("CONSOLE_SCREENSHOTS"):
        return tmp_path
    images = DOCS / "images"
    images.mkdir(exist_ok=True)
    return images


def messages(tab: Console) -> object:
    """The bot's messages in the tab's direct-message timeline (not the replies to commands)."""
    return tab.page.locator("#timeline article.msg:not(.ephemeral)")


def test_a_pain_point_goes_round_the_loop_in_the_console(
    server: Server, browser: object, loop_shots: Path
) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    staff = Console(browser.new_page(viewport={"width": 1200, "height": 900}), server.url)
    staff.page.click("#tab-channels")
    staff.page.fill("#channel-name", "#pmo-alerts")
    staff.page.fill("#channel-say", "/pmo alerts here")
    staff.page.press("#channel-say", "Enter")
    expect(staff.page.locator("#channel-timeline .msg.ephemeral")).to_contain_text("Alerts will come")
    staff.page.click("#tab-dm")
    for command in (
        "/pmo project add Apollo sponsor:sam@example.com",
        "/pmo staff add lena@example.com",
    ):
        expect(staff.say(command).locator(".view.refusal")).to_have_count(0)

    # The sponsor says what keeps them up at night; it hurts, so an alert is posted.
    sponsor = Console(browser.new_page(viewport={"width": 1200, "height": 900}), server.url)
    sponsor.be("Sam")
    expect(staff.say("/pmo ask Apollo")).to_contain_text("Sent the pain-point prompt")
    prompt = messages(sponsor).first
    prompt.get_by_label("What keeps you up at night?").fill("Order approvals take twelve days.")
    prompt.get_by_label("How much does it hurt?").select_option("5")
    prompt.get_by_role("button", name="Send").click()
    expect(prompt.locator(".text")).to_contain_text("Thank you, the PMO has it.")

    # Staff take it from the alert: the one alert card changes in place.
    staff.page.click("#tab-channels")
    alert = staff.page.locator("#channel-timeline article.msg:not(.ephemeral)")
    expect(alert).to_have_count(1)
    expect(alert.locator("h3.title")).to_have_text("🌙 Pain point #1 on Apollo (impact 5)")
    alert.get_by_role("button", name="I'll follow up").click()
    expect(alert).to_have_count(1)
    expect(alert.get_by_role("button", name="I'll follow up")).to_have_count(0)
    expect(alert).to_contain_text("Console admin")
    staff.page.click("#tab-dm")

    # An owner from staff, who finds it in their direct messages and in `painpoints mine`.
    given = staff.say("/pmo painpoint 1 owner:lena@example.com due:2026-12-31")
    expect(given).to_contain_text("is now Lena's")
    owner = Console(browser.new_page(viewport={"width": 1200, "height": 900}), server.url)
    owner.be("Lena")
    expect(messages(owner).first.locator("h3.title")).to_have_text("📌 Pain point #1 on Apollo is yours")
    for command in (
        '/pmo painpoint 1 metric:"Approval time (days)" baseline:12',
        '/pmo painpoint 1 note:"Credit check moved to the order desk"',
    ):
        expect(owner.say(command).locator(".view.refusal")).to_have_count(0)
    mine = owner.say("/pmo painpoints mine")
    expect(mine).to_contain_text("#1")
    expect(mine).to_contain_text("Order approvals take twelve days.")
    owner.page.screenshot(path=loop_shots / "loop-owner.png")
    replies = owner.page.locator("#timeline .msg.ephemeral")
    shown = replies.count()
    owner.page.click("#home")  # the console's home page: the same list among the rest
    expect(replies).to_have_count(shown + 1)
    expect(replies.last.locator("h3.title")).to_have_text("Your home")
    expect(replies.last).to_contain_text("Your pain points")
    expect(replies.last).to_contain_text("Order approvals take twelve days.")

    # Resolved with a measure: the sponsor hears "You said, we did" and answers ❌ Not yet.
    resolved = owner.say('/pmo painpoint resolve 1 after:7 fix:"Credit checks run at order entry"')
    expect(resolved).to_contain_text("Sam was told what was done")
    you_said = messages(sponsor).last
    expect(you_said).to_contain_text("Credit checks run at order entry")
    expect(you_said).to_contain_text("12 → 7")
    expect(you_said.locator(".choices button")).to_have_text(["✅ Fixed", "❌ Not yet"])
    you_said.scroll_into_view_if_needed()
    sponsor.page.screenshot(path=loop_shots / "loop-you-said.png")
    you_said.get_by_role("button", name="❌ Not yet").click()
    expect(you_said.locator(".choices button[aria-pressed='true']")).to_have_text("❌ Not yet")
    you_said.get_by_label("What is still wrong?").fill("Urgent orders still wait for the weekly review.")
    you_said.get_by_role("button", name="Send").click()
    expect(sponsor.page.locator("#timeline .notice").last).to_contain_text("Thank you; the PMO has it.")
    expect(staff.say("/pmo painpoints open")).to_contain_text("#1")
    told = messages(owner).last  # the owner hears what is still wrong
    expect(told.locator("h3.title")).to_have_text("❌ Pain point #1 on Apollo is not fixed yet")
    expect(told).to_contain_text("Urgent orders still wait for the weekly review.")

    # Resolved again; this time ✅ Fixed.
    again = owner.say('/pmo painpoint resolve 1 after:3 fix:"Urgent orders skip the weekly review"')
    expect(again).to_contain_text("Sam was told what was done")
    second = messages(sponsor).last
    expect(second).to_contain_text("Urgent orders skip the weekly review")
    second.get_by_role("button", name="✅ Fixed").click()
    expect(second.locator(".choices button[aria-pressed='true']")).to_have_text("✅ Fixed")
    second.scroll_into_view_if_needed()
    sponsor.page.screenshot(path=loop_shots / "loop-fixed.png")

    staff.page.click("#value-report")
    report = staff.page.locator("#timeline .msg.ephemeral").last
    expect(staff.fact(report, "Fixes confirmed")).to_have_text(
        "1 confirmed by the sponsor · 1 reopened · 0 in progress now"
    )
    for tab in (staff, sponsor, owner):
        assert tab.errors == []
    for name in ("loop-owner.png", "loop-you-said.png", "loop-fixed.png"):
        assert (loop_shots / name).read_bytes().startswith(b"\x89PNG")
