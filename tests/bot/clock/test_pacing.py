"""The token buckets that pace the clock's fan-out, on a clock the test controls."""

from __future__ import annotations

import asyncio
import itertools
import math

import pytest

from bot.clock.pacing import DEFAULT_LIMITS, HEADROOM, Pacing, TokenBucket


class FakeTime:
    """Time that passes only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def bucket(rate: float, time: FakeTime) -> TokenBucket:
    return TokenBucket(rate, clock=time.clock, sleep=time.sleep)


async def test_the_bucket_spaces_sends_at_its_rate() -> None:
    time = FakeTime()
    paced = bucket(10, time)
    moments = []
    for _ in range(21):
        await paced.acquire()
        moments.append(time.now)
    assert moments[0] == 0.0
    assert moments[-1] == pytest.approx(2.0)
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(moments)}
    assert gaps == {0.1}


async def test_waiters_are_served_in_order_and_never_faster_than_the_rate() -> None:
    time = FakeTime()
    paced = bucket(20, time)
    served: list[tuple[int, float]] = []

    async def send(n: int) -> None:
        await paced.acquire()
        served.append((n, time.now))

    await asyncio.gather(*(send(n) for n in range(40)))
    assert [n for n, _ in served] == list(range(40))
    assert served[-1][1] == pytest.approx(39 / 20)


async def test_a_429_holds_everyone_for_its_retry_after() -> None:
    time = FakeTime()
    paced = bucket(10, time)
    await paced.acquire()
    paced.hold(3.0)
    await paced.acquire()
    assert time.now == pytest.approx(3.0)
    await paced.acquire()
    assert time.now == pytest.approx(3.1)


async def test_late_wake_ups_do_not_slow_the_rate_down() -> None:
    time = FakeTime()

    async def oversleep(seconds: float) -> None:  # a busy event loop wakes everyone 20 ms late
        time.now += max(seconds, 0.0) + 0.02
        await asyncio.sleep(0)

    paced = TokenBucket(10, clock=time.clock, sleep=oversleep)
    for _ in range(101):
        await paced.acquire()
    assert time.now == pytest.approx(10.02)  # 100 intervals, not 100 × (interval + 20 ms)


async def test_idle_time_is_not_saved_up_for_a_burst() -> None:
    time = FakeTime()
    paced = bucket(10, time)
    await paced.acquire()
    time.now = 60.0
    await paced.acquire()
    await paced.acquire()
    assert time.now == pytest.approx(60.1)


async def test_buckets_are_per_platform_and_organisation_with_headroom_under_the_limit() -> None:
    pacing = Pacing()
    assert pacing.bucket("slack", 1) is pacing.bucket("slack", 1)
    assert pacing.bucket("slack", 1) is not pacing.bucket("slack", 2)
    assert pacing.bucket("slack", 1).rate == pytest.approx(DEFAULT_LIMITS["slack"] * HEADROOM)
    assert pacing.bucket("teams", 1).rate == pytest.approx(DEFAULT_LIMITS["teams"] * HEADROOM)
    assert math.isinf(pacing.bucket("local", 1).rate)
    configured = Pacing(limit=20)
    assert configured.bucket("slack", 1).rate == pytest.approx(19.0) and math.isinf(
        configured.rate_for("local")
    )


async def test_an_unlimited_bucket_never_waits() -> None:
    time = FakeTime()
    paced = bucket(math.inf, time)
    for _ in range(1000):
        await paced.acquire()
    assert time.now == 0.0


def test_a_bucket_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="rate above 0"):
        TokenBucket(0)
