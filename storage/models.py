"""SQLAlchemy models: the tables of the data model in ARCHITECTURE.md.

Telegram ids are 64-bit everywhere. Times are stored as UTC and always read back timezone-aware.
Constraint names follow one naming convention so that Alembic migrations stay stable.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and returned timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JsonType,
    }


class Alliance(Base):
    """A set of groups run by one owner; blacklist and settings are scoped to it."""

    __tablename__ = "alliance"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_ids: Mapped[list[int]] = mapped_column(JsonType, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Chat(Base):
    """A Telegram group the bot is in (or was asked into)."""

    __tablename__ = "chat"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    alliance_id: Mapped[int | None] = mapped_column(
        ForeignKey("alliance.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(255), default="")
    type: Mapped[str] = mapped_column(String(16), default="supergroup")
    username: Mapped[str | None] = mapped_column(String(64))
    # active: serving the alliance; pending: waiting for an owner's approval; left: bot gone.
    status: Mapped[str] = mapped_column(String(16), default="active")
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rules_text: Mapped[str | None] = mapped_column(Text)
    welcome_template: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    member_count: Mapped[int | None] = mapped_column(Integer)
    bot_status: Mapped[str | None] = mapped_column(String(16))
    bot_rights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    migrated_to: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TgUser(Base):
    """An account the bot has seen, so admins can name it by @username."""

    __tablename__ = "tg_user"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    first_name: Mapped[str] = mapped_column(String(255), default="")
    last_name: Mapped[str | None] = mapped_column(String(255))
    is_bot: Mapped[bool] = mapped_column(default=False)
    language_code: Mapped[str | None] = mapped_column(String(16))
    started_bot: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Member(Base):
    """A user's membership of one chat: when they came, who brought them, where they stand."""

    __tablename__ = "member"
    __table_args__ = (Index("ix_member_user_id", "user_id"),)

    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chat.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), default="member")
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    joined_at: Mapped[datetime | None] = mapped_column()
    left_at: Mapped[datetime | None] = mapped_column()
    invited_by: Mapped[int | None] = mapped_column(BigInteger, index=True)
    invite_link: Mapped[str | None] = mapped_column(String(255))
    messages_seen: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[datetime | None] = mapped_column()
    # roles given by people, e.g. {"vip": {"by": 1, "at": "...", "note": "..."}}
    roles: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # roles from behaviour (rules.roles.BEHAVIOUR_BITS), recomputed daily
    role_flags: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    roles_at: Mapped[datetime | None] = mapped_column()


class ModerationLog(Base):
    """Everything that was decided, with who, about whom, where and why."""

    __tablename__ = "moderation_log"
    __table_args__ = (Index("ix_moderation_log_chat_at", "chat_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    target_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(32))
    reasons: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Outbox(Base):
    """A Bot API call that changes a chat, written with the decision and drained by the executor.

    `kind` and `payload` are one `rules.actions` action through the codec in `storage.outbox`;
    `priority` and the kind's lane decide its turn; `coalesce_key` names a message that gathers
    later events of its kind while it waits (a welcome wave, a summary of removed ads).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_id", "status", "id"),
        Index("ix_outbox_chat_coalesce", "chat_id", "coalesce_key", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    coalesce_key: Mapped[str | None] = mapped_column(String(64))
    # a row sent only once this one is finished (an answer that reports what was done)
    after_id: Mapped[int | None] = mapped_column(BigInteger)
    # pending -> sending -> done | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class PostedMessage(Base):
    """The bot's latest message of a kind in a chat (e.g. the welcome), to replace it later."""

    __tablename__ = "posted_message"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger)
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)


class Inbox(Base):
    """Every update, written and committed before Telegram is told it arrived, then handled.

    pending -> done (with the update's own effects, or with the next activity batch when it
    decided nothing) | quarantined (it cannot be parsed, or its handling kept failing: kept, with
    the error, for the owners' digest). Done rows are pruned after a day.
    """

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_status_id", "status", "update_id"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # the order key: one chat, in order
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column()


class ChatAdmin(Base):
    """A group's administrators as Telegram last listed them: admins of any group of an alliance
    are protected in all of them, and a stored list stands in when Telegram cannot answer."""

    __tablename__ = "chat_admin"
    __table_args__ = (Index("ix_chat_admin_user_id", "user_id"),)

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16))  # creator | administrator
    can_restrict: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Warning(Base):
    """A warning given to a member; it counts toward the blacklist until it expires or is lifted."""

    __tablename__ = "warning"
    __table_args__ = (Index("ix_warning_alliance_user", "alliance_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliance.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[int | None] = mapped_column(BigInteger)


class BlacklistEntry(Base):
    """An account barred from every group of an alliance, with the evidence for it."""

    __tablename__ = "blacklist"
    # the ad-wave alert counts a group's recent entries on every blacklisting
    __table_args__ = (Index("ix_blacklist_source_chat_created", "source_chat_id", "created_at"),)

    alliance_id: Mapped[int] = mapped_column(
        ForeignKey("alliance.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    # owner | admin | auto | import: who may lift it (rules.moderation.may_lift)
    added_as: Mapped[str] = mapped_column(String(8), default="auto", server_default="auto")
    source_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[int | None] = mapped_column(BigInteger)
    # the owner has been told (reports are batched, so a wave is one message)
    reported_at: Mapped[datetime | None] = mapped_column()


class LabeledMessage(Base):
    """A message labeled by people (admin feedback, undo, import): detector training data."""

    __tablename__ = "labeled_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(8))  # spam | ham
    source: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Activity(Base):
    """Counters per member and local day, written in batches (never one row per message)."""

    __tablename__ = "activity"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    replies_received: Mapped[int] = mapped_column(Integer, default=0)
    reactions_received: Mapped[int] = mapped_column(Integer, default=0)


class ActivityReply(Base):
    """Who replied to whom, per local day: influencers draw replies from many members."""

    __tablename__ = "activity_reply"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    author_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    replier_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    replies: Mapped[int] = mapped_column(Integer, default=0)


class MemberEvent(Base):
    """A join or a leave, with when, who invited and through which link; never batched."""

    __tablename__ = "member_event"
    __table_args__ = (Index("ix_member_event_chat_at", "chat_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(8))  # join | leave | ban
    inviter_id: Mapped[int | None] = mapped_column(BigInteger)
    invite_link: Mapped[str | None] = mapped_column(String(255))


class ChatDay(Base):
    """A group's member count as Telegram reports it, once a day."""

    __tablename__ = "chat_day"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    member_count: Mapped[int] = mapped_column(Integer)


class GroupPeriod(Base):
    """A group's figures for one digest period, kept to show the change since the last one."""

    __tablename__ = "group_period"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)  # day | week | month
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    members: Mapped[int] = mapped_column(Integer)
    active_members: Mapped[int] = mapped_column(Integer)
    active_ratio: Mapped[float] = mapped_column(Float)
    exit_rate: Mapped[float] = mapped_column(Float)
    joins: Mapped[int] = mapped_column(Integer)
    leaves: Mapped[int] = mapped_column(Integer)
    messages: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(16))


class Schedule(Base):
    """A recurring job of an alliance (a digest, a group report); rebuilt into the job queue at
    start. `recurrence` is rules.schedule's canonical text, e.g. "daily 09:00" or "mon 09:00"."""

    __tablename__ = "schedule"
    __table_args__ = (Index("ix_schedule_alliance_kind", "alliance_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliance.id", ondelete="CASCADE"))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    recurrence: Mapped[str] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    last_run_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertSent(Base):
    """An alert already sent: at most one per group, kind and local day."""

    __tablename__ = "alert_sent"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
