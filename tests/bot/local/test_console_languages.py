"""Languages through the console's JSON API (CONTRACT section 12): `language` switches what a
person reads in the console, check-ins in their inbox included, and figures follow it."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp.test_utils import TestClient

from handlers.charts import Chart, chart_of
from tests.bot.local.test_console_api import SAM, act, admin_id, client, command, inbox, people, runtime
from tests.handlers.test_charts import Drawing, drawn

__all__ = ["client", "drawn", "runtime"]  # the console fixtures; the one that watches charts drawn


async def test_language_de_switches_the_console_and_the_checkin_in_the_inbox(client: TestClient) -> None:
    admin = await admin_id(client)
    assert (await command(client, admin, f"project add Apollo sponsor:{SAM}"))["ok"]
    sam = (await people(client))["Sam"]["id"]
    switched = await command(client, sam, "language de")
    assert switched["ok"] and switched["text"] == "Ab jetzt spreche ich Deutsch mit Ihnen."
    sent = await command(client, admin, "checkin Apollo")
    assert sent["text"] == "Sent the taste check-in for Apollo to Sam."  # the admin reads English
    [message] = await inbox(client, sam)
    view: dict[str, Any] = message["view"]
    assert view["title"] == "Wie schmeckt *Apollo*?"
    assert [c["label"] for c in view["choices"]] == [
        "😋 Köstlich",
        "🙂 Lecker",
        "😐 Fad",
        "😕 Komisch",
        "🤢 Sauer",
    ]
    tasty = next(c for c in view["choices"] if c["label"] == "🙂 Lecker")
    answered = await act(client, sam, tasty["action"], tasty["payload"])
    assert answered["text"] == "Ihre Antwort: 🙂 Lecker. Danke! Sie können sie jederzeit ändern."
    assert answered["form"]["fields"][0]["label"] == "Was schmeckt Ihnen am besten?"
    assert (await command(client, admin, "language de"))["ok"]
    cost = await command(client, admin, "cost 1250000")
    assert (
        cost["text"]
        == "Die bisherigen Kosten des PMO liegen jetzt bei 1.250.000; der ROI in 'value' rechnet damit."
    )


async def test_a_german_reader_gets_the_value_chart_in_german(
    client: TestClient, drawn: list[Drawing]
) -> None:
    admin = await admin_id(client)
    assert (await command(client, admin, f"project add Apollo sponsor:{SAM}"))["ok"]
    assert (await command(client, admin, "checkin Apollo"))["ok"]
    assert (await command(client, admin, "language de"))["ok"]
    report = await command(client, admin, "value")
    assert report["chart_alt"].startswith("CSAT nach Monat")
    source = report["chart_source"]
    assert source["language"] == "de"
    chart = Chart.restore(base64.b64decode(report["chart"]), source)
    assert isinstance(chart, Chart)
    assert chart == chart_of(chart.series, "de") != chart_of(chart.series, "en")
    [words] = [d.words for d in drawn if d.language == "de"]
    assert {"Geschmacks-Check-ins nach Monat", "Antworten", "CSAT in %"} <= set(words)
