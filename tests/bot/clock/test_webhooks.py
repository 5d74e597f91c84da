"""Webhook delivery against a real receiver on 127.0.0.1: signed, retried, in order, never twice at once.

The events come from real use cases (staff commands, a sponsor's clicks) through `tests.helpers`'
world; the sender is the one the clock runs (bot/clock/webhooks.py) with short back-offs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.clock.webhooks import WebhookPolicy, WebhookSender, sign
from handlers.webhooks.events import turn_on
from handlers.webhooks.queue import listing, webhook_backlog
from storage.db import Database
from storage.models import Checkin, PainPoint, WebhookEvent
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers import World, make_world

SECRET = "whsec-test-0123456789"
QUICK = WebhookPolicy(timeout=2.0, first_retry=0.05, max_retry=0.2, poll=0.05)


@pytest.fixture
async def world(db: Database) -> World:
    world = await make_world(db)
    turn_on(db)
    return world


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(SECRET) as fake:
        yield fake


@pytest.fixture
async def sender(world: World, receiver: WebhookReceiver) -> AsyncIterator[WebhookSender]:
    sender = await started(world.db, receiver, QUICK)
    yield sender
    await sender.stop()


async def started(db: Database, receiver: WebhookReceiver, policy: WebhookPolicy, **kw: Any) -> WebhookSender:
    sender = WebhookSender(db, receiver.url, SECRET, policy, **kw)
    await sender.start()
    return sender


async def notes(world: World, point: PainPoint, count: int, prefix: str = "step") -> None:
    for n in range(count):
        assert (await world.run(world.staff, f'painpoint {point.id} note:"{prefix} {n}"')).ok


async def rows(world: World) -> list[WebhookEvent]:
    return await world.rows(WebhookEvent)


async def until(
    world: World, check: Callable[[list[WebhookEvent]], bool], within: float = 30.0
) -> list[WebhookEvent]:
    """Wait until the outbox's rows pass `check` (a database cannot be awaited: asked every 50 ms)."""
    async with asyncio.timeout(within):
        while True:
            found = await rows(world)
            if check(found):
                return found
            await asyncio.sleep(0.05)


async def settled(world: World, within: float = 30.0) -> list[WebhookEvent]:
    """Wait until no event is pending."""
    return await until(world, lambda found: all(e.state != "pending" for e in found), within)


async def test_an_event_arrives_signed_as_the_contract_says(
    world: World, receiver: WebhookReceiver, sender: WebhookSender
) -> None:
    point = await world.add_painpoint()
    before = int(time.time())
    await notes(world, point, 1)
    [got] = await receiver.wait_for(1)
    assert got.valid
    body = got.json
    assert set(body) == {"id", "type", "at", "data"}
    [event] = await rows(world)
    assert body["id"] == got.event_id == event.event_id
    assert body["type"] == "painpoint.updated" and body["data"]["change"]["text"] == "step 0"
    assert body["at"] == event.at.isoformat() + "Z"
    assert before <= int(got.timestamp) <= int(time.time())
    # the signature is exactly HMAC-SHA256(secret, TIMESTAMP + "." + BODY), hex, after "sha256="
    assert got.signature == sign(SECRET, int(got.timestamp), got.body)
    assert got.signature.startswith("sha256=") and len(got.signature) == len("sha256=") + 64
    [done] = await settled(world)
    assert (done.state, done.attempts, done.last_status) == ("delivered", 1, 200)
    assert done.delivered_at is not None and done.lease_until is None


async def test_a_wrong_secret_is_refused_by_the_receiver_and_tried_again(
    world: World, receiver: WebhookReceiver
) -> None:
    sender = await started(world.db, receiver, QUICK)
    sender.secret = "not-the-secret"
    try:
        await notes(world, await world.add_painpoint(), 1)
        await receiver.wait_for_requests(2)
        assert not any(r.valid for r in receiver.received)
        assert receiver.accepted == []
        sender.secret = SECRET  # the secret is fixed: the next attempt goes through
        [event] = await settled(world)
        assert event.state == "delivered" and event.attempts >= 3
        assert receiver.accepted[-1].valid
    finally:
        await sender.stop()


async def test_a_503_is_tried_again_with_backoff_until_it_is_taken(
    world: World, receiver: WebhookReceiver, sender: WebhookSender
) -> None:
    receiver.answer(503, times=3)
    await notes(world, await world.add_painpoint(), 1)
    await receiver.wait_for(1)
    tries = receiver.received
    assert [r.status for r in tries] == [503, 503, 503, 200]
    assert len({r.event_id for r in tries}) == 1 and all(r.valid for r in tries)
    gaps = [later.arrived - earlier.arrived for earlier, later in itertools.pairwise(tries)]
    assert all(gap >= 0.02 for gap in gaps), gaps  # at least half of the first back-off each
    [event] = await settled(world)
    assert (event.state, event.attempts, event.last_status, event.last_error) == ("delivered", 4, 200, None)


