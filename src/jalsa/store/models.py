"""The operational store: events, their streams, audience samples and the log of every poll.

Natural keys make every write idempotent: an event by slug, a stream by (event, kind, external
id), a sample by (stream, metric, observed_at), a poll by (stream, scheduled_at). A retry or a
restart therefore upserts instead of duplicating.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from jalsa.store.types import UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64))
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    streams: Mapped[list[Stream]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="Stream.id"
    )

    @property
    def x_query(self) -> str | None:
        """The X search query for the event: its hashtags joined with OR."""
        return " OR ".join(self.hashtags) if self.hashtags else None


class Stream(Base):
    __tablename__ = "streams"
    __table_args__ = (UniqueConstraint("event_id", "kind", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    event: Mapped[Event] = relationship(back_populates="streams")


class Sample(Base):
    """One reading of one catalogue metric. `observed_at` is the poll's scheduled slot (or the
    platform's own bucket start); `fetched_at` is when the answer actually arrived."""

    __tablename__ = "samples"
    __table_args__ = (
        UniqueConstraint("stream_id", "metric", "observed_at"),
        Index("ix_samples_metric_time", "metric", "observed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(64))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    value: Mapped[int] = mapped_column(BigInteger)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Poll(Base):
    """Every poll, successful or not: the stream's health history and the API spend ledger."""

    __tablename__ = "polls"
    __table_args__ = (UniqueConstraint("stream_id", "scheduled_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    quota_units: Mapped[int] = mapped_column(Integer, default=0)
    billed_resources: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)


# -- the team: accounts, sessions, invitations, API tokens, audit log, platform credentials -----


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebSession(Base):
    """A browser session. Only a hash of the cookie value is stored."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Invitation(Base):
    """A one-time link that lets someone create an account with a given role."""

    __tablename__ = "invitations"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    used_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )


class ApiToken(Base):
    """A bearer token for scripts and vantage agents; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # "api": the owner's role, less token management; "agent": uploads for `vantage` only.
    scope: Mapped[str] = mapped_column(String(16), default="api", server_default="api")
    vantage: Mapped[str | None] = mapped_column(String(100), nullable=True)


class AuditEntry(Base):
    """Every write through the web app or the API: who, what, on what, when, from where."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_at", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")


class Credential(Base):
    """A platform credential, encrypted at rest (Fernet); `hint` is all that is ever shown."""

    __tablename__ = "credentials"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # a Settings attribute
    ciphertext: Mapped[str] = mapped_column(Text)
    hint: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )


# -- disruption watch: measurements from vantage points, incidents -------------------------------


class WatchMeasurement(Base):
    """One probe of one target from one vantage (or one imported OONI measurement). The id is
    made where it was measured, so an agent that uploads the same batch twice stores it once.
    `record` is the whole `jalsa.watch.record.Measurement`; the columns are for queries."""

    __tablename__ = "watch_measurements"
    __table_args__ = (
        Index("ix_watch_measurements_time", "started_at"),
        Index("ix_watch_measurements_vantage", "vantage", "round_at"),
    )

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    round_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    target: Mapped[str] = mapped_column(String(253))
    platform: Mapped[str] = mapped_column(String(32))
    vantage: Mapped[str] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(100), default="")
    network: Mapped[str] = mapped_column(String(100), default="")
    method: Mapped[str] = mapped_column(String(32))
    blocked: Mapped[bool] = mapped_column(default=False)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(200), default="probe")
    record: Mapped[dict[str, object]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )


class WatchIncident(Base):
    """A disruption the detector found: opened, updated while it lasts, closed. `record` is the
    detector's whole incident (evidence ids, method counts, confidence, summary)."""

    __tablename__ = "watch_incidents"
    __table_args__ = (Index("ix_watch_incidents_time", "started_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # open, closed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    platforms: Mapped[list[str]] = mapped_column(JSON, default=list)
    method: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text, default="")
    record: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- inbox: comments and live chat, moderation decisions (the audit trail), replies ----------


class InboxItemRow(Base):
    """One comment, reply, mention or chat message from a platform, with what was decided about
    it. (platform, external_id) is the natural key, so a collector that sees an item again
    stores nothing twice. `status` is the moderation state (new, allowed, review, hidden,
    appealed); `platform_state` is what the platform shows (visible, hidden, banned, deleted,
    error, dry_run). `pending_action` and `retry_at` hold a platform action that failed and will
    be tried again, so one failing item never holds the queue up."""

    __tablename__ = "inbox_items"
    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        Index("ix_inbox_items_queue", "event_id", "status", "collected_at"),
        Index("ix_inbox_items_platform", "event_id", "platform", "status"),
        Index("ix_inbox_items_language", "event_id", "language", "status"),
        Index("ix_inbox_items_category", "event_id", "category", "status"),
        Index("ix_inbox_items_assigned", "assigned_to", "status"),
        Index("ix_inbox_items_author", "platform", "author_id"),
        Index("ix_inbox_items_retry", "retry_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    thread_id: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    author_id: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    permalink: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    language: Mapped[str] = mapped_column(String(16), default="unknown")
    status: Mapped[str] = mapped_column(String(16), default="new")
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    read_status: Mapped[str] = mapped_column(String(16), default="ok")  # Decision.status
    policy_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    platform_state: Mapped[str] = mapped_column(String(16), default="visible")
    platform_detail: Mapped[str] = mapped_column(Text, default="")
    actioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    pending_action: Mapped[str | None] = mapped_column(String(16), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    extra: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InboxDecisionRow(Base):
    """One decision about one item, automatic (`actor` "auto") or human, never changed once
    written: the audit trail and, from human ones, the classifier's new labels. An undo is a
    new row that `reverses` the one it undoes."""

    __tablename__ = "inbox_decisions"
    __table_args__ = (
        Index("ix_inbox_decisions_item", "item_id", "at"),
        Index("ix_inbox_decisions_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox_items.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(120))  # a username, or "auto"
    # hide, unhide, allow, review, ban, undo, appeal, appeal_upheld, appeal_rejected, assign
    action: Mapped[str] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    policy_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    findings: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    result_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    result_detail: Mapped[str] = mapped_column(Text, default="")
    reverses: Mapped[int | None] = mapped_column(
        ForeignKey("inbox_decisions.id", ondelete="SET NULL"), nullable=True
    )


class InboxReplyRow(Base):
    """A reply to an item: drafted, checked against the code of conduct, approved when the check
    flagged it, sent through the platform. `check_decision` is the policy's whole Decision on
    the reply's text."""

    __tablename__ = "inbox_replies"
    __table_args__ = (
        Index("ix_inbox_replies_item", "item_id"),
        Index("ix_inbox_replies_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox_items.id", ondelete="CASCADE"))
    drafted_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(String(64), nullable=True)
    language: Mapped[str] = mapped_column(String(16), default="unknown")
    check_decision: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # draft, needs_approval, approved, sent, failed, rejected
    status: Mapped[str] = mapped_column(String(16))
    approved_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    platform_reply_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# -- mobilize: supporters, consent, the opt-out registry, SMS campaigns and the outbox --------


class Supporter(Base):
    """A supporter who gave a phone number. `phone` is E.164 and the natural key: importing the
    same list twice, or two lists with the same person, stores one supporter."""

    __tablename__ = "supporters"
    __table_args__ = (
        Index("ix_supporters_city", "city"),
        Index("ix_supporters_constituency", "constituency"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    constituency: Mapped[str] = mapped_column(String(32), default="")
    language: Mapped[str] = mapped_column(String(8), default="ur")  # "ur" or "en"
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The recipient's time zone for quiet hours; None: the one of the number's country when it
    # has one, else the campaign's.
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Consent(Base):
    """A supporter's consent to one purpose of messages ("reminders": event reminders;
    "general": everything else), where it was given and when."""

    __tablename__ = "supporter_consents"

    supporter_id: Mapped[int] = mapped_column(
        ForeignKey("supporters.id", ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OptOut(Base):
    """The opt-out registry, by phone number so it outlives the supporter record and any
    re-import: a number here gets no campaign message, whatever its consent says."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(32))  # "sms" (a keyword), "import", "manual"
    detail: Mapped[str] = mapped_column(Text, default="")


class Campaign(Base):
    """An SMS campaign: templates per language, a segment of supporters, when to send (as the
    user wrote it and resolved to UTC), sending hours and the spread of sending. `cursor` is the
    highest supporter id already given a message row, so sending resumes where it stopped."""

    __tablename__ = "sms_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), nullable=True
    )
    purpose: Mapped[str] = mapped_column(String(16))
    templates: Mapped[dict[str, str]] = mapped_column(JSON)  # language -> template
    segment: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    schedule: Mapped[str] = mapped_column(String(64))
    send_at: Mapped[datetime] = mapped_column(UTCDateTime())
    spread_minutes: Mapped[int] = mapped_column(Integer, default=0)
    # Sending hours in the recipient's local time (outside them is quiet: messages wait).
    send_from: Mapped[str] = mapped_column(String(5), default="09:00")
    send_until: Mapped[str] = mapped_column(String(5), default="21:00")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Karachi")
    # draft, scheduled, sending, paused, done, cancelled, failed (it cannot be sent: `failure`)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    failure: Mapped[str] = mapped_column(Text, default="", server_default="")
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SmsMessage(Base):
    """One message of the outbox. (campaign_id, supporter_id) is unique, which is what makes a
    campaign send at most one message to a supporter however often it is restarted; a reply to an
    inbound message (a STOP confirmation) is unique by `inbound_id`. `status`: queued, deferred
    (quiet hours), sending (handed to a gateway, no outcome yet), submitted, delivered, failed,
    expired, rejected, unknown (sent, outcome lost: settled by a receipt or a lookup), skipped."""

    __tablename__ = "sms_messages"
    __table_args__ = (
        UniqueConstraint("campaign_id", "supporter_id"),
        Index("ix_sms_messages_due", "status", "not_before"),
        Index("ix_sms_messages_campaign", "campaign_id", "status"),
        Index("ix_sms_messages_gateway_id", "gateway", "gateway_id"),
        Index("ix_sms_messages_phone", "phone", "status"),
        Index("ix_sms_messages_sender", "sender", "submitted_at"),
        Index("ix_sms_messages_kind_created", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "campaign" or "reply"
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("sms_campaigns.id", ondelete="CASCADE"), nullable=True
    )
    supporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("supporters.id", ondelete="SET NULL"), nullable=True
    )
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("sms_inbound.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    phone: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))  # the recipient's, for sending hours
    text: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(8))
    segments: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    gateway: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sender: Mapped[str | None] = mapped_column(String(32), nullable=True)
    gateway_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When it was last handed to a gateway (what the per-sender limits count).
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SmsInbound(Base):
    """A message a supporter sent us, stored once by the gateway's id of it. `keyword` is what
    it asked for: stop, help, start, or none."""

    __tablename__ = "sms_inbound"
    __table_args__ = (
        UniqueConstraint("gateway", "gateway_id"),
        Index("ix_sms_inbound_phone", "phone"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    gateway: Mapped[str] = mapped_column(String(16))
    gateway_id: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(20))
    to: Mapped[str] = mapped_column(String(32), default="")
    text: Mapped[str] = mapped_column(Text)
    keyword: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SenderLease(Base):
    """Who is sending: one outbox sender at a time holds the lease and renews it. A new sender
    takes it over when it has expired, or at once when its holder's process on the same host is
    gone (a `kill -9`), and then settles the messages the dead sender left in flight."""

    __tablename__ = "sms_sender_lease"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))  # host:pid
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
