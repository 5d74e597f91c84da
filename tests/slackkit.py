"""The real web server (`python app.py serve --no-scheduler`) against the fake Slack, for crash and
overload tests (tests/e2e/test_slack_crash.py).

`seed_checkins()` builds on clockkit's bulk `seed()`: sponsors with a project each, plus one open,
sent taste check-in per sponsor whose Slack message is known to the fake (so an answer rewrites it
with chat.update, as in bench/slack_interactions.py). `BotServer` is clockkit's `ClockProcess` with
the `serve` command and a port of its own. `rating_click()` and `help_command()` are the signed
bodies Slack would post; `post()` sends one and keeps the status, the body and how long it took.
"""

from __future__ import annotations

import datetime as dt
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from sqlalchemy import func, insert, select, update

from storage.db import Database, utcnow
from storage.models import Answer, Checkin, Identity, InboxJob, Project
from tests.clockkit import ADMIN, CHUNK, SIGNING_SECRET, ClockProcess, clock_env, seed
from tests.fakes.slack_api import FakeSlack, Message, dm_channel
from tests.fakes.slack_signing import block_action, command_body, interaction_body, signed_headers


@dataclass(frozen=True)
class Target:
    """One open taste check-in: who may answer it, and the Slack message that shows it."""

    user: str
    checkin: int
    channel: str
    ts: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seed_checkins(db: Database, slack: FakeSlack, count: int) -> list[Target]:
    """`count` sponsors, each with one open taste check-in sent to their DM (message in the fake)."""
    await seed(db, count, dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=3))
    sent = utcnow() - dt.timedelta(hours=1)
    async with db.transaction() as session:
        # identities known and fresh, so answering asks Slack nothing (users.info) first
        await session.execute(update(Identity).values(refreshed_at=utcnow()))
        rows = (
            await session.execute(
                select(Project.id, Project.org_id, Project.sponsor_id, Identity.external_id)
                .join(Identity, Identity.person_id == Project.sponsor_id)
                .where(Identity.platform == "slack")
                .order_by(Project.id)
            )
        ).all()
        start = int(await session.scalar(select(func.coalesce(func.max(Checkin.id), 0))) or 0) + 1
        targets, values = [], []
        for i, row in enumerate(rows):
            channel, ts = dm_channel(row.external_id), f"1600000000.{i:06d}"
            targets.append(Target(row.external_id, start + i, channel, ts))
            values.append(
                {
                    "id": start + i,
                    "org_id": row.org_id,
                    "project_id": row.id,
                    "sponsor_id": row.sponsor_id,
                    "kind": "taste",
                    "occurrence": sent,
                    "status": "open",
                    "sent_at": sent,
                    "message_refs": {"slack": {"platform": "slack", "channel": channel, "ts": ts}},
                }
            )
        for offset in range(0, len(values), CHUNK):
            await session.execute(insert(Checkin), values[offset : offset + CHUNK])
    if not db.is_sqlite:  # explicit ids: move the sequence past them
        async with db.transaction() as session:
            await session.execute(
                select(func.setval("checkins_id_seq", select(func.max(Checkin.id)).scalar_subquery()))
            )
    for target in targets:
        slack.messages[(target.channel, target.ts)] = Message(
            target.channel, target.ts, "How does Project taste?", None, "T0001"
        )
    return targets


def bot_env(database_url: str, slack: FakeSlack, port: int) -> dict[str, str]:
    """The web process's environment: clockkit's (token, signing secret, fake API, admin) and a port."""
    return {**clock_env(database_url, slack.url, None), "HOST": "127.0.0.1", "PORT": str(port)}


class BotServer(ClockProcess):
    """`python app.py serve --no-scheduler` as a child process on a port of its own."""

    def __init__(self, database_url: str, slack: FakeSlack, cwd: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(bot_env(database_url, slack, self.port), cwd, "--no-scheduler", command="serve")

    async def ready(self, within: float = 60.0) -> BotServer:
        await self.wait_for_line("listening on", within)
        return self

    @property
    def peak_mb(self) -> float:
        return self.peak_rss_kb / 1024


def rating_click(slack: FakeSlack, target: Target, rating: int, key: str) -> tuple[bytes, dict[str, str]]:
    """A signed click on the check-in's `taste_N` button; its ephemeral answers go to `key`."""
    payload = block_action(
        f"taste_{rating}",
        {"checkin": target.checkin, "rating": rating},
        user_id=target.user,
        channel_id=target.channel,
        message_ts=target.ts,
        response_url=slack.response_url(key),
        trigger_id=f"trigger-{key}",
    )
    body = interaction_body(payload)
    return body.encode(), signed_headers(SIGNING_SECRET, body)


def help_command(slack: FakeSlack, key: str, user: str = ADMIN) -> tuple[bytes, dict[str, str]]:
    """A signed `/pmo help`, answered through the response_url `key`."""
    body = command_body("help", user_id=user, response_url=slack.response_url(key))
    return body.encode(), signed_headers(SIGNING_SECRET, body)


@dataclass
class Posted:
    status: int
    text: str
    seconds: float


async def post(http: aiohttp.ClientSession, url: str, signed: tuple[bytes, dict[str, str]]) -> Posted:
    body, headers = signed
    started = time.perf_counter()
    async with http.post(url + "/slack/events", data=body, headers=headers) as response:
        text = await response.text()
        return Posted(response.status, text, time.perf_counter() - started)


# ---- what the database holds ------------------------------------------------------------------


async def answered(db: Database, ids: list[int] | None = None) -> dict[int, int]:
    """Check-in id → its rating, for the answered ones (among `ids`)."""
    query = select(Checkin.id, Checkin.rating).where(Checkin.rating.is_not(None))
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    wanted = None if ids is None else set(ids)
    return {row.id: row.rating for row in rows if wanted is None or row.id in wanted}


async def answers(db: Database) -> int:
    """Answer rows: one per answer ever stored (a changed rating adds one)."""
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Answer)) or 0)


async def inbox_rows(db: Database) -> dict[str, int]:
    """Inbox rows by state (every state, `failed` included)."""
    async with db.sessions() as session:
        rows = await session.execute(select(InboxJob.state, func.count()).group_by(InboxJob.state))
        return {state: count for state, count in rows}


async def lease_left(db: Database) -> tuple[float, float] | None:
    """Seconds until the first and the last lease of the inbox's held rows ends (None: no held row)."""
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(func.min(InboxJob.lease_until), func.max(InboxJob.lease_until)).where(
                    InboxJob.lease_until.is_not(None)
                )
            )
        ).first()
    if row is None or row[0] is None:
        return None
    now = utcnow()
    return (row[0] - now).total_seconds(), (row[1] - now).total_seconds()
