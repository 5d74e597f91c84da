"""The console page's own words follow the person it acts as, in a real browser (docs/languages.md).

A sponsor types `/pmo language de`: the page's labels turn German at once (no reload), `<html lang>`
follows, and commands inside translated hints stay English `<code>`. Picking the English-speaking
admin turns the page back to English; picking the sponsor again, German.
"""

from __future__ import annotations

from tests.e2e import test_console_browser as console_browser
from tests.e2e.test_console_browser import TIMEOUT_MS, Console, Server, expect

pytestmark = console_browser.pytestmark  # a browser test, skipped without Chromium
server = console_browser.server  # the same fixtures: the bot's app on a free port, and Chromium
browser = console_browser.browser


def shows_english(tab: Console) -> None:
    page = tab.page
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("label[for='person']")).to_have_text("Who are you?")
    expect(page.locator("#tab-channels")).to_have_text("Channels")
    expect(page.locator("#composer button[type='submit']")).to_have_text("Send")
    expect(page.locator("#say")).to_have_attribute("placeholder", "/pmo help — or reply to the bot")
    expect(page.locator("#composer .hint")).to_contain_text("Start with /pmo for a command")


def shows_german(tab: Console) -> None:
    page = tab.page
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("label[for='person']")).to_have_text("Wer sind Sie?")
    expect(page.locator("#tab-channels")).to_have_text("Kanäle")
    expect(page.locator("#tab-dm .long")).to_have_text("Direktnachrichten")
    expect(page.locator("#value-report .long")).to_have_text("📊 Wertbericht")
    expect(page.locator("#add-yourself")).to_have_text("+ Sich hinzufügen")
    expect(page.locator("#composer button[type='submit']")).to_have_text("Senden")
    expect(page.locator("#say")).to_have_attribute("placeholder", "/pmo help – oder antworten Sie dem Bot")
    expect(page.locator("#say")).to_have_attribute("aria-label", "Befehl oder Nachricht")
    hint = page.locator("#composer .hint")
    expect(hint).to_contain_text("Beginnen Sie mit /pmo für einen Befehl")
    expect(hint.locator("code")).to_have_text(["/pmo", "/pmo value", "/pmo checkin Apollo"])  # English
    assert page.title() == "PMO value bot · lokale Konsole"


def test_the_page_speaks_the_language_of_the_person_it_acts_as(server: Server, browser: object) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    tab = Console(browser.new_page(viewport={"width": 1200, "height": 900}), server.url)
    shows_english(tab)
    expect(tab.say("/pmo project add Apollo sponsor:sam@example.com").locator(".view.refusal")).to_have_count(
        0
    )

    tab.be("Sam")
    shows_english(tab)
    expect(tab.page.locator("#timeline .empty h3")).to_have_text("No messages from the bot yet")
    switched = tab.say("/pmo language de")
    expect(switched).to_contain_text("Ab jetzt spreche ich Deutsch mit Ihnen.")
    shows_german(tab)  # after the command, without a reload
    expect(tab.page.locator("#badges")).to_have_text("Sponsor")
    groups = tab.page.locator("#person optgroup")
    expect(groups.nth(0)).to_have_attribute("label", "PMO-Team")
    expect(groups.nth(1)).to_have_attribute("label", "Sponsoren")
    expect(switched.locator(".only-you")).to_have_text("only you can see this")  # said before the switch

    tab.be("Console admin")  # who never chose a language: PMO_LANGUAGE, English
    shows_english(tab)
    expect(tab.page.locator("#badges")).to_have_text("admin")
    expect(groups.nth(0)).to_have_attribute("label", "PMO staff")
    expect(groups.nth(1)).to_have_attribute("label", "Sponsors")

    tab.be("Sam")
    shows_german(tab)
    expect(tab.page.locator("#person option:checked")).to_have_text("Sam · Sponsor")
    # Sam's own command and the bot's German answer are still there, and new bot frames are German
    tab.page.click("#help")
    help_reply = tab.page.locator("#timeline .msg.ephemeral").last
    expect(help_reply.locator(".sender")).to_have_text("PMO-Bot")
    expect(help_reply.locator(".only-you")).to_have_text("nur für Sie sichtbar")
    assert tab.errors == []