async def test_the_backlog_waits_while_the_receiver_fails_and_the_cli_shows_why(
    world: World, receiver: WebhookReceiver
) -> None:
    receiver.answer(503, times=100)
    slow = WebhookPolicy(timeout=2.0, first_retry=60, max_retry=60, poll=0.05)
    sender = await started(world.db, receiver, slow)
    try:
        await notes(world, await world.add_painpoint(), 2)
        await receiver.wait_for_requests(1)
        await asyncio.sleep(0.3)  # nothing more is tried before the back-off is over
        assert len(receiver.received) == 1
        assert await webhook_backlog(world.db) == 2
        async with world.db.sessions() as session:
            text = (await listing(session)).as_text()
        assert "HTTP 503 Service Unavailable" in text and "next attempt" in text and "pending" in text
    finally:
        await sender.stop()


async def test_no_answer_within_the_timeout_is_tried_again(world: World, receiver: WebhookReceiver) -> None:
    receiver.hang(times=1)
    sender = await started(world.db, receiver, WebhookPolicy(timeout=0.5, first_retry=0.05, poll=0.05))
    try:
        await notes(world, await world.add_painpoint(), 1)
        [got] = await receiver.wait_for(1)
        first, second = receiver.received
        assert first.event_id == second.event_id == got.event_id and first.status is None
        assert second.arrived - first.arrived >= 0.5
        [event] = await settled(world)
        assert event.state == "delivered" and event.attempts == 2
    finally:
        await sender.stop()


async def test_a_refused_connection_is_tried_again(world: World, receiver: WebhookReceiver) -> None:
    sender = WebhookSender(world.db, "http://127.0.0.1:9/nothing-listens", SECRET, QUICK)
    await sender.start()
    try:
        await notes(world, await world.add_painpoint(), 1)
        [event] = await until(world, lambda found: bool(found[0].last_error), 10)
        assert event.state == "pending" and event.last_error.startswith("cannot connect")
        assert "127.0.0.1" not in event.last_error  # the URL may carry a token: it is never shown
    finally:
        await sender.stop()


async def test_events_of_one_pain_point_arrive_in_order_and_pain_points_in_parallel(
    world: World, receiver: WebhookReceiver
) -> None:
    first, second, third = [await world.add_painpoint(text=f"Point {n}") for n in range(3)]
    await notes(world, first, 4, "first")
    await notes(world, second, 4, "second")
    await notes(world, third, 4, "third")
    receiver.answer(503, times=2)  # the first two requests fail: two keys wait for their back-off
    receiver.hang(0.1, times=40)  # every answer takes a little while
    sender = await started(world.db, receiver, QUICK)
    try:
        await settled(world)
    finally:
        await sender.stop()
    accepted = receiver.accepted
    assert len(accepted) == 12 and len(set(receiver.accepted_ids())) == 12
    by_key: dict[str, list[str]] = {}
    for r in accepted:
        by_key.setdefault(r.json["data"]["change"]["text"].split()[0], []).append(
            r.json["data"]["change"]["text"]
        )
    assert by_key == {name: [f"{name} {n}" for n in range(4)] for name in ("first", "second", "third")}
    # no event was sent before the previous one of its pain point had been taken
    for r in receiver.received:
        text = r.json["data"]["change"]["text"]
        name, n = text.split()
        if n != "0":
            previous = next(a for a in accepted if a.json["data"]["change"]["text"] == f"{name} {int(n) - 1}")
            assert previous.finished is not None and r.arrived >= previous.finished
    assert receiver.max_in_flight >= 2  # different pain points do not wait for each other


async def test_two_senders_at_once_never_post_the_same_event_twice(
    world: World, receiver: WebhookReceiver
) -> None:
    """Two clocks during a hand-over: the lease keeps each event with one of them."""
    points = [await world.add_painpoint(text=f"Point {n}") for n in range(4)]
    for point in points:
        await notes(world, point, 5)
    receiver.hang(0.05, times=100)
    two_each = WebhookPolicy(timeout=2.0, first_retry=0.05, poll=0.05, concurrency=2)
    senders = [
        await started(world.db, receiver, two_each) for _ in range(2)
    ]  # the second finds two keys free
    try:
        done = await settled(world)
    finally:
        for sender in senders:
            await sender.stop()
    assert len(done) == 20 and {e.state for e in done} == {"delivered"}
    ids = [r.event_id for r in receiver.received]
    assert sorted(ids) == sorted(e.event_id for e in done)  # each exactly once
    assert all(sender.counts.get("delivered", 0) > 0 for sender in senders)  # both took part


