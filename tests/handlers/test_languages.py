"""Languages in the core (CONTRACT section 12), through the console's channel: whose language, the
`language` command, what a sponsor and a member of staff read, and figures in each language's form.

The console stores each message as its reader sees it (LocalMessage.view), so these tests read
exactly what a person of the console would read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from sqlalchemy import update

from handlers.charts import Chart
from handlers.i18n import Cat, Day, Money, Num, Pct, _, language_of_locale, ngettext, say
from handlers.languages import choose
from handlers.views import View, localize
from storage.db import Database
from storage.models import Checkin, Identity, Person
from tests.handlers.test_charts import Drawing, drawn
from tests.helpers import World, make_world, message_view

NNBSP = "\u202f"  # the narrow no-break space French groups digits with (CLDR)

__all__ = ["drawn"]  # the fixture that watches charts being drawn


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db)


async def set_locale(world: World, person: Person, locale: str | None) -> None:
    async with world.db.transaction() as session:
        await session.execute(update(Identity).where(Identity.person_id == person.id).values(locale=locale))


async def last_message(world: World, person: Person) -> View:
    return message_view((await world.inbox(person))[-1])


# ---- the pieces -----------------------------------------------------------------------------


def test_figures_follow_the_language() -> None:
    day = dt.date(2026, 12, 9)
    expected = {
        "en": ("1,250.5", "+41.7%", "€450,000", "2026-12-09"),
        "de": ("1.250,5", "+41,7\xa0%", "450.000\xa0€", "09.12.2026"),
        "fr": (f"1{NNBSP}250,5", "+41,7\xa0%", f"450{NNBSP}000\xa0€", "9 déc. 2026"),
        "es": ("1.250,5", "+41,7\xa0%", "450.000\xa0€", "9 dic 2026"),
        "pt": ("1.250,5", "+41,7%", "€\xa0450.000", "9 de dez. de 2026"),
    }
    for language, (number, pct, money, date) in expected.items():
        shown = (
            Num(1250.5).render(language),
            Pct(41.666, signed=True).render(language),
            Money(450000, "EUR").render(language),
            Day(day).render(language),
        )
        assert shown == (number, pct, money, date), language
    assert Num(None).render("de") == "—" and Money(12.5).render("de") == "12,5"
    assert str(Num(1250.5)) == "1,250.5"  # the English is the text itself


def test_a_lazy_text_is_english_and_says_itself_in_another_language() -> None:
    text = _("How does *%(project)s* taste?", project="Apollo")
    assert text == "How does *Apollo* taste?"
    assert say(text, "de") == "Wie schmeckt *Apollo*?"
    assert say(text, "fr") == "Quel goût a *Apollo* ?"
    rows = ngettext("Here is %(kind)s: %(n)s row.", "Here is %(kind)s: %(n)s rows.", 3, kind="outcomes")
    assert rows == "Here is outcomes: 3 rows." and say(rows, "pt") == "Aqui está outcomes: 3 linhas."
    joined = Cat(_("Usage:"), " ", "cost AMOUNT")
    assert say(joined, "es") == "Uso: cost AMOUNT"
    assert say("Apollo", "de") == "Apollo"  # a name stays as it was written


def test_localize_says_every_part_of_a_view() -> None:
    from handlers.checkins.views import painpoint_question

    view = localize(painpoint_question(7, "Apollo"), "de")
    assert view.title == "Was raubt Ihnen bei *Apollo* den Schlaf?"
    assert [c.label for c in view.choices] == ["Dem PMO erzählen"]
    assert view.form is not None and view.form.fields[0].label == "Was raubt Ihnen den Schlaf?"
    assert view.form.fields[1].options[-1] == ("5", "5 · raubt mir den Schlaf")
    assert view.choices[0].payload == {"checkin": 7}  # what the button carries is not words
    assert dataclasses.replace(view).to_dict() == view.to_dict()


def test_whose_language() -> None:
    assert language_of_locale("de-DE") == "de" and language_of_locale("pt_BR") == "pt"
    assert language_of_locale("ja-JP") is None and language_of_locale(None) is None
    assert choose("fr", {"slack": "de-DE"}, "en") == "fr"  # chosen with `language`
    assert choose(None, {"slack": "de-DE", "teams": "es-ES"}, "en") == "de"  # Slack before Teams
    assert choose(None, {"teams": "es-ES"}, "en") == "es"
    assert choose(None, {"slack": "ja-JP"}, "pt") == "pt"  # a locale the bot does not speak
    assert choose(None, {}, "en") == "en"


# ---- through the core -------------------------------------------------------------------------


async def test_language_fr_switches_and_the_answer_is_already_french(world: World) -> None:
    view = await world.run(world.sponsor, "language fr")
    assert view.ok and view.text == "Désormais, je vous parle en français.", view
    assert view.lines == ("Les commandes restent en anglais, par ex. 'help'.",)
    assert (await world.get(Person, world.sponsor.id)).language == "fr"
    shown = await world.run(world.sponsor, "language")
    assert shown.text == "Je vous parle en français ; c'est votre choix."
    # a refusal and a mistake in French too; the command words stay English
    refused = await world.run(world.sponsor, "cost 5")
    assert refused.text == "Désolé, 'cost' est réservé aux admins du PMO. Rien n'a été modifié."
    wrong = await world.run(world.sponsor, "pause until:soon")
    assert wrong.text == "until: 'soon' n'est pas une date (AAAA-MM-JJ)."
    assert wrong.lines == ("Utilisation : pause [until:YYYY-MM-DD]",)
    back = await world.run(world.sponsor, "language en")
    assert back.text == "From now on I speak English with you."


async def test_a_german_sponsor_gets_a_german_checkin_and_the_staff_reply_stays_english(world: World) -> None:
    await set_locale(world, world.sponsor, "de-DE")  # what Slack's users.info said
    told = await world.run(world.staff, "checkin Apollo")
    assert told.text == "Sent the taste check-in for Apollo to Sam Sponsor."
    question = await last_message(world, world.sponsor)
    assert question.title == "Wie schmeckt *Apollo*?" and question.text == "Ein Klick genügt."
    assert [c.label for c in question.choices] == [
        "😋 Köstlich",
        "🙂 Lecker",
        "😐 Fad",
        "😕 Komisch",
        "🤢 Sauer",
    ]
    [checkin] = await world.rows(Checkin)
    answered = await world.act(world.sponsor, "taste_2", {"checkin": checkin.id, "rating": 2})
    assert answered.text == "Ihre Antwort: 😕 Komisch. Danke! Sie können sie jederzeit ändern."
    assert (
        answered.form is not None and answered.form.fields[0].label == "Was würde es besser schmecken lassen?"
    )
    # the message in the sponsor's inbox was rewritten in German too
    rewritten = await last_message(world, world.sponsor)
    assert rewritten.text.startswith("Ihre Antwort: 😕 Komisch.")
    # the alert went to staff (no alert channel): Stan reads it in English
    alert = await last_message(world, world.staff)
    assert alert.text == "Sam Sponsor says Apollo tastes 😕 Off."


async def test_the_chosen_language_wins_over_the_platforms(world: World) -> None:
    await set_locale(world, world.sponsor, "de-DE")
    assert (await world.run(world.sponsor, "language es")).text == "A partir de ahora te hablo en español."
    await world.run(world.staff, "ask Apollo")
    prompt = await last_message(world, world.sponsor)
    assert prompt.title == "¿Qué te quita el sueño de *Apollo*?"
    assert [c.label for c in prompt.choices] == ["Contárselo al PMO"]


async def test_pmo_language_is_the_default(db: Database) -> None:
    world = await make_world(db)
    world.services.policy = dataclasses.replace(world.services.policy, language="pt")
    await world.run(world.staff, "language en")  # Stan chose English
    await world.run(world.staff, "checkin Apollo")
    question = await last_message(world, world.sponsor)  # Sam said nothing: the organisation's language
    assert question.title == "Que gosto tem *Apollo*?"
    assert (await world.run(world.member, "resume")).text == (
        "Desculpe, 'resume' é só para os sponsors de projeto. Nada foi alterado."
    )


async def test_a_staff_member_reading_french_sees_french_figures(world: World) -> None:
    assert (await world.run(world.staff, "language fr")).ok
    added = await world.run(
        world.staff, 'outcome add Apollo metric:"Cycle time" baseline:1250.5 target:900 unit:h due:2027-03-31'
    )
    assert added.ok, added
    assert added.text == (
        f"Objectif n° 1 ajouté à Apollo : Cycle time de 1{NNBSP}250,5 h à 900 h d'ici le 31 mars 2027."
    )
    await world.run(world.staff, "outcome update 1 current:1075.25")
    listing = await world.run(world.staff, "outcomes")
    assert listing.title == "Objectifs"
    assert listing.lines == (
        f"#1 Apollo · Cycle time: 1{NNBSP}250,5 h → 900 h, actuellement 1{NNBSP}075,25 h "
        "(50\xa0% du chemin) · échéance 31 mars 2027",
    )
    # the same figures for someone reading English
    english = await world.run(world.admin, "outcomes")
    assert english.lines == (
        "#1 Apollo · Cycle time: 1,250.5 h → 900 h, now 1,075.25 h (50% of the way) · due 2027-03-31",
    )


async def test_help_is_translated_and_keeps_the_command_words(world: World) -> None:
    await world.run(world.member, "language de")
    view = await world.run(world.member, "help")
    assert view.title == "Was Sie den PMO-Bot fragen können"
    assert "/pmo value [PROJECT] [segment:NAME] [days:N]\n    der Wertbericht" in view.lines
    assert (
        "/pmo language en|de|fr|es|pt\n    die Sprache, in der ich mit Ihnen spreche (Befehle bleiben Englisch)"
        in (view.lines)
    )


async def test_a_control_character_is_refused_in_the_callers_language(world: World) -> None:
    assert (await world.run(world.staff, "language de")).ok
    view = await world.run(world.staff, "project add Ap\x1bollo sponsor:sam@example.com")
    assert not view.ok
    said = " ".join(str(part) for part in (view.title, view.text, *view.lines))
    assert "enthält ein Steuerzeichen (U+001B)" in said and "control character" not in said
    view = await world.run(world.staff, "project add Apollo sponsor:s\x1bam@example.com")
    assert "'s\\x1bam@example.com' enthält ein Steuerzeichen (U+001B)" in " ".join(
        str(part) for part in (view.title, view.text, *view.lines)
    )


# ---- the value report, the digest and stories ----------------------------------------------------


def _section(view: View, heading: str) -> dict[str, str]:
    found = next(s for s in view.sections if s.heading == heading)
    return {f.label: f.value for f in found.facts}


async def test_a_german_staff_member_reads_the_value_report_in_german(world: World) -> None:
    assert (await world.run(world.admin, "cost 1250.5")).ok
    assert (await world.run(world.staff, "language de")).ok
    german = await world.run(world.staff, "value")
    assert german.ok, german
    assert german.title == "PMO-Wert — letzte 90 Tage"
    assert german.text == (
        "Noch nichts zu berichten: keine Antworten, Behebungen oder Nutzen in den letzten 90 Tagen."
    )
    assert [s.heading for s in german.sections][:4] == [
        "Braucht Aufmerksamkeit",
        "Stimmung",
        "Pain Points",
        "Ziele",
    ]
    assert _section(german, "Geld")["PMO-Kosten"] == "1.250,50"
    assert _section(german, "Stimmung")["Zufriedenheit (CSAT)"] == "k. A."
    assert german.lines[-1].startswith("Zeitraum: ") and german.lines[-1].endswith(" (UTC)")
    # the same report read in English is the report as it always was
    english = await world.run(world.admin, "value")
    assert english.title == "PMO value — last 90 days"
    assert _section(english, "Money")["PMO cost"] == "1,250.50"


async def test_a_german_staff_member_gets_the_value_chart_drawn_in_german(
    world: World, drawn: list[Drawing]
) -> None:
    assert (await world.run(world.staff, "language de")).ok
    german = await world.run(world.staff, "value")
    assert isinstance(german.chart, Chart) and german.chart.language == "de"
    english = await world.run(world.admin, "value")
    assert isinstance(english.chart, Chart) and english.chart.language == "en"
    assert german.chart != english.chart and german.chart.series == english.chart.series
    assert [d.language for d in drawn] == ["en", "de"]  # the admin's was kept from the first
    [words] = [d.words for d in drawn if d.language == "de"]
    assert {"Geschmacks-Check-ins nach Monat", "Antworten", "CSAT in %"} <= set(words)
    assert any(word.endswith(" bisher") for word in words)


def test_the_headline_says_its_figures_in_the_language_and_its_json_stays_english() -> None:
    from handlers.value.headline import headline

    report = {
        "scope": {},
        "window": {"days": 90},
        "satisfaction": {"csat_pct": 78.0, "delta_csat_pts": 7.4},
        "pain_points": {"resolved": 6, "measured_fixes": 3, "mean_improvement_pct": 41.7},
        "benefits": {"realized": 1_310_000, "planned": 2_400_000, "currency": "EUR", "roi_pct": 191.2},
    }
    said = headline(report)
    assert str(said) == (
        "Sponsors' satisfaction 78% (up 7.4 pts); 6 pain points fixed, 3 measured (+42% on average); "
        "€1.31M of €2.4M benefits realized; ROI +191%."
    )
    assert say(said, "de") == (
        "Zufriedenheit der Sponsoren 78\xa0% (+7,4 Pkt.); 6 Pain Points behoben, 3 gemessen (+42\xa0% im Schnitt); "
        "1,31\xa0Mio.\xa0€ von 2,4\xa0Mio.\xa0€ Nutzen realisiert; ROI +191\xa0%."
    )


async def test_a_french_recipient_gets_a_french_digest(world: World, drawn: list[Drawing]) -> None:
    assert (await world.run(world.member, "language fr")).ok
    assert (await world.run(world.staff, "digest to umember@example.com")).ok
    assert (await world.run(world.staff, "digest now")).ok
    digest = await last_message(world, world.member)
    assert digest.title == "Bilan de valeur du PMO — 30 derniers jours"
    assert digest.lines[-1] == "Le rapport complet : /pmo value (l'équipe voit aussi les commentaires)."
    assert "Points de douleur" in [s.heading for s in digest.sections]
    # the staff member who asked reads the settings in English
    settings = await world.run(world.staff, "digest")
    assert settings.title == "Value digest"
    # its chart drawn in French, in a worker thread: `digest now` says its outbox on the event loop
    assert isinstance(digest.chart, Chart) and digest.chart.language == "fr"
    [french] = [d for d in drawn if d.language != "en"]
    assert french.language == "fr" and "Check-ins de goût par mois" in french.words
    assert french.thread != threading.current_thread().name


async def test_a_story_in_spanish(world: World) -> None:
    point = await world.add_painpoint(reported_at=dt.datetime(2026, 3, 1, 9))
    assert (await world.run(world.staff, f'painpoint {point.id} metric:"Days late" baseline:10')).ok
    assert (await world.run(world.staff, f'painpoint resolve {point.id} after:4 fix:"A second supplier"')).ok
    assert (await world.run(world.staff, "language es")).ok
    story = await world.run(world.staff, f"story {point.id}")
    assert story.ok, story
    assert story.title == f"📖 Historia del punto de dolor #{point.id} en *Apollo*"
    facts = {f.label: f.value for f in story.facts}
    assert facts["Proyecto"] == "Apollo (segmento Space)"
    assert facts["Qué se hizo"] == "A second supplier"
    assert facts["Medida"] == "Days late: 10 → 4 (+60,0\xa0%, más bajo es mejor)"
    assert facts["Estado"].startswith("resuelto el ")
    assert story.lines[0] == "No se anotó ningún paso."
