"""Delivering the clock's messages once: claim in the ledger, commit, send, record the reference.

The order is what makes a send happen once across crashes and several clocks:

1. claim the occurrence (handlers.clock.ledger.claim_occurrence → handlers.checkins.lifecycle.open_checkin) in
   its own transaction, with a lease, and commit;
2. send through the sponsor's channel (bot/channels.py), paced by the workspace's token bucket;
3. record the message reference (handlers.message_refs.record_refs) before doing anything else.

A claim that never got to 3. is taken over once its lease has run out (bot/clock/scheduler.py). Before
it is sent again the channel is asked for a message already carrying that check-in (`find_sent` of
the platform contract, handlers/ports.py: each channel reads back in its own way, or says it cannot),
so an accepted send is recorded, not repeated. The same look comes before any retry after an
answer that leaves it open whether the platform took the message (5xx, a timeout, a dropped
connection); a 429 is not such an answer, it waits for `Retry-After` and holds the whole
workspace's bucket. Permanent refusals fail the check-in and tell the PMO once per person
(handlers.reachability).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.channels import Router
from bot.clock.pacing import Pacing
from handlers.checkins.lifecycle import question_for, refs_updates
from handlers.checkins.views import question, taste_question
from handlers.clock.ledger import (
    FAILED,
    KIND_REMINDER,
    MISSED,
    claim_occurrence,
    claim_reminder,
    extend_lease,
    finish,
    record_reminder,
)
from handlers.i18n import _
from handlers.languages import REF_KEY as LANGUAGE_REF
from handlers.languages import choose
from handlers.message_refs import mark_failed, record_refs
from handlers.outbox import deliver
from handlers.ports import CannotLook, Channel, DeliveryFailed, Outgoing, Services
from handlers.reachability import mark_reachable, mark_unreachable
from handlers.views import View, localize
from storage.models import Checkin, Delivery, Identity, Person, Project

log = logging.getLogger("pmo.delivery")

FIX = _("check that they are still a member of the workspace or team and have not removed or blocked the bot")


@dataclass(frozen=True)
class DeliveryPolicy:
    """How long a claim is held, how late is too late, and how hard one worker tries."""

    lease: dt.timedelta = dt.timedelta(seconds=60)
    catchup: dt.timedelta = dt.timedelta(hours=6)
    attempts: int = 6  # sends one worker tries before it lets the lease run out
    takeovers: int = 5  # a claim taken over this often is failed for good
    backoff: float = 1.0  # seconds; doubles with each retry, jittered
    backoff_cap: float = 60.0
    longest_retry_after: float = 300.0


@dataclass(frozen=True)
class Job:
    """One unit of work for a delivery worker.

    what: "occurrence" (claim and send), "resume" (a claim taken over), "reminder", "update"
    (show a closed check-in as closed), or one of `Deliverer.jobs` (the digest's).
    """

    what: str
    org_id: int
    platform: str | None = None
    project_id: int = 0
    kind: str = ""
    occurrence: dt.datetime | None = None
    slot: dt.date | None = None
    late_before: dt.datetime | None = None
    delivery_id: int | None = None
    checkin_id: int | None = None
    lease_until: dt.datetime | None = None
    recipient: str = ""  # a digest's recipient (bot/clock/digests.py)
    key: tuple[Any, ...] = field(default=(), compare=False)


class LeaseLost(Exception):
    """Another clock took the claim over; this worker must not send."""


class GiveUp(Exception):
    """Retries ran out for now; the lease runs out and the claim is taken over later."""


@dataclass
class Target:
    """Where a message goes: the person, their identity on the chosen channel, and that channel."""

    person: Person
    identity: Identity | None
    channel: Channel
    language: str = "en"  # what the person reads (handlers.languages)

    @property
    def platform(self) -> str:
        return str(self.channel.platform)


@dataclass
class Attempt:
    """A send in progress: which claim, to whom, what, and the lease it holds."""

    org_id: int
    delivery_id: int
    checkin_id: int
    target: Target
    view: View
    since: dt.datetime
    lease_until: dt.datetime | None
    look_first: bool = False

    def __post_init__(self) -> None:
        self.view = localize(self.view, self.target.language)


class Deliverer:
    """Runs delivery jobs. Stateless between jobs but for the pacing buckets it shares."""

    def __init__(
        self,
        services: Services,
        router: Router,
        pacing: Pacing,
        policy: DeliveryPolicy,
        now: Callable[[], dt.datetime],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.services = services
        self.router = router
        self.pacing = pacing
        self.policy = policy
        self.now = now
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.db = services.db
        # More kinds of job, and how to resume their ledger rows, by the modules that add them
        # (bot/clock/digests.py): what = job, ledger kind = resume.
        self.jobs: dict[str, Callable[[Job], Awaitable[str]]] = {}
        self.resumers: dict[str, Callable[[Job, Delivery], Awaitable[str]]] = {}

    # ---- choosing the channel -----------------------------------------------------------------

    def platform_for(self, platforms: Iterable[str]) -> str | None:
        """The platform the router would use for someone with identities on `platforms`."""
        channel = self.router.channel_for(platforms)
        return None if channel is None else channel.platform

    async def target(self, person_id: int) -> Target | None:
        """The person, and the channel the router would send through (bot/channels.py)."""
        person, identities = await self.router.person(person_id)
        if person is None:
            return None
        language = choose(
            person.language, {p: i.locale for p, i in identities.items()}, self.services.policy.language
        )
        channel = self.router.channel_for(identities)
        if channel is None:
            return Target(person, None, _NoChannel(" or ".join(self.router.channels) or "chat"), language)
        return Target(person, identities.get(channel.platform), channel, language)

    # ---- jobs ---------------------------------------------------------------------------------

    async def run(self, job: Job) -> str:
        """Do one job; the outcome in a word, for the clock's log and tests."""
        if job.what == "occurrence":
            return await self.occurrence(job)
        if job.what == "resume":
            return await self.resume(job)
        if job.what == "reminder":
            return await self.reminder(job)
        if job.what == "update":
            return await self.update(job)
        if job.what in self.jobs:
            return await self.jobs[job.what](job)
        raise ValueError(f"unknown delivery job {job.what!r}")

    async def occurrence(self, job: Job) -> str:
        """Claim a scheduled occurrence and send its question."""
        assert job.occurrence is not None and job.slot is not None and job.late_before is not None
        now = self.now()
        lease_until = now + self.policy.lease
        async with self.db.transaction() as session:
            claim = await claim_occurrence(
                session,
                job.project_id,
                job.kind,
                job.occurrence,
                job.slot,
                now=now,
                lease_until=lease_until,
                late_before=job.late_before,
            )
        if not claim.to_send:
            return claim.outcome
        assert claim.delivery_id is not None and claim.checkin_id is not None and claim.sponsor_id is not None
        view = question(job.kind, claim.checkin_id, claim.project_name)
        target = await self.target(claim.sponsor_id)
        if target is None:
            return await self._fail(
                job.org_id, claim.delivery_id, claim.checkin_id, None, "the sponsor is gone"
            )
        # The token comes after the claim, right before the send, so that sends leave evenly spaced;
        # a worker waits for it at most (workers / rate) seconds, far less than its lease.
        attempt = Attempt(job.org_id, claim.delivery_id, claim.checkin_id, target, view, now, lease_until)
        return await self._deliver(attempt, reminder=False)

    async def reminder(self, job: Job) -> str:
        """Claim and send the one reminder of an unanswered taste check-in."""
        assert job.checkin_id is not None
        now = self.now()
        lease_until = now + self.policy.lease
        async with self.db.transaction() as session:
            claim = await claim_reminder(session, job.checkin_id, now=now, lease_until=lease_until)
        if not claim.to_send:
            return claim.outcome
        assert claim.delivery_id is not None and claim.sponsor_id is not None
        target = await self.target(claim.sponsor_id)
        if target is None:
            return await self._fail(
                job.org_id, claim.delivery_id, job.checkin_id, None, "the sponsor is gone", True
            )
        view = taste_question(job.checkin_id, claim.project_name, reminder=True)
        attempt = Attempt(job.org_id, claim.delivery_id, job.checkin_id, target, view, now, lease_until)
        return await self._deliver(attempt, reminder=True)

    async def resume(self, job: Job) -> str:
        """A claim taken over after its lease ran out: find what was sent, else send it now."""
        assert job.delivery_id is not None
        now = self.now()
        async with self.db.sessions() as session:
            row = await session.get(Delivery, job.delivery_id)
            checkin = await session.get(Checkin, row.checkin_id) if row and row.checkin_id else None
            project = await session.get(Project, row.project_id) if row and row.project_id else None
        if row is None or row.status != "claimed":
            return "gone"
        if row.kind in self.resumers:
            return await self.resumers[row.kind](job, row)
        reminder = row.kind == KIND_REMINDER
        if checkin is None or project is None:
            async with self.db.transaction() as session:
                await finish(session, row.id, FAILED, now=now, error="its check-in is gone")
            return "failed"
        if row.attempts > self.policy.takeovers:
            return await self._fail(
                row.org_id,
                row.id,
                checkin.id,
                None,
                f"gave up after {row.attempts} tries",
                reminder,
                tell=False,
            )
        assert row.sponsor_id is not None  # a check-in's row always names its sponsor
        target = await self.target(row.sponsor_id)
        if target is None:
            return await self._fail(row.org_id, row.id, checkin.id, None, "the sponsor is gone", reminder)
        if reminder:
            view = taste_question(checkin.id, project.name, reminder=True)
        else:
            view = question_for(checkin, project.name)
        attempt = Attempt(row.org_id, row.id, checkin.id, target, view, row.claimed_at, job.lease_until, True)
        too_late = row.occurrence < now - self.policy.catchup or checkin.status != "open"
        if too_late:
            found = await self._look(attempt)
            if found is not None:
                await self._record(attempt, found, reminder)
                return "found"
            why = "closed before it could be sent" if checkin.status != "open" else "too late to send"
            async with self.db.transaction() as session:
                if not reminder and checkin.status == "open":
                    await mark_failed(session, checkin.id, why)
                await finish(session, row.id, MISSED, now=now, error=why)
            return "missed"
        return await self._deliver(attempt, reminder=reminder)

    async def update(self, job: Job) -> str:
        """Show a check-in's current state in every message that carries it (closing, best effort)."""
        assert job.checkin_id is not None
        async with self.db.sessions() as session:
            checkin = await session.get(Checkin, job.checkin_id)
            project = await session.get(Project, checkin.project_id) if checkin else None
        if checkin is None or project is None:
            return "gone"
        for item in refs_updates(checkin, question_for(checkin, project.name)):
            platform = str((item.update_ref or {}).get("platform"))
            if platform in self.router.channels:
                await self.pacing.acquire(platform, job.org_id)
            await deliver(self.services, job.org_id, [item])
        return "updated"

    # ---- sending -------------------------------------------------------------------------------

    async def _deliver(self, attempt: Attempt, *, reminder: bool) -> str:
        try:
            ref, found = await self._send(attempt)
        except LeaseLost:
            log.warning("delivery %s: another clock took it over; not sending", attempt.delivery_id)
            return "lost"
        except GiveUp as exc:
            log.warning("delivery %s: %s; it is retried when its lease runs out", attempt.delivery_id, exc)
            return "later"
        except DeliveryFailed as exc:
            return await self._fail(
                attempt.org_id, attempt.delivery_id, attempt.checkin_id, attempt.target, exc.reason, reminder
            )
        await self._record(attempt, ref, reminder)
        return "found" if found else "sent"

    async def _send(self, attempt: Attempt) -> tuple[dict[str, Any], bool]:
        """The reference of the message (and whether it was found rather than sent)."""
        policy = self.policy
        tries = 0
        while True:
            retry_after: float | None = None
            try:
                if attempt.look_first:
                    found = await self._look(attempt)
                    if found is not None:
                        return found, True
                if attempt.lease_until is None or attempt.lease_until - self.now() < policy.lease / 2:
                    await self._hold_lease(attempt, policy.lease)
                await self.pacing.acquire(attempt.target.platform, attempt.org_id)
                ref = await attempt.target.channel.send_direct(
                    attempt.org_id, attempt.target.person, attempt.target.identity, attempt.view
                )
                return ref, False
            except DeliveryFailed as exc:
                if exc.permanent:
                    raise
                failure, retry_after = exc.reason, exc.retry_after
            except LeaseLost:
                raise
            except Exception as exc:
                log.exception("delivery %s: the channel failed unexpectedly", attempt.delivery_id)
                failure = f"unexpected {type(exc).__name__}"
            tries += 1
            if tries >= policy.attempts:
                raise GiveUp(f"{tries} tries failed, the last: {failure}")
            if retry_after is not None:  # a 429: not taken, nothing to look for
                delay = min(max(retry_after, 0.0), policy.longest_retry_after)
                self.pacing.hold(attempt.target.platform, attempt.org_id, delay)
            else:  # 5xx, timeout, dropped connection: it may have been taken
                bound = min(policy.backoff_cap, policy.backoff * 2 ** (tries - 1))
                delay = bound / 2 + self.rng.uniform(0, bound / 2)
                attempt.look_first = True
            log.info(
                "delivery %s: %s; trying again in %.1f s (try %d)",
                attempt.delivery_id,
                failure,
                delay,
                tries + 1,
            )
            await self._hold_lease(attempt, policy.lease + dt.timedelta(seconds=delay))
            await self.sleep(delay)

    async def _look(self, attempt: Attempt) -> dict[str, Any] | None:
        try:
            return await attempt.target.channel.find_sent(
                attempt.org_id,
                attempt.target.person,
                attempt.target.identity,
                attempt.checkin_id,
                attempt.since,
            )
        except CannotLook:
            return None

    async def _hold_lease(self, attempt: Attempt, length: dt.timedelta) -> None:
        """Extend this worker's lease, or stop if someone else holds the claim now."""
        until = self.now() + length
        async with self.db.transaction() as session:
            ours = await extend_lease(session, attempt.delivery_id, attempt.lease_until, until)
        if not ours:
            raise LeaseLost()
        attempt.lease_until = until

    async def _record(self, attempt: Attempt, ref: dict[str, Any], reminder: bool) -> None:
        """Write down where the message lives, first thing after the platform took it."""
        if attempt.target.language != self.services.policy.language:  # without it: the default
            ref = {**ref, LANGUAGE_REF: attempt.target.language}
        async with self.db.transaction() as session:
            if reminder:
                await record_reminder(session, attempt.delivery_id, attempt.checkin_id, ref, now=self.now())
            else:
                await record_refs(session, attempt.checkin_id, ref)
            person = await session.get(Person, attempt.target.person.id)
            if person is not None and await mark_reachable(session, person):
                log.info("%s can be reached again", person.name)

    async def _fail(
        self,
        org_id: int,
        delivery_id: int,
        checkin_id: int,
        target: Target | None,
        reason: str,
        reminder: bool = False,
        *,
        tell: bool = True,
    ) -> str:
        """Fail for good: the check-in fails, and the PMO hears it once per person."""
        log.warning("delivery %s failed for good: %s", delivery_id, reason)
        notices: list[Outgoing] = []
        async with self.db.transaction() as session:
            if reminder:
                await finish(session, delivery_id, FAILED, now=self.now(), error=reason)
            else:
                await mark_failed(session, checkin_id, reason)
                await finish(session, delivery_id, FAILED, now=self.now(), error=reason)
            if tell and target is not None:
                notices = await mark_unreachable(
                    session, target.person.id, target.platform, reason, FIX, self.services.policy
                )
        if notices:
            problems = await deliver(self.services, org_id, notices)
            for problem in problems:
                log.warning("the PMO could not be told about delivery %s: %s", delivery_id, problem)
        return "failed"


class _NoChannel:
    """Someone no configured channel can reach: every send fails for good."""

    def __init__(self, platforms: str) -> None:
        self.platform = platforms  # named in the PMO's notice: "can no longer be reached on Slack"

    async def send_direct(
        self, org_id: int, person: Person, identity: Identity | None, view: View
    ) -> dict[str, Any]:
        raise DeliveryFailed(_("%(name)s has no account the bot can reach", name=person.name), permanent=True)

    async def send_to_channel(self, org_id: int, channel: str, view: View) -> dict[str, Any]:
        raise DeliveryFailed(_("no channel"), permanent=True)

    async def update(self, org_id: int, ref: dict[str, Any], view: View) -> None:
        raise DeliveryFailed(_("no channel"), permanent=True)

    async def find_sent(
        self, org_id: int, person: Person, identity: Identity | None, checkin_id: int, since: dt.datetime
    ) -> dict[str, Any] | None:
        raise CannotLook("no channel")
