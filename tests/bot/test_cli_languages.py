"""app.py in the organisation's language (PMO_LANGUAGE): its listings, its reports, its own sentences.

Real processes on a real SQLite file, as tests/bot/test_cli.py runs them; the English of every
command is what those tests (and tests/bot/test_webhooks_cli.py) check.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from storage.db import Database
from storage.models import Delivery
from storage.queries import get_or_create_org
from tests.bot.test_cli import assert_one_line_error, run
from tests.bot.test_webhooks_cli import URL
from tests.bot.test_webhooks_cli import _seed as seed_webhook_events

pytestmark = pytest.mark.sqlite_only

GERMAN = {"PMO_LANGUAGE": "de"}
FRENCH = {"PMO_LANGUAGE": "fr"}
MARCH = dt.datetime(2026, 3, 10, 9, 0)


async def _seed_deliveries(path: Path) -> None:
    """Two digests the clock handled: one to Slack's channel failed after three tries, one sent."""
    db = Database(f"sqlite:///{path}")
    try:
        async with db.transaction() as session:
            org = await get_or_create_org(session)
            for recipient, status, attempts, error, sent_at in (
                ("channel:slack", "failed", 3, "channel_not_found", None),
                ("channel:teams", "sent", 1, None, MARCH + dt.timedelta(minutes=1)),
            ):
                session.add(
                    Delivery(
                        org_id=org.id, kind="digest", occurrence=MARCH, status=status, claimed_at=MARCH,
                        attempts=attempts, error=error, sent_at=sent_at, slot=recipient, recipient=recipient,
                    )
                )  # fmt: skip
    finally:
        await db.dispose()


