"""The value digest through the real Slack channel to the fake Slack Web API, over real HTTP.

A channel and two people receive it; Slack answers one post 429 (waited out, sent once). A
channel on a platform this deployment does not serve fails for good, with the reason, and the
others still go.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage.models import KIND_DIGEST, Delivery, DigestRecipient, DigestSchedule, Identity
from tests.bot.clock.test_clock_slack import scene
from tests.fakes.slack_api import Message, dm_channel

LEADERS = "C0LEADERS1"


def block_types(message: Message) -> list[str]:
    return [block.get("type", "") for block in message.blocks or ()]


async def test_the_digest_reaches_a_slack_channel_and_people_once(database_url: str) -> None:
    async with scene(database_url, 2) as s:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        due = (now - dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
        since = due - dt.timedelta(days=40)  # the first Monday of a month may be weeks ago
        async with s.runtime.db.transaction() as session:
            identities = {i.external_id: i for i in await session.scalars(select(Identity))}
            org_id = identities[s.sponsors[0]].org_id
            session.add(DigestSchedule(org_id=org_id, cadence="weekly", day=due.strftime("%a").lower(),
                                       time=due.strftime("%H:%M"), updated_at=since))  # fmt: skip
            session.add(DigestRecipient(org_id=org_id, key="channel:slack", platform="slack", channel=LEADERS,
                                        added_at=due - dt.timedelta(days=1)))  # fmt: skip
            for user in s.sponsors:
                person_id = identities[user].person_id
                session.add(DigestRecipient(org_id=org_id, key=f"person:{person_id}", person_id=person_id,
                                            added_at=due - dt.timedelta(days=1)))  # fmt: skip
        s.slack.on("chat.postMessage", status=429, retry_after=1, times=1)
        await s.round()
        await s.round()
        title = "PMO value digest — last 7 days"
        in_channel = [m for m in s.slack.in_channel(LEADERS) if title in m.text]
        assert len(in_channel) == 1
        assert [len([m for m in s.slack.dm(user) if title in m.text]) for user in s.sponsors] == [1, 1]
        assert [c.status for c in s.slack.called("chat.postMessage")].count(429) == 1
        [post] = in_channel
        assert "image" in block_types(post)  # the trend chart, uploaded and shown by its file id
        assert "The full report: /pmo value" in str(post.blocks) and "Sponsor" not in str(
            post.blocks
        )  # no names
        async with s.runtime.db.sessions() as session:
            rows = list(await session.scalars(select(Delivery).where(Delivery.kind == KIND_DIGEST)))
        assert sorted(r.status for r in rows) == ["sent"] * 3
        assert dm_channel(s.sponsors[0]).startswith("D")


async def test_a_channel_no_configured_platform_serves_fails_for_good_and_people_still_get_it(
    database_url: str,
) -> None:
    async with scene(database_url, 1) as s:
        due = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)).replace(
            second=0, microsecond=0
        )
        yesterday = due - dt.timedelta(days=1)
        async with s.runtime.db.transaction() as session:
            identity = await session.scalar(select(Identity).where(Identity.external_id == s.sponsors[0]))
            assert identity is not None
            org_id, person_id = identity.org_id, identity.person_id
            session.add(DigestSchedule(org_id=org_id, cadence="weekly", day=due.strftime("%a").lower(),
                                       time=due.strftime("%H:%M"), updated_at=due))  # fmt: skip
            session.add(DigestRecipient(org_id=org_id, key="channel:teams", platform="teams",
                                        channel="19:gone@thread.tacv2", added_at=yesterday))  # fmt: skip
            session.add(DigestRecipient(org_id=org_id, key=f"person:{person_id}", person_id=person_id,
                                        added_at=yesterday))  # fmt: skip
        await s.round()
        await s.round()
        async with s.runtime.db.sessions() as session:
            rows = {
                r.recipient: r
                for r in await session.scalars(select(Delivery).where(Delivery.kind == KIND_DIGEST))
            }
        failed = rows["channel:teams"]
        assert (failed.status, failed.error) == ("failed", "teams is not configured in this deployment")
        assert rows[f"person:{person_id}"].status == "sent"
        assert len([m for m in s.slack.dm(s.sponsors[0]) if "PMO value digest" in m.text]) == 1
