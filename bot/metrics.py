"""What GET /metrics says (Prometheus' text format), from a registry of this runtime's own.

Two kinds of figures:

- **This process's**, kept as it runs: requests and acknowledgement latency per platform
  (bot/observe.py times every HTTP request and every Socket Mode request), the durable work held
  in memory, the database pool, whether the clock running here leads, and the process itself.
- **The database's**, read when Prometheus scrapes (storage/gauges.py, bot/clock/leaders.py):
  check-ins of the last 24 h, deliveries pending, the inbox, the webhook backlog, how many clocks
  lead. Every web process reports the same values for these, so several can be scraped at once
  (aggregate them with `max`, not `sum`). They are never kept between scrapes, so they cannot go
  stale, and a clock process, which serves no HTTP, is still seen.

A source that fails or takes longer than `SOURCE_BUDGET` (the database is down) does not fail
the scrape: its figures are left out, `pmo_scrape_source_up{source=…}` says 0 (and
`pmo_database_up` 0 for the database's), and the answer is still 200 with everything else.

The registry is the runtime's, never prometheus_client's global one, so two runtimes in one
process (tests) count apart. A source is registered with `add_source`; the webhook backlog is
part of the database source and appears once its table (`webhook_events`) exists.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from storage.db import Database, utcnow
from storage.gauges import read_gauges

log = logging.getLogger(__name__)

# Slack wants its acknowledgement within 3 s; the buckets are fine below it and around it.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 10.0)
SOURCE_BUDGET = 2.0  # seconds a scrape waits for one source (the database) before leaving it out
WINDOW = dt.timedelta(hours=24)  # the check-ins counted
Source = Callable[[], Awaitable[Iterable[Metric]]]


class _Leading(Protocol):
    leading: bool


class _Work(Protocol):
    @property
    def pending(self) -> int: ...


@dataclass
class Seen:
    """One request being handled: its status once known (500 until then)."""

    status: int = 500


class _Families:
    """A fixed list of families, shaped as generate_latest wants its registry."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


