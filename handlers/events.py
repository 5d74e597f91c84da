"""Platform events are processed once: the first delivery of an event id claims it.

Slack retries an event it thinks was lost (`X-Slack-Retry-Num`) and may deliver the same
`event_id` twice; the unique (platform, event_id) row in `processed_events` is the claim.
Claims older than a day are pruned now and then: platforms retry within minutes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from storage.db import Database, utcnow
from storage.models import ProcessedEvent

KEEP = dt.timedelta(days=1)
PRUNE_EVERY = 500


class EventLedger:
    """Claims event ids in the database; one per process, shared by a platform's listeners."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.claims = 0

    async def first_time(self, platform: str, event_id: str, org_id: int | None = None) -> bool:
        """True the first time this event id is seen (and claims it); False for a repeat."""
        if not event_id or len(event_id) > 200:
            raise ValueError("an event id is 1 to 200 characters")
        now = utcnow()
        try:
            async with self.db.transaction() as session:
                await session.execute(
                    insert(ProcessedEvent).values(
                        platform=platform, event_id=event_id, org_id=org_id, received_at=now
                    )
                )
        except IntegrityError:
            return False
        self.claims += 1
        if self.claims % PRUNE_EVERY == 1:
            await self.prune(now - KEEP)
        return True

    async def prune(self, before: dt.datetime) -> int:
        async with self.db.transaction() as session:
            result = await session.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
