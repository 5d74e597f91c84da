"""Languages through Teams (CONTRACT section 12): an activity's locale is the person's language
until they choose one with `language`; the cards they get say it."""

from __future__ import annotations

from storage.models import Identity
from tests.bot.teams.conftest import TEAM, TeamsWorld, buttons, card_text


async def test_an_activity_in_french_gets_french_and_a_checkin_follows_it(teams: TeamsWorld) -> None:
    staff = await teams.installed(teams.user("61", "Stan Staff", team=TEAM))
    sponsor = await teams.installed(teams.user("62", "Sophie Sponsor", team=TEAM))
    async with teams.runtime.db.transaction() as session:
        from sqlalchemy import update

        from storage.models import Person

        await session.execute(update(Person).where(Person.name == "Stan Staff").values(role="staff"))
    await teams.say(teams.message(sponsor, "help", locale="fr-FR"))
    card = teams.last_card(teams.personal(sponsor))
    assert "Ce que vous pouvez demander au bot du PMO" in card_text(card)
    assert "/pmo value" in card_text(card)  # the commands keep their English words
    async with teams.runtime.db.sessions() as session:
        from sqlalchemy import select

        locales = set(await session.scalars(select(Identity.locale).where(Identity.platform == "teams")))
    assert "fr-FR" in locales
    await teams.say(teams.message(staff, "project add Apollo sponsor:sophie@contoso.example", locale="en-US"))
    assert "Project 'Apollo' added" in card_text(teams.last_card(teams.personal(staff)))
    await teams.say(teams.message(staff, "checkin Apollo", locale="en-US"))
    assert "Sent the taste check-in for Apollo" in card_text(teams.last_card(teams.personal(staff)))
    checkin = teams.last_card(teams.personal(sponsor))
    assert "Quel goût a *Apollo* ?" in card_text(checkin) or "Quel goût a **Apollo** ?" in card_text(checkin)
    assert [b["title"] for b in buttons(checkin)][:5] == [
        "😋 Délicieux",
        "🙂 Bon",
        "😐 Fade",
        "😕 Bizarre",
        "🤢 Aigre",
    ]
    # `language es` wins over the activity's locale
    await teams.say(teams.message(sponsor, "language es", locale="fr-FR"))
    assert "A partir de ahora te hablo en español." in card_text(teams.last_card(teams.personal(sponsor)))


async def test_the_welcome_is_in_the_locale_of_the_install(teams: TeamsWorld) -> None:
    """No person can be asked yet: the installing activity's locale says the welcome's language."""
    lena = teams.user("5d", "Lena Lang")
    await teams.say({**teams.install(lena), "locale": "de-DE"})
    shown = card_text(teams.last_card(teams.personal(lena)))
    assert "Hallo Lena Lang" in shown and "Schreiben Sie **help**" in shown