class _Pool:
    """The database pool, read when scraped: size, checked out, overflow in use, and capacity."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        pool: Any = self.db.engine.pool
        figures = {
            "size": "connections the pool keeps open",
            "checked_out": "connections in use now",
            "overflow": "connections opened beyond the pool's size, in use now",
            "capacity": "connections the pool may hand out at most (size + max overflow)",
        }
        size = pool.size() if hasattr(pool, "size") else 0
        values = {
            "size": size,
            "checked_out": pool.checkedout() if hasattr(pool, "checkedout") else 0,
            "overflow": max(0, pool.overflow()) if hasattr(pool, "overflow") else 0,
            "capacity": size + max(0, getattr(pool, "_max_overflow", 0)),
        }
        for key, about in figures.items():
            yield GaugeMetricFamily(f"pmo_db_pool_{key}", f"Database pool: {about}.", value=values[key])


class Metrics:
    """One runtime's metrics: the process's instruments, plus the sources read at scrape time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pmo_requests",
            "Requests handled, per platform (slack, teams, console, api, server), transport "
            "(http, socket), route and HTTP status.",
            ["platform", "transport", "route", "status"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "pmo_ack_seconds",
            "Seconds from a platform's request (a click, command, form, activity) arriving to its "
            "acknowledgement being ready.",
            ["platform", "transport"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._sources: dict[str, Source] = {}
        self._up: dict[str, bool] = {}
        self._leading: Gauge | None = None

    # ---- what this process does ----------------------------------------------------------

    @contextmanager
    def handling(self, platform: str, transport: str, route: str, *, ack: bool) -> Iterator[Seen]:
        """Around one request: counted with its status, and timed when it is an acknowledgement."""
        seen, started = Seen(), time.perf_counter()
        try:
            yield seen
        finally:
            self.requests.labels(platform, transport, route, str(seen.status)).inc()
            if ack:
                self.ack_seconds.labels(platform, transport).observe(time.perf_counter() - started)

    def watch_database(self, db: Database) -> None:
        """The pool (this process's) and the database's counts (everyone's), from now on."""
        self.registry.register(_Pool(db))
        self.add_source("database", lambda: _database_families(db))

    def watch_work(self, work: _Work) -> None:
        Gauge(
            "pmo_work_in_memory",
            "Durable jobs this process accepted and has not finished (the rest wait in the inbox table).",
            registry=self.registry,
        ).set_function(lambda: work.pending)

    def watch_clock(self, clock: _Leading) -> None:
        """This process runs a clock: pmo_clock_leading says whether it leads (1) or waits (0)."""
        if self._leading is None:
            self._leading = Gauge(
                "pmo_clock_leading",
                "1 while the clock in this process leads, 0 while it waits.",
                registry=self.registry,
            )
        self._leading.set_function(lambda: 1.0 if clock.leading else 0.0)

    def add_source(self, name: str, source: Source) -> None:
        """Families read afresh at every scrape (from the database, say); a failing one is left out."""
        self._sources[name] = source

    # ---- a scrape ------------------------------------------------------------------------

    async def exposition(self) -> bytes:
        """The text format: this process's instruments, then every source that answered in time."""
        families: list[Metric] = []
        up = GaugeMetricFamily(
            "pmo_scrape_source_up",
            "1 when the source answered this scrape, 0 when it failed.",
            labels=["source"],
        )
        for name, source in self._sources.items():
            try:
                async with asyncio.timeout(SOURCE_BUDGET):
                    got = list(await source())
            except Exception as exc:  # noqa: BLE001 - a source down leaves its figures out, nothing more
                self._note(name, ok=False, why=type(exc).__name__)
                up.add_metric([name], 0)
                continue
            self._note(name, ok=True)
            up.add_metric([name], 1)
            families += got
        if "database" in self._sources:
            families.append(
                GaugeMetricFamily(
                    "pmo_database_up",
                    "1 when the database answered this scrape's counts, 0 when it did not.",
                    value=1.0 if self._up.get("database") else 0.0,
                )
            )
        families.append(up)
        return generate_latest(self.registry) + generate_latest(_Families(families))

    def _note(self, name: str, *, ok: bool, why: str = "") -> None:
        """Log a source going down or coming back once, not at every scrape."""
        if self._up.get(name, True) and not ok:
            log.warning(
                "metrics: %s could not be read (%s); its figures are left out until it answers", name, why
            )
        elif not self._up.get(name, True) and ok:
            log.info("metrics: %s answers again", name)
        self._up[name] = ok


async def _database_families(db: Database) -> list[Metric]:
    now = utcnow()
    async with db.transaction() as session:
        gauges = await read_gauges(session, now, WINDOW)
    checkins = GaugeMetricFamily(
        "pmo_checkins_24h",
        "Check-ins of the last 24 h by kind (taste, painpoint) and state: sent (claimed and not "
        "failed), answered (answered in the window), failed (could not be delivered).",
        labels=["kind", "state"],
    )
    for (kind, state), n in sorted(gauges.checkins.items()):
        checkins.add_metric([kind, state], n)
    inbox = GaugeMetricFamily(
        "pmo_inbox_jobs", "Jobs in the durable inbox by state (new, applied, sent, failed).", labels=["state"]
    )
    for state, n in sorted(gauges.inbox.items()):
        inbox.add_metric([state], n)
    families: list[Metric] = [
        checkins,
        GaugeMetricFamily(
            "pmo_deliveries_pending",
            "Scheduled sends claimed in the delivery ledger and not yet recorded as sent or failed.",
            value=gauges.deliveries_pending,
        ),
        GaugeMetricFamily(
            "pmo_deliveries_lease_expired",
            "Pending sends whose lease ran out (a clock died while sending; the leader takes them over).",
            value=gauges.deliveries_expired,
        ),
        GaugeMetricFamily(
            "pmo_deliveries_oldest_pending_seconds",
            "Age of the oldest pending send's claim (0 when none is pending).",
            value=gauges.oldest_claim_seconds,
        ),
        inbox,
        GaugeMetricFamily(
            "pmo_inbox_oldest_seconds",
            "Age of the oldest inbox job not failed (0 when the inbox is empty).",
            value=gauges.oldest_inbox_seconds,
        ),
    ]
    webhooks = GaugeMetricFamily(
        "pmo_webhook_events",
        "Webhook events not delivered, by state: pending (waiting or being retried), failed (given up).",
        labels=["state"],
    )
    for state, n in sorted(gauges.webhooks.items()):
        webhooks.add_metric([state], n)
    families += [
        webhooks,
        GaugeMetricFamily(
            "pmo_webhook_oldest_due_seconds",
            "How long the longest-waiting pending webhook event has been due (0 when none is).",
            value=gauges.oldest_webhook_due_seconds,
        ),
    ]
    return families


def leaders_source(count: Callable[[], Awaitable[int]]) -> Source:
    """pmo_clock_leaders from a function that counts the clocks leading against the database."""

    async def families() -> list[Metric]:
        return [
            GaugeMetricFamily(
                "pmo_clock_leaders",
                "Clocks leading against this database, seen from the database (1 is right; 0 means "
                "no check-in is sent).",
                value=await count(),
            )
        ]

    return families