def test_deliveries_are_listed_in_german_and_their_times_stay_iso(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate").returncode == 0
    asyncio.run(_seed_deliveries(tmp_path / "pmo.db"))
    listed = run(tmp_path, "deliveries", env=GERMAN)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "Zustellungen (die 2 neuesten)"
    assert re.search(r"^FEHLGESCHLAGEN +1$", listed.stdout, re.MULTILINE)
    assert re.search(r"^gesendet +1$", listed.stdout, re.MULTILINE)
    assert (
        "2026-03-10 09:00 UTC · digest · Wertbericht → der Kanal auf slack · "
        "FEHLGESCHLAGEN nach 3 Versuchen · channel_not_found"
    ) in lines
    assert "2026-03-10 09:01 UTC · digest · Wertbericht → der Kanal auf teams · gesendet" in lines
    failed = run(tmp_path, "deliveries", "--failed", env=GERMAN)
    assert failed.stdout.splitlines()[0] == "Fehlgeschlagene Zustellungen (1, die neueste)"
    assert "teams" not in failed.stdout
    english = run(tmp_path, "deliveries").stdout.splitlines()
    assert english[0] == "Deliveries (2 newest)"
    assert (
        "2026-03-10 09:00 UTC · digest · value digest → the channel on slack · "
        "FAILED after 3 tries · channel_not_found"
    ) in english


def test_an_empty_ledger_says_so_in_french(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate").returncode == 0
    listed = run(tmp_path, "deliveries", "--failed", env=FRENCH)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == ["Envois échoués (aucun)", "", "Rien à afficher."]


def test_webhook_events_are_listed_in_german(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate").returncode == 0
    asyncio.run(seed_webhook_events(tmp_path / "pmo.db"))
    env = {**GERMAN, "PMO_WEBHOOK_URL": URL, "PMO_WEBHOOK_SECRET": "s3cret"}
    listed = run(tmp_path, "webhooks", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "Webhook-Ereignisse (die 3 neuesten)"
    assert re.search(r"^zugestellt +1$", listed.stdout, re.MULTILINE)
    assert any(
        line.endswith(
            "painpoint.resolved · fehlgeschlagen · 40 Versuche · letzter Fehler: HTTP 500 Internal Server Error"
        )
        for line in lines
    )
    assert any(
        re.search(
            r"answer\.recorded · zugestellt · 1 Versuch · zugestellt \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$",
            line,
        )
        for line in lines
    )
    assert any("painpoint.reported · ausstehend · 3 Versuche · nächster Versuch 20" in line for line in lines)
    off = run(tmp_path, "webhooks", "--failed", env=GERMAN)
    assert off.returncode == 0
    assert off.stdout.startswith(
        "Webhooks sind aus (PMO_WEBHOOK_URL und PMO_WEBHOOK_SECRET sind nicht gesetzt)"
    )
    assert "Fehlgeschlagene Webhook-Ereignisse (1, das neueste)" in off.stdout


def test_import_says_in_german_what_it_did_and_which_lines_are_bad(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "name,sponsor,segment,cadence,day,time\n"
        "Fine,cy@example.com,Ops,weekly,mon,09:00\n"
        "Broken,dee@example.com,Ops,hourly,mon,09:00\n"
        "Worse,eve@example.com,Ops,weekly,funday,09:00\n",
        encoding="utf-8",
    )
    refused = run(tmp_path, "import", "projects", str(bad), env=GERMAN)
    assert refused.returncode == 1
    said = refused.stderr.splitlines()
    assert said[0].startswith(f"{bad}: Zeile 3: ") and said[1].startswith(f"{bad}: Zeile 4: ")
    assert said[-1] == "Es wurde nichts importiert: 2 fehlerhafte Zeilen."
    good = tmp_path / "good.csv"
    good.write_text(
        "name,sponsor,segment,cadence,day,time\nFine,cy@example.com,Ops,weekly,mon,09:00\n", encoding="utf-8"
    )
    imported = run(tmp_path, "import", "projects", str(good), env=GERMAN)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == "projects importiert: 1 neu, 0 aktualisiert, 0 unverändert.\n"
    out = tmp_path / "out.csv"
    exported = run(tmp_path, "export", "projects", "--out", str(out), env=GERMAN)
    assert exported.stderr == f"1 Zeile (projects) in {out} geschrieben.\n"


def test_what_cannot_be_imported_is_one_german_line_before_the_database_is_opened(tmp_path: Path) -> None:
    missing = run(tmp_path, "import", "projects", "missing.csv", env=GERMAN)
    assert_one_line_error(missing, 2)
    assert missing.stderr == "app.py import: Datei nicht gefunden: missing.csv\n"
    assert not (tmp_path / "pmo.db").exists()
    utf16 = tmp_path / "excel.csv"
    utf16.write_bytes("name,sponsor\n".encode("utf-16"))
    refused = run(tmp_path, "import", "projects", str(utf16), env=FRENCH)
    assert_one_line_error(refused, 1)
    assert "est un texte UTF-16 ; enregistrez-le au format CSV UTF-8" in refused.stderr


def test_value_prints_german_and_french_figures_and_words_and_its_json_stays(tmp_path: Path) -> None:
    assert run(tmp_path, "pmo", "cost", "1234.5").returncode == 0
    german = run(tmp_path, "value", env=GERMAN)
    assert german.returncode == 0, german.stderr
    assert german.stdout.startswith("PMO-Wert — letzte 90 Tage\n")
    assert re.search(r"^PMO-Kosten +1\.234,50$", german.stdout, re.MULTILINE)
    french = run(tmp_path, "value", env=FRENCH)
    assert re.search(r"^Coût du PMO +1\s234,50$", french.stdout, re.MULTILINE)
    assert json.loads(run(tmp_path, "value", "--json", env=GERMAN).stdout) == json.loads(
        run(tmp_path, "value", "--json").stdout
    )
    unknown = run(tmp_path, "value", "--project", "Nope", env=GERMAN)
    assert_one_line_error(unknown, 1)
    assert unknown.stderr == "app.py value: es gibt kein Projekt namens „Nope“\n"


def test_digest_prints_german(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate").returncode == 0
    digest = run(tmp_path, "digest", "--days", "7", env=GERMAN)
    assert digest.returncode == 0, digest.stderr
    lines = digest.stdout.splitlines()
    assert lines[0] == "PMO-Wertbericht — letzte 7 Tage"
    assert lines[-1] == "Der vollständige Bericht: /pmo value (Mitarbeitende sehen auch die Kommentare)."
    assert re.search(r"^Antworten +0$", digest.stdout, re.MULTILINE)


def test_demo_and_migrate_speak_german(tmp_path: Path) -> None:
    migrated = run(tmp_path, "migrate", env=GERMAN)
    assert migrated.stdout.startswith("Das Datenbankschema ist auf dem neuesten Stand (")
    loaded = run(tmp_path, "demo", "--no-serve", env=GERMAN)
    assert loaded.returncode == 0, loaded.stderr
    assert re.fullmatch(
        r"Demo-Organisation geladen: \d+ Projekte, \d+ Personen, \d+ Check-ins, \d+ Pain Points, \d+ Ziele\.\n",
        loaded.stdout,
    )
    again = run(tmp_path, "demo", "--no-serve", env=GERMAN)
    assert again.stdout == "Die Demo-Organisation ist bereits in dieser Datenbank.\n"


def test_each_bad_rows_reason_is_said_in_german_with_its_line(tmp_path: Path) -> None:
    """The reasons, not only their frame: what people typed stays as typed, in quotes, and the
    file's own words (column names, kinds, allowed values) stay the file's."""
    projects = tmp_path / "projects.csv"
    projects.write_text(
        "name,sponsor,segment,cadence,day,time\n"
        "Known,cy@example.com,Ops,weekly,mon,09:00\n"
        "Hourly,dee@example.com,Ops,hourly,mon,9h\n",
        encoding="utf-8",
    )
    refused = run(tmp_path, "import", "projects", str(projects), env=GERMAN)
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"{projects}: Zeile 3: cadence 'hourly' ist keiner dieser Werte: weekly, biweekly, monthly, quarterly, off",
        f"{projects}: Zeile 3: time '9h' ist nicht im Format HH:MM (00:00–23:59)",
        "Es wurde nichts importiert: 2 fehlerhafte Zeilen.",
    ]
    projects.write_text("name,sponsor,segment,cadence,day,time\nKnown,cy@example.com,Ops,weekly,mon,09:00\n")
    assert run(tmp_path, "import", "projects", str(projects), env=GERMAN).returncode == 0
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text(
        "project,metric,unit,baseline,target,current,benefit,due\n"
        "Known,Cycle time,days,ten,5,,,\n"
        "Known,Lead time,days,10,5,,,2026-13-01\n"
        "Ghost,Defects,,10,2,,,\n"
        "Known,Cost,,,,,\n",
        encoding="utf-8",
    )
    refused = run(tmp_path, "import", "outcomes", str(outcomes), env=GERMAN)
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"{outcomes}: Zeile 2: baseline 'ten' ist keine Zahl",
        f"{outcomes}: Zeile 3: due '2026-13-01' ist kein Datum (JJJJ-MM-TT)",
        f"{outcomes}: Zeile 4: Projekt 'Ghost' gibt es nicht (importieren Sie zuerst die projects)",
        f"{outcomes}: Zeile 5: hat 7 Felder, erwartet werden 8 "
        "(project,metric,unit,baseline,target,current,benefit,due)",
        "Es wurde nichts importiert: 4 fehlerhafte Zeilen.",
    ]
    english = run(tmp_path, "import", "outcomes", str(outcomes))
    assert english.stderr.splitlines()[:3] == [
        f"{outcomes}: line 2: baseline 'ten' is not a number",
        f"{outcomes}: line 3: due '2026-13-01' is not a date (YYYY-MM-DD)",
        f"{outcomes}: line 4: project 'Ghost' does not exist (import projects first)",
    ]
    header = tmp_path / "header.csv"
    header.write_text("project,sponsor,sent_at,answered_at,rating,comment\n", encoding="utf-8")
    refused = run(tmp_path, "import", "outcomes", str(header), env=FRENCH)
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"{header} : ligne 1 : l'en-tête doit être exactement "
        "project,metric,unit,baseline,target,current,benefit,due (on dirait un fichier responses)",
        "Rien n'a été importé : 1 ligne incorrecte.",
    ]