async def test_only_a_leading_clock_sends(world: World, receiver: WebhookReceiver) -> None:
    leads = False
    sender = await started(world.db, receiver, QUICK, leading=lambda: leads)
    try:
        await notes(world, await world.add_painpoint(), 1)
        await asyncio.sleep(0.3)
        assert receiver.received == []
        leads = True
        await receiver.wait_for(1)
    finally:
        await sender.stop()


async def test_an_event_refused_past_the_retry_window_fails_and_its_key_moves_on(
    world: World, receiver: WebhookReceiver
) -> None:
    receiver.answer(500, times=1000)
    policy = WebhookPolicy(timeout=2.0, first_retry=0.05, max_retry=0.1, poll=0.05, give_up=dt.timedelta(0))
    sender = await started(world.db, receiver, policy)
    try:
        point = await world.add_painpoint()
        await notes(world, point, 1)
        await until(world, lambda found: found[0].state == "failed", 10)
        receiver._script.clear()
        await notes(world, point, 1, "later")
        failed, later = await settled(world)
    finally:
        await sender.stop()
    assert (failed.state, failed.last_status, failed.last_error) == (
        "failed",
        500,
        "HTTP 500 Internal Server Error",
    )
    assert later.state == "delivered"
    async with world.db.sessions() as session:
        text = (await listing(session, failed_only=True)).as_text()
    assert failed.event_id in text and later.event_id not in text and "HTTP 500" in text


async def test_a_sender_stopped_mid_post_frees_its_lease_and_the_next_one_sends(
    world: World, receiver: WebhookReceiver
) -> None:
    receiver.hang(times=1)
    first = await started(world.db, receiver, WebhookPolicy(timeout=30, poll=0.05))
    await notes(world, await world.add_painpoint(), 1)
    await receiver.wait_for_requests(1)
    await first.stop()
    [held] = await rows(world)
    assert held.state == "pending" and held.lease_until is None
    second = await started(world.db, receiver, QUICK)
    try:
        [got] = await receiver.wait_for(1)
    finally:
        await second.stop()
    assert got.event_id == held.event_id


async def test_no_chat_reply_waits_for_a_receiver_that_hangs(world: World, receiver: WebhookReceiver) -> None:
    receiver.hang(times=1000)
    sender = await started(world.db, receiver, WebhookPolicy(timeout=60, poll=0.05))
    try:
        point = await world.add_painpoint()
        await notes(world, point, 1)
        await receiver.wait_for_requests(1)  # the sender is waiting on the receiver now
        assert (await world.run(world.staff, "checkin Apollo")).ok
        checkin = (await world.rows(Checkin))[-1]
        took = []
        for step in range(5):
            started_at = time.monotonic()
            view = await world.act(
                world.sponsor, f"taste_{step + 1}", {"checkin": checkin.id, "rating": step + 1}
            )
            assert view.ok
            took.append(time.monotonic() - started_at)
            started_at = time.monotonic()
            assert (await world.run(world.staff, f'painpoint {point.id} note:"more {step}"')).ok
            took.append(time.monotonic() - started_at)
        assert max(took) < 1.0, took
        assert len(receiver.received) >= 2  # the answers' events went out too, beside the hanging one
        assert await webhook_backlog(world.db) == 11  # and every event waits to be delivered
    finally:
        await sender.stop()


def test_backoff_doubles_is_capped_and_jittered() -> None:
    policy = WebhookPolicy(first_retry=10, max_retry=3600)
    assert [policy.backoff(n, rand=lambda: 1.0) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert policy.backoff(30, rand=lambda: 1.0) == 3600
    assert policy.backoff(3, rand=lambda: 0.0) == 20  # the jitter takes off up to half
    total, attempts = 0.0, 0
    while total < 24 * 3600:  # the contract's day of retries fits in the window, with room
        attempts += 1
        total += policy.backoff(attempts, rand=lambda: 1.0)
    assert dt.timedelta(seconds=total) < WebhookPolicy().give_up
    assert WebhookPolicy().give_up >= dt.timedelta(hours=24)
    assert WebhookPolicy(timeout=10).lease > dt.timedelta(seconds=10)


def test_the_body_is_compact_json_signed_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    body = json.dumps({"id": "x"}).encode()
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", 1700000000, body) == "sha256=" + expected
