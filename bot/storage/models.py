"""Tables of the bot. Personal data sits in few, named places, so erasure stays simple."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Person(TimestampMixin, Base):
    """Someone talking to the bot on one channel. No names here: those live in the profile."""

    __tablename__ = "persons"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_person_channel_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    platform_language: Mapped[str | None] = mapped_column(String(16))
    consent_version: Mapped[int | None] = mapped_column(Integer)
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Languages the bot has offered to switch to; each is offered once, never forced.
    language_offers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The lead whose handoff is under way (waiting or with an advisor); None: the bot talks.
    active_lead_id: Mapped[int | None] = mapped_column(Integer)
    # Set when Telegram refused a message because the person blocked the bot; cleared when
    # the person writes again.
    unreachable_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Conversation(Base):
    """Where a person is in the dialog, saved after every step: a restart resumes right there."""

    __tablename__ = "conversations"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    screen: Mapped[str] = mapped_column(String(32), default="new")
    step: Mapped[str | None] = mapped_column(String(64))
    # Draft intake answers; only written once the person has consented.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Multi-select state of the current question (selected options, waiting for "other" text).
    pending: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)
    editing: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Profile(TimestampMixin, Base):
    """The interest profile the person confirmed last (the basis for matching and later leads)."""

    __tablename__ = "profiles"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Lead(TimestampMixin, Base):
    """A request that goes to the advisors. Its number is shown to both sides."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # "intake" or "contact"
    status: Mapped[str] = mapped_column(String(24), default="new")
    language: Mapped[str] = mapped_column(String(16))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # How advisors reach the person: channel, id and the handle shown on the card.
    contact: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Handoff: waiting -> with_advisor -> closed (see docs/HANDOFF.md). `status` above is the
    # advisors' progress (new, contacted, appointment, placed, completed, not_interested).
    handoff: Mapped[str] = mapped_column(String(16), default="waiting")
    advisor_id: Mapped[int | None] = mapped_column(BigInteger)
    advisor_name: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When an unclaimed lead is announced again; in the database so a restart keeps it.
    reannounce_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # Where the card lives in the advisors' chat: forum topic (if any) and the card message.
    topic_id: Mapped[int | None] = mapped_column(BigInteger)
    card_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Catalogue suggestions shown after the intake (bot.core.matching records), each with
    # "interested": whether the person marked it.
    suggestions: Mapped[list[Any]] = mapped_column(JSON, default=list)


class LeadEvent(Base):
    """The audit log: who did what to which lead, and when. Notes are events of kind "note"."""

    __tablename__ = "lead_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RelayMessage(Base):
    """One message relayed between a person and the advisors, with its machine translation."""

    __tablename__ = "relay_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(16))  # "to_advisors" | "to_person"
    author_name: Mapped[str | None] = mapped_column(String(64))
    source_language: Mapped[str] = mapped_column(String(16))
    target_language: Mapped[str] = mapped_column(String(16))
    original: Mapped[str] = mapped_column(Text)
    translation: Mapped[str | None] = mapped_column(Text)
    translation_note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CachedTranslation(Base):
    """Machine translations, keyed by a hash of engine, languages and text. `person_id` ties a
    translation of a person's words to them, so erasure can remove it."""

    __tablename__ = "translation_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxItem(TimestampMixin, Base):
    """A message that must reach somebody; it stays here until delivery succeeded."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # see bot.core.outbox.Kind
    destination: Mapped[str] = mapped_column(String(24))  # "advisors" | "person"
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    # The channel of the person concerned ("telegram", "console"): each channel's worker
    # delivers only its own items, also the advisors' side of its persons' leads.
    channel: Mapped[str] = mapped_column(String(16), default="telegram")
    # Items with the same key are delivered in order: a card before its edits and replies.
    ordering_key: Mapped[str | None] = mapped_column(String(48), index=True)
    # Buttons, the message to copy, the relay message to compose: whatever the kind needs.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text)
    # pending | sent | undeliverable (the other side refused for good, e.g. the bot is blocked)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    external_ref: Mapped[str | None] = mapped_column(String(64))
    # Telegram message ids can exceed 32 bits in channels; keep a wide column for them.
    external_chat: Mapped[int | None] = mapped_column(BigInteger)


class UnclearMessage(Base):
    """A message the bot did not understand, kept (with consent) to improve the training data."""

    __tablename__ = "nlu_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(48))
    confidence: Mapped[float] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobRun(Base):
    """When a scheduled job (retention) last ran, so a restart does not run it again early.
    The row is locked while a run is claimed: of several bot processes, one runs it."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The counts of the last run (numbers only, never personal data).
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
