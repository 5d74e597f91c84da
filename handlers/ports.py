"""What the core needs from the outside world, and what a use case hands back.

Use cases change the database in one transaction and return a `Reply`: the view for the
person who acted, plus an outbox of messages to send once the transaction has committed.
Each channel (`bot/slack`, `bot/teams`, `bot/local`) implements `Channel` and `Directory`; the
composition (`bot/channels.py`) turns the channels into the one `Messenger` the core talks to.
The core never sees a platform SDK.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.views import View
from storage.db import Database
from storage.models import Identity, Person

LOOKUP_MARGIN = dt.timedelta(minutes=5)  # clocks differ; a check-in's id never appears before its claim


@dataclass(frozen=True)
class PersonRef:
    """A person as written: a platform user id (from a mention) or an e-mail address."""

    user_id: str | None = None
    email: str | None = None
    written: str = ""


class NotReachable(Exception):
    """A directory knows why a person cannot be found or reached there; the message says how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message  # a lazy text (handlers.i18n) stays lazy here; str(exc) would not


class DeliveryFailed(Exception):
    """A message could not be delivered. `permanent` means retrying will not help."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class CannotLook(Exception):
    """This channel cannot tell whether a message was sent (the caller sends again)."""


@dataclass(frozen=True)
class Outgoing:
    """A message to send after commit: to a person, to a channel, or an update of one sent before."""

    view: View
    person_id: int | None = None
    channel: str | None = None
    platform: str | None = None
    checkin_id: int | None = None
    update_ref: dict[str, Any] | None = None
    alert: bool = False  # the check-in's alert, not the check-in itself: its ref is kept apart
    painpoint_id: int | None = (
        None  # a pain point's message (its alert, or "You said, we did"): ref kept there
    )
    language: str | None = None  # what the view was said in (handlers.languages); its ref keeps it


@dataclass
class Reply:
    view: View
    outbox: list[Outgoing] = field(default_factory=list)


class Messenger(Protocol):
    """Sends views through whatever channels the deployment has (Slack, Teams, console)."""

    async def send_direct(self, org_id: int, person_id: int, view: View) -> dict[str, Any]:
        """Post to the person's DM; return a reference that `update` understands."""
        ...

    async def send_to_channel(
        self, org_id: int, platform: str | None, channel: str, view: View
    ) -> dict[str, Any]:
        """Post to a channel (alerts). `platform` None lets the messenger tell from the id."""
        ...

    async def update(self, org_id: int, ref: dict[str, Any], view: View) -> None:
        """Replace a message sent earlier (an answered check-in shows its answer in place)."""
        ...


class Channel(Protocol):
    """One platform's way of posting: what every channel (`bot/<platform>/channel.py`) implements.

    A reference (`dict`) is whatever the channel needs to find the message again; it is stored
    under the check-in (`Checkin.message_refs`) and handed back to `update`.
    """

    platform: str

    async def send_direct(
        self, org_id: int, person: Person, identity: Identity | None, view: View
    ) -> dict[str, Any]:
        """Post to the person's direct conversation with the bot; `identity` is theirs here."""
        ...

    async def send_to_channel(self, org_id: int, channel: str, view: View) -> dict[str, Any]:
        """Post to a channel (alerts, shared reports)."""
        ...

    async def update(self, org_id: int, ref: dict[str, Any], view: View) -> None:
        """Replace a message sent earlier."""
        ...

    async def find_sent(
        self, org_id: int, person: Person, identity: Identity | None, checkin_id: int, since: dt.datetime
    ) -> dict[str, Any] | None:
        """The reference of a message carrying this check-in sent to the person since `since` (naive
        UTC, less `LOOKUP_MARGIN`), or None: so that a retried send is not a second message.

        Raises CannotLook where the platform cannot read back, DeliveryFailed when asking failed."""
        ...


class Directory(Protocol):
    """Finds people on the platform: a mention's user id or an e-mail address."""

    async def resolve(self, session: AsyncSession, org_id: int, ref: PersonRef) -> Person | None: ...


@dataclass(frozen=True)
class Policy:
    """Deployment settings the core needs (from bot.config, without depending on it)."""

    admins: frozenset[str] = frozenset()
    timezone: str = "UTC"
    alert_channel: str | None = None
    currency: str | None = None  # ISO 4217 code of the money figures (PMO_CURRENCY), or none
    language: str = "en"  # PMO_LANGUAGE: where a person's own is unknown, and for channels


@dataclass
class Services:
    db: Database
    messenger: Messenger
    directory: Directory
    policy: Policy = field(default_factory=Policy)
    today: dt.date | None = None  # fixed in tests; None means today's UTC date


@dataclass(frozen=True)
class Caller:
    """Who runs a command, and where: a person of an organisation on a platform."""

    org_id: int
    person_id: int
    platform: str
    channel: str | None = None
