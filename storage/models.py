"""SQLAlchemy 2.0 models: the single source of truth for what was sent and answered.

Every row belongs to an organisation. Times are stored as naive UTC datetimes so that
SQLite and PostgreSQL compare them the same way; `storage.clock.utcnow()` makes them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""


Base.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("member", "staff", "admin")
# PostgreSQL reads 9999-12-31 back as 'infinity', which no date arithmetic accepts: due dates stop here.
LATEST_DUE = dt.date(2999, 12, 31)
CADENCES = ("weekly", "biweekly", "monthly", "quarterly", "off")
ASK_CADENCES = ("monthly", "quarterly", "off")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KIND_TASTE = "taste"
KIND_PAINPOINT = "painpoint"
KIND_DIGEST = "digest"  # the value digest's ledger rows (0008_digest): one per occurrence and recipient
DIGEST_CADENCES = ("weekly", "monthly", "off")


class Organisation(Base):
    """A PMO: one Slack workspace, one Teams tenant, or the single default organisation."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    pmo_cost: Mapped[float | None] = mapped_column(Float)
    alert_channels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # Set when the platform app is uninstalled (Slack app_uninstalled / tokens_revoked): nothing is
    # scheduled or sent for the organisation until it is installed again.
    suspended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Person(Base):
    """Someone the bot knows: a sponsor, PMO staff, an admin or a plain member."""

    __tablename__ = "people"
    __table_args__ = (Index("ix_people_org_email", "org_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(10), default="member")
    tz: Mapped[str | None] = mapped_column(String(64))
    paused_until: Mapped[dt.date | None] = mapped_column(Date)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    language: Mapped[str | None] = mapped_column(String(8))  # chosen with `language`; None: the platform's

    identities: Mapped[list[Identity]] = relationship(back_populates="person")


class Identity(Base):
    """A person's account on one platform (Slack user id, Teams AAD id, local console)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("org_id", "platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(200))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    locale: Mapped[str | None] = mapped_column(String(35))  # the platform says it: Slack de-DE, Teams fr-FR

    person: Mapped[Person] = relationship(back_populates="identities")


class Project(Base):
    """A project with a sponsor and the schedule on which the sponsor is asked."""

    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("org_id", "name_key"),
        Index("ix_projects_org_segment", "org_id", "segment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str | None] = mapped_column(String(200))
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    cadence: Mapped[str] = mapped_column(String(10), default="biweekly")
    day: Mapped[str] = mapped_column(String(3), default="tue")
    time: Mapped[str] = mapped_column(String(5), default="10:00")
    ask: Mapped[str] = mapped_column(String(10), default="monthly")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)

    sponsor: Mapped[Person] = relationship()


class Checkin(Base):
    """One question sent to a sponsor: a taste check-in or a pain-point prompt.

    `rating`, `comment` and `answered_at` hold the current answer; `answers` keeps history.
    """

    __tablename__ = "checkins"
    __table_args__ = (
        Index("ix_checkins_org_answered", "org_id", "kind", "answered_at", "rating"),
        Index("ix_checkins_org_sent", "org_id", "kind", "sent_at", "answered_at"),
        Index("ix_checkins_project_answered", "project_id", "kind", "answered_at", "rating"),
        Index("ix_checkins_project_sent", "project_id", "kind", "sent_at", "answered_at"),
        Index("ix_checkins_open", "org_id", "status", "kind"),
        # the value report's loop (0006_loop): sour answers with their follow-up, and each one's next answer
        Index(
            "ix_checkins_org_loop",
            "org_id",
            "kind",
            "answered_at",
            "rating",
            "project_id",
            "sponsor_id",
            "sent_at",
            "followed_up_by",
            "followed_up_at",
        ),
        Index(
            "ix_checkins_project_loop",
            "project_id",
            "kind",
            "answered_at",
            "rating",
            "sponsor_id",
            "sent_at",
            "followed_up_by",
            "followed_up_at",
        ),
        Index(
            "ix_checkins_project_next", "project_id", "sponsor_id", "kind", "sent_at", "answered_at", "rating"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    occurrence: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(10), default="open")
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    message_refs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # who took the sour-taste alert ("I'll follow up"), as painpoints records it for pain points
    followed_up_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    followed_up_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # what the PMO changed after the sour taste (`followup ID did:"…"`), and when it said so
    follow_up_did: Mapped[str | None] = mapped_column(Text)
    follow_up_did_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    project: Mapped[Project] = relationship()
    sponsor: Mapped[Person] = relationship(foreign_keys=[sponsor_id])


class Answer(Base):
    """Every answer ever given to a check-in, so a changed answer keeps its history."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime] = mapped_column(DateTime)


PAINPOINT_STATUSES = ("open", "in_progress", "resolved")


class PainPoint(Base):
    """What keeps a sponsor up at night, tracked until fixed with a before/after measure.

    Status `open` → `in_progress` (it has an owner) → `resolved`; the reporter's answer to "Is it
    fixed?" is `confirmed` (None: not answered; False puts it back to open). Every change is a
    `PainPointEvent`. `message_refs` keeps its alert (under "alerts") and its "You said, we did".
    """

    __tablename__ = "painpoints"
    __table_args__ = (
        Index("ix_painpoints_org_reported", "org_id", "reported_at"),
        Index("ix_painpoints_org_resolved", "org_id", "resolved_at"),
        Index("ix_painpoints_project", "project_id", "status"),
        Index("ix_painpoints_owner", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id", ondelete="SET NULL"))
    reported_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime)
    text: Mapped[str] = mapped_column(Text)
    impact: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="open")
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    metric: Mapped[str | None] = mapped_column(String(200))
    baseline: Mapped[float | None] = mapped_column(Float)
    after: Mapped[float | None] = mapped_column(Float)
    better: Mapped[str] = mapped_column(String(6), default="lower")
    followed_up_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    followed_up_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    due: Mapped[dt.date | None] = mapped_column(Date)
    due_reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    fix: Mapped[str | None] = mapped_column(Text)
    confirmed: Mapped[bool | None] = mapped_column(Boolean)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    message_refs: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)

    project: Mapped[Project] = relationship()
    reporter: Mapped[Person] = relationship(foreign_keys=[reported_by])


EVENT_KINDS = ("owner", "note", "measure", "resolved", "fixed", "not_yet", "reopened", "due_reminded")


class PainPointEvent(Base):
    """One change of a pain point (who, what, when): its history, notes included.

    `reopened` rows are the value report's reopenings (a ❌ Not yet that put a resolved pain point
    back to open); `note` rows are the steps taken that a story shows.
    """

    __tablename__ = "painpoint_events"
    __table_args__ = (
        Index("ix_painpoint_events_painpoint", "painpoint_id", "id"),
        Index("ix_painpoint_events_org_kind_at", "org_id", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    painpoint_id: Mapped[int] = mapped_column(ForeignKey("painpoints.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime)


class Outcome(Base):
    """A business-case success criterion; `current` mirrors the newest measurement."""

    __tablename__ = "outcomes"
    __table_args__ = (Index("ix_outcomes_org_project", "org_id", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(40))
    baseline: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    current: Mapped[float | None] = mapped_column(Float)
    benefit: Mapped[float | None] = mapped_column(Float)
    due: Mapped[dt.date | None] = mapped_column(Date)
    added_on: Mapped[dt.date] = mapped_column(Date)

    project: Mapped[Project] = relationship()


class Measurement(Base):
    """One reading of an outcome's metric, kept as history."""

    __tablename__ = "measurements"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    outcome_id: Mapped[int] = mapped_column(ForeignKey("outcomes.id", ondelete="CASCADE"), index=True)
    value: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[dt.datetime] = mapped_column(DateTime)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class Delivery(Base):
    """The delivery ledger: claiming a row before sending makes each send happen once."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("kind", "project_id", "sponsor_id", "occurrence", name="uq_deliveries_key"),
        Index("ix_deliveries_org_status", "org_id", "status"),
        # The clock's keys (migration 0004_clock): one scheduled send per project and local date
        # whatever the sponsor's zone; `slot` is NULL for sends outside the schedule (`/pmo checkin`).
        Index("uq_deliveries_slot", "kind", "project_id", "slot", unique=True),
        Index("ix_deliveries_occurrence", "occurrence"),
        Index("ix_deliveries_status_lease", "status", "lease_until"),
        # The digest's key (0008_digest): one send per organisation, local date and recipient;
        # check-in rows leave `recipient` NULL, which a unique index never compares.
        Index("uq_deliveries_recipient", "org_id", "kind", "slot", "recipient", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # NULL only for a digest (it belongs to no project; a channel recipient has no person either)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    occurrence: Mapped[dt.datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(10), default="claimed")
    claimed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)
    slot: Mapped[str | None] = mapped_column(String(40))
    # a digest's recipient (DigestRecipient.key: "channel:slack", "person:12"); NULL for check-ins
    recipient: Mapped[str | None] = mapped_column(String(80))


class DigestSchedule(Base):
    """When the organisation's value digest goes out (CONTRACT section 9); one row per organisation,
    made by the first `digest here` or `digest to`. Times are in PMO_TIMEZONE."""

    __tablename__ = "digest_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), unique=True)
    cadence: Mapped[str] = mapped_column(String(10), default="monthly")
    day: Mapped[str] = mapped_column(String(3), default="mon")
    time: Mapped[str] = mapped_column(String(5), default="09:00")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class DigestRecipient(Base):
    """Who receives the digest: a channel (one per platform, `digest here`) or a person (`digest to`).

    `key` names the recipient in the ledger (`channel:PLATFORM`, `person:ID`), so moving the
    digest to another channel of the same platform never sends one occurrence twice; an
    occurrence before `added_at` is not sent to this recipient.
    """

    __tablename__ = "digest_recipients"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    platform: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(300))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime)


class WebhookEvent(Base):
    """One webhook event (CONTRACT section 11) in the durable outbox, written in the transaction of
    the change it describes and POSTed later by the clock (bot/clock/webhooks.py).

    `state` is `pending` until the receiver answers 2xx (`delivered`), or the retry window ran out
    (`failed`). `key` orders delivery: an event is not sent while an older event of the same key
    (one pain point, one check-in, one outcome) is pending. A sender holds `lease_until` while it
    posts, so that no other clock posts the same event at the same time.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_due", "state", "next_attempt_at"),
        Index("ix_webhook_events_key", "key", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(36))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class ProcessedEvent(Base):
    """Platform event ids already handled, so retried deliveries are processed once."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)


class InboxJob(Base):
    """Work a platform was told had succeeded, kept until it is done (CONTRACT section 8).

    A row is written before the acknowledgement and deleted when the work is done; a process that
    dies leaves its rows behind, and the next process whose lease finds them expired resumes them.
    `state` says how far the work got: `new` (nothing applied yet: run it all), `applied` (the use
    case committed, `result` holds its reply and the messages it queued: send those, then the
    tail), `sent` (its new messages went out: only the tail is left), `failed` (kept for operators).
    """

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_state_lease", "state", "lease_until"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), default="new")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(Text)


class Conversation(Base):
    """A place on a platform the bot can post to (a Teams team, channel or chat): how to reach it.

    `address` holds what the platform needs to post there again without being asked first
    (for Teams: the conversation reference with its service URL and tenant).
    """

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("org_id", "platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class LocalMessage(Base):
    """A message the bot posted to someone in the local console (its 'DM' inbox)."""

    __tablename__ = "local_messages"
    __table_args__ = (Index("ix_local_messages_person", "org_id", "person_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    channel: Mapped[str | None] = mapped_column(String(200))
    view: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


# ---- Slack's OAuth tables, as slack_sdk's SQLAlchemy installation and state stores define them.
# The stores read and write these rows themselves (bot/slack/workspaces.py); they are declared here
# so that the migrations create them and the schema test sees one schema. Not per organisation:
# a row names its workspace by team_id, and the organisation's key is f"slack:{team_id}".


class SlackInstallation(Base):
    __tablename__ = "slack_installations"
    __table_args__ = (
        Index("slack_installations_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(32))
    app_id: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    enterprise_url: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[str | None] = mapped_column(String(32))
    team_name: Mapped[str | None] = mapped_column(String(200))
    bot_token: Mapped[str | None] = mapped_column(String(200))
    bot_id: Mapped[str | None] = mapped_column(String(32))
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_scopes: Mapped[str | None] = mapped_column(String(1000))
    bot_refresh_token: Mapped[str | None] = mapped_column(String(200))
    bot_token_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    user_id: Mapped[str] = mapped_column(String(32))
    user_token: Mapped[str | None] = mapped_column(String(200))
    user_scopes: Mapped[str | None] = mapped_column(String(1000))
    user_refresh_token: Mapped[str | None] = mapped_column(String(200))
    user_token_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    incoming_webhook_url: Mapped[str | None] = mapped_column(String(200))
    incoming_webhook_channel: Mapped[str | None] = mapped_column(String(200))
    incoming_webhook_channel_id: Mapped[str | None] = mapped_column(String(200))
    incoming_webhook_configuration_url: Mapped[str | None] = mapped_column(String(200))
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean, default=False)
    token_type: Mapped[str | None] = mapped_column(String(32))
    installed_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SlackBot(Base):
    __tablename__ = "slack_bots"
    __table_args__ = (Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(32))
    app_id: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[str | None] = mapped_column(String(32))
    team_name: Mapped[str | None] = mapped_column(String(200))
    bot_token: Mapped[str | None] = mapped_column(String(200))
    bot_id: Mapped[str | None] = mapped_column(String(32))
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_scopes: Mapped[str | None] = mapped_column(String(1000))
    bot_refresh_token: Mapped[str | None] = mapped_column(String(200))
    bot_token_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean, default=False)
    installed_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SlackOAuthState(Base):
    __tablename__ = "slack_oauth_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(200))
    expire_at: Mapped[dt.datetime] = mapped_column(DateTime)
