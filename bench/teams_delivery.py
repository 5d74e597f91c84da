"""Teams: how fast a command is answered, and how fast sends go out under the pacing.

Runs the real bot (SQLite in a temporary folder) against the fake Bot Framework of the tests, over
real HTTP on 127.0.0.1, with token validation on. Measures:

1. `help` posted to /api/messages with a signed token, answered through the fake connector:
   latency per activity (the Bot Framework waits for this before it shows the answer);
2. one message to each of 60 sponsors of one tenant, all at once: what the tenant pacing lets
   through per second (Teams allows 30);
3. 20 messages to one sponsor at once: what the conversation pacing lets through (Teams allows 7/s).

Usage: python bench/teams_delivery.py [--write]   (--write appends the results to bench/RESULTS.md)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.views import View  # noqa: E402
from tests.bot.teams.conftest import APP_ID, APP_PASSWORD, make_world  # noqa: E402
from tests.fakes.bot_connector import FakeBotFramework, TokenSigner  # noqa: E402


def most_in_any_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


async def main() -> dict[str, float]:
    signer = TokenSigner()
    fake = FakeBotFramework(signer, app_id=APP_ID, app_password=APP_PASSWORD, require_token=True).start()
    with tempfile.TemporaryDirectory() as folder:
        world, client = await make_world(f"sqlite:///{folder}/bench.db", fake, signer)
        try:
            users = [
                await world.installed(
                    world.user(f"{i:x}", f"Sponsor {i}", email=f"sponsor{i}@contoso.example")
                )
                for i in range(60)
            ]
            latencies = []
            for n in range(100):  # round robin: one person's chat is paced like any conversation
                activity = world.message(users[n % len(users)], "help")
                started = time.perf_counter()
                await world.say(activity)
                latencies.append((time.perf_counter() - started) * 1000)

            messenger = world.runtime.services.messenger
            org = world.runtime.org_id
            async with world.runtime.db.sessions() as session:
                from sqlalchemy import select

                from storage.models import Identity

                people = list(
                    await session.scalars(select(Identity.person_id).where(Identity.platform == "teams"))
                )
            mark = time.monotonic()
            started = time.perf_counter()
            await asyncio.gather(*(messenger.send_direct(org, p, View(text="check-in")) for p in people))
            fan_out = time.perf_counter() - started
            tenant_calls = [c.at for c in fake.connector_calls("POST") if c.at >= mark]

            mark = time.monotonic()
            started = time.perf_counter()
            await asyncio.gather(
                *(messenger.send_direct(org, people[0], View(text=f"n{i}")) for i in range(20))
            )
            one = time.perf_counter() - started
            one_calls = [c.at for c in fake.connector_calls("POST") if c.at >= mark]
        finally:
            await client.close()
            await world.runtime.db.dispose()
            fake.stop()
    return {
        "help_median_ms": statistics.median(latencies),
        "help_p95_ms": sorted(latencies)[94],
        "fan_out_messages": len(tenant_calls),
        "fan_out_seconds": fan_out,
        "fan_out_rate": len(tenant_calls) / fan_out,
        "tenant_max_per_second": most_in_any_window(tenant_calls, 1.0),
        "one_messages": len(one_calls),
        "one_seconds": one,
        "one_max_per_second": most_in_any_window(one_calls, 1.0),
        "one_max_per_2_seconds": most_in_any_window(one_calls, 2.0),
    }


def report(r: dict[str, float]) -> str:
    return f"""
## Teams (issue 4): answering and pacing

`python bench/teams_delivery.py` — {dt.date.today().isoformat()}, {platform.machine()} {os.cpu_count()} cores,
Python {platform.python_version()}, SQLite, fake Bot Framework on 127.0.0.1 (tokens validated).

| measure | result | Teams' limit | ratio |
|---|---|---|---|
| `help` via /api/messages, median / p95 (100 activities) | {r["help_median_ms"]:.1f} ms / {r["help_p95_ms"]:.1f} ms | 15 s before Teams gives up | |
| one message to each of 60 sponsors of a tenant | {r["fan_out_seconds"]:.2f} s, {r["fan_out_rate"]:.1f}/s | 30/s per tenant | {r["fan_out_rate"] / 30:.2f} |
| most sends to the tenant in any 1 s | {r["tenant_max_per_second"]} | 30 | {r["tenant_max_per_second"] / 30:.2f} |
| 20 messages to one sponsor | {r["one_seconds"]:.2f} s | 7/s, 8 per 2 s | |
| most to one conversation in any 1 s / any 2 s | {r["one_max_per_second"]} / {r["one_max_per_2_seconds"]} | 7 / 8 | {r["one_max_per_second"] / 7:.2f} / {r["one_max_per_2_seconds"] / 8:.2f} |
"""


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="append the results to bench/RESULTS.md")
    results = asyncio.run(main())
    text = report(results)
    print(text)
    if parser.parse_args().write:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as out:
            out.write(text)
