"""The value digest on the clock: each occurrence to each recipient once, through the one ledger.

Planning asks the same pure function as check-ins (`bot/clock/occurrences.py`: weekly is every
`day`, monthly the first `day` of the month, at `time` in PMO_TIMEZONE) what fell due within the
catch-up window (after an election: the lookback, so a long downtime is recorded `missed`),
leaves out what the ledger holds, and queues one job per (occurrence, recipient) on the clock's
dispatcher. Delivering is the check-ins' order: claim in the ledger (handlers/digest/ledger.py)
and commit, send, record. A claim whose lease ran out is taken over by the clock's `recover` and
comes back here (`resume`).

A digest carries no check-in, so `find_sent` cannot look for it: a copy the platform took in the
last moment before a crash (between the send and its record, milliseconds) is sent again when
its claim is taken over, as a Teams check-in is (docs/digest.md). A crash at any other moment
neither loses nor repeats one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from bot.clock.delivery import Deliverer, Job
from bot.clock.occurrences import Schedule, occurrences, zone
from handlers.clock.ledger import FAILED, MISSED, SENT, extend_lease, finish
from handlers.digest.ledger import Recipient, claim_digest, recipient_of, settled, watched
from handlers.digest.view import Digest, build_digest, days_for, with_chart
from handlers.i18n import _
from handlers.ports import DeliveryFailed
from handlers.views import View, localize_async
from storage.models import KIND_DIGEST, KIND_TASTE, Delivery

log = logging.getLogger("pmo.digest")

KEPT_DIGESTS = 16  # built digests kept per process: every recipient of one occurrence shares one


class DigestClock:
    """Plans and delivers the digest for the clock (`bot/clock/scheduler.py` `Clock`)."""

    def __init__(
        self,
        deliverer: Deliverer,
        submit: Callable[[Job], bool],
        *,
        timezone: str,
        catchup: dt.timedelta,
        lookback: dt.timedelta,
    ) -> None:
        self.deliverer = deliverer
        self.submit = submit
        self.timezone = timezone
        self.catchup = catchup
        self.lookback = lookback
        self._digests: dict[tuple[int, dt.datetime, int], asyncio.Task[Digest]] = {}
        deliverer.jobs["digest"] = self.deliver
        deliverer.resumers[KIND_DIGEST] = self.resume

    async def plan(self, now: dt.datetime, elected: bool) -> int:
        """Queue every (occurrence, recipient) due and not in the ledger; how many were queued."""
        since = now - (self.lookback if elected else self.catchup)
        async with self.deliverer.db.sessions() as session:
            plans = await watched(session)
            if not plans:
                return 0
            known = await settled(session, since - dt.timedelta(days=2))
        tz = zone(None, self.timezone)
        queued = 0
        for plan in plans:
            try:
                schedule = Schedule(plan.cadence, plan.day, plan.time, "off")
            except ValueError as exc:
                log.warning(
                    "organisation %d has a digest schedule the clock cannot read: %s", plan.org_id, exc
                )
                continue
            for occurrence in occurrences(schedule, tz, since, now, (KIND_TASTE,)):
                slot = occurrence.slot.isoformat()
                for recipient in plan.recipients:
                    if occurrence.at <= recipient.added_at or (plan.org_id, slot, recipient.key) in known:
                        continue
                    job = Job(
                        "digest",
                        plan.org_id,
                        recipient.platform or self.deliverer.platform_for(recipient.platforms),
                        occurrence=occurrence.at,
                        slot=occurrence.slot,
                        late_before=now - self.catchup,
                        recipient=recipient.key,
                        key=("digest", plan.org_id, slot, recipient.key),
                    )
                    queued += self.submit(job)
        return queued

    async def deliver(self, job: Job) -> str:
        """Claim one recipient's copy of an occurrence and send it."""
        assert job.occurrence is not None and job.slot is not None and job.late_before is not None
        now = self.deliverer.now()
        lease_until = now + self.deliverer.policy.lease
        async with self.deliverer.db.transaction() as session:
            claim = await claim_digest(
                session,
                job.org_id,
                job.recipient,
                job.occurrence,
                job.slot,
                now=now,
                lease_until=lease_until,
                late_before=job.late_before,
            )
        if not claim.to_send:
            return claim.outcome
        assert claim.delivery_id is not None and claim.recipient is not None
        return await self._send(
            job.org_id, claim.delivery_id, claim.recipient, job.occurrence, claim.cadence, lease_until
        )

    async def resume(self, job: Job, row: Delivery) -> str:
        """A digest claim taken over after its lease ran out: send it unless it is too late now."""
        now = self.deliverer.now()
        async with self.deliverer.db.sessions() as session:
            found = await recipient_of(session, row.org_id, row.recipient or "")
        why = None
        if found is None:
            why, status = "the recipient no longer receives the digest", FAILED
        elif row.attempts > self.deliverer.policy.takeovers:
            why, status = f"gave up after {row.attempts} tries", FAILED
        elif row.occurrence < now - self.deliverer.policy.catchup:
            why, status = "too late to send", MISSED
        if why is not None or found is None:
            async with self.deliverer.db.transaction() as session:
                await finish(session, row.id, status, now=now, error=why)
            return "failed" if status == FAILED else "missed"
        recipient, cadence = found
        return await self._send(row.org_id, row.id, recipient, row.occurrence, cadence, job.lease_until)

    # ---- sending --------------------------------------------------------------------------------

    async def digest(self, org_id: int, occurrence: dt.datetime, days: int) -> Digest:
        """The digest of one occurrence, built once per process and shared by its recipients."""
        key = (org_id, occurrence, days)
        task = self._digests.get(key)
        if task is None or (task.done() and task.exception() is not None):
            if len(self._digests) >= KEPT_DIGESTS:
                self._digests.pop(next(iter(self._digests)))
            task = self._digests[key] = asyncio.ensure_future(self._build(org_id, occurrence, days))
        return await asyncio.shield(task)

    async def _build(self, org_id: int, occurrence: dt.datetime, days: int) -> Digest:
        currency = self.deliverer.services.policy.currency
        async with self.deliverer.db.sessions() as session:
            built = await build_digest(
                session, org_id, days=days, today=occurrence.date(), chart=False, currency=currency
            )
        return await asyncio.to_thread(with_chart, built)  # matplotlib off the event loop

    async def _send(
        self,
        org_id: int,
        delivery_id: int,
        recipient: Recipient,
        occurrence: dt.datetime,
        cadence: str,
        lease_until: dt.datetime | None,
    ) -> str:
        deliverer, policy = self.deliverer, self.deliverer.policy
        view = (await self.digest(org_id, occurrence, days_for(cadence))).view
        tries = 0
        while True:
            retry_after: float | None = None
            try:
                if lease_until is None or lease_until - deliverer.now() < policy.lease / 2:
                    lease_until = await self._hold(delivery_id, lease_until, policy.lease)
                    if lease_until is None:
                        log.warning("digest %d: another clock took it over; not sending", delivery_id)
                        return "lost"
                platform = await self._post(org_id, recipient, view)
                break
            except DeliveryFailed as exc:
                if exc.permanent:
                    log.warning("digest %d failed for good: %s", delivery_id, exc.reason)
                    async with deliverer.db.transaction() as session:
                        await finish(session, delivery_id, FAILED, now=deliverer.now(), error=exc.reason)
                    return "failed"
                failure, retry_after = exc.reason, exc.retry_after
            except Exception as exc:
                log.exception("digest %d: the channel failed unexpectedly", delivery_id)
                failure = f"unexpected {type(exc).__name__}"
            tries += 1
            if tries >= policy.attempts:
                log.warning(
                    "digest %d: %d tries failed (%s); retried when its lease runs out",
                    delivery_id,
                    tries,
                    failure,
                )
                return "later"
            delay = (
                min(max(retry_after, 0.0), policy.longest_retry_after)
                if retry_after is not None
                else min(policy.backoff_cap, policy.backoff * 2 ** (tries - 1))
            )
            log.info("digest %d: %s; trying again in %.1f s", delivery_id, failure, delay)
            lease_until = await self._hold(
                delivery_id, lease_until, policy.lease + dt.timedelta(seconds=delay)
            )
            if lease_until is None:
                return "lost"
            await deliverer.sleep(delay)
        async with deliverer.db.transaction() as session:
            await finish(session, delivery_id, SENT, now=deliverer.now())
        log.debug("digest %d sent on %s", delivery_id, platform)
        return "sent"

    async def _post(self, org_id: int, recipient: Recipient, view: View) -> str:
        """One send to the recipient's channel or direct conversation; the platform it went on."""
        deliverer = self.deliverer
        if recipient.person_id is not None:
            target = await deliverer.target(recipient.person_id)
            if target is None:
                raise DeliveryFailed(_("that person is gone"), permanent=True)
            await deliverer.pacing.acquire(target.platform, org_id)
            said = await localize_async(view, target.language)  # theirs; its chart drawn in a thread
            await target.channel.send_direct(org_id, target.person, target.identity, said)
            return target.platform
        channel = deliverer.router.channels.get(recipient.platform or "")
        if channel is None or not recipient.channel:
            raise DeliveryFailed(
                _("%(platform)s is not configured in this deployment", platform=str(recipient.platform)),
                permanent=True,
            )
        await deliverer.pacing.acquire(channel.platform, org_id)
        said = await localize_async(view, deliverer.services.policy.language)  # a channel: PMO_LANGUAGE
        await channel.send_to_channel(org_id, recipient.channel, said)
        return channel.platform

    async def _hold(
        self, delivery_id: int, held: dt.datetime | None, length: dt.timedelta
    ) -> dt.datetime | None:
        """Extend this worker's lease; None when another clock holds the claim now."""
        until = self.deliverer.now() + length
        async with self.deliverer.db.transaction() as session:
            ours = await extend_lease(session, delivery_id, held, until)
        return until if ours else None
