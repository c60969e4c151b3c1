"""Durable delivery: every message to the advisors or to a person waits in the database until a
channel took it.

An item is leased before it is sent (its next attempt moved past the send), so two workers never
send it at once and a crash mid-send only means one more try after the lease: at-least-once, never
lost. Failures back off exponentially, or wait as long as Telegram's retry_after says. A refusal
for good (the person blocked the bot) marks the item undeliverable and tells the core, which tells
the advisors. Items sharing an ordering key go out in order (a card before its edits).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.storage.database import Database
from bot.storage.models import Lead, OutboxItem, Person
from bot.storage.repositories import Repositories

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
FIRST_BACKOFF_SECONDS = 5.0

# Destinations
ADVISORS = "advisors"
PERSON = "person"


class Kind:
    """What an outbox item asks the channel to do."""

    OPEN_TOPIC = "open_topic"  # a forum topic for a lead, where the chat is a forum
    LEAD_CARD = "lead_card"  # the card, with its buttons, into the lead's topic or the chat
    CARD_EDIT = "card_edit"  # the card's new text and buttons (claimed, status, closed)
    THREAD_NOTE = "thread_note"  # a line in the lead's thread (reminder, "person ended")
    RELAY = "relay"  # a relayed message, translated when it is sent
    COPY = "copy"  # a photo, document or voice note, copied as it is
    MESSAGE = "message"  # a message to a person (notices in their language)


@dataclass(frozen=True)
class LeadThread:
    """Where a lead lives in the advisors' chat, as far as it exists yet."""

    lead_id: int
    topic_id: int | None
    card_chat_id: int | None
    card_message_id: int | None


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    kind: str
    destination: str
    text: str
    lead_id: int | None
    channel: str = "telegram"
    person_id: int | None = None
    # The person's id on their channel, for messages to them.
    address: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    thread: LeadThread | None = None


@dataclass(frozen=True)
class Delivered:
    chat_id: int | None = None
    message_id: str | None = None
    topic_id: int | None = None


class DeliveryFailed(Exception):
    """The channel could not deliver; `retry_after` (seconds) when the other side said when;
    `permanent` when trying again cannot help (the person blocked the bot)."""

    def __init__(
        self, reason: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent


class DeliveryChannel(Protocol):
    """Where items go: Telegram (advisors' group and persons), the terminal, later a web inbox."""

    name: str

    async def deliver(self, message: OutgoingMessage) -> Delivered: ...


# Kept for readers of older code: the advisors' side is one destination of a channel.
AdvisorChannel = DeliveryChannel


class Composer(Protocol):
    """Completes an item just before it is sent (a relay is translated then, not while the
    person waits for the bot's answer)."""

    async def compose(self, message: OutgoingMessage) -> OutgoingMessage: ...


Undeliverable = Callable[[Repositories, OutboxItem], Awaitable[None]]


@dataclass(frozen=True)
class FlushResult:
    sent: int
    failed: int


def backoff_seconds(attempts: int, maximum: float) -> float:
    return min(FIRST_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), maximum)


class Outbox:
    def __init__(
        self,
        database: Database,
        channel: DeliveryChannel,
        *,
        composer: Composer | None = None,
        on_undeliverable: Undeliverable | None = None,
        max_backoff_seconds: float = 600,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._channel = channel
        self._composer = composer
        self._on_undeliverable = on_undeliverable
        self._max_backoff = max_backoff_seconds
        self._clock = clock
        self._wake = asyncio.Event()

    @property
    def channel_name(self) -> str:
        return getattr(self._channel, "name", "telegram")

    def wake(self) -> None:
        """Asks the running loop to flush now (something was just queued)."""
        self._wake.set()

    async def flush(self) -> FlushResult:
        """Delivers everything due now; returns how many were sent and how many failed."""
        sent = failed = 0
        while True:
            batch = await self._lease_due()
            if not batch:
                return FlushResult(sent, failed)
            for message, attempts in batch:
                if await self._deliver(message, attempts):
                    sent += 1
                else:
                    failed += 1

    async def run(self, stop: asyncio.Event, poll_seconds: float) -> None:
        """Flushes until `stop` is set: at once when woken, otherwise every `poll_seconds`."""
        while not stop.is_set():
            try:
                await self.flush()
            except Exception:  # the loop must survive a database hiccup; items stay queued
                log.exception("outbox flush failed; will retry in %.0f s", poll_seconds)
            self._wake.clear()
            waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
            _done, pending = await asyncio.wait(
                waiters, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    async def _lease_due(self) -> list[tuple[OutgoingMessage, int]]:
        now = self._clock()
        async with self._db.transaction() as repo:
            items = await repo.outbox.claim_due(now, (self.channel_name,))
            leased = []
            for item in items:
                item.attempts += 1
                item.next_attempt_at = now + LEASE
                lead = await repo.leads.get(item.lead_id) if item.lead_id else None
                person = await repo.persons.get(item.person_id) if item.person_id else None
                leased.append((_outgoing(item, lead, person), item.attempts))
            return leased

    async def _deliver(self, message: OutgoingMessage, attempts: int) -> bool:
        try:
            if self._composer is not None:
                message = await self._composer.compose(message)
            receipt = await self._channel.deliver(message)
        except DeliveryFailed as exc:
            if exc.permanent:
                await self._give_up(message, exc.reason)
            else:
                await self._record_failure(message, attempts, exc.reason, exc.retry_after)
            return False
        except Exception as exc:  # a bug in a channel must not lose the message either
            log.exception("outbox item %s: unexpected delivery error", message.id)
            await self._record_failure(message, attempts, f"{type(exc).__name__}: {exc}", None)
            return False
        async with self._db.transaction() as repo:
            item = await repo.outbox.get(message.id)
            if item is not None:
                item.status = "sent"
                item.sent_at = self._clock()
                item.last_error = None
                item.external_chat = receipt.chat_id
                item.external_ref = receipt.message_id
            if message.lead_id is not None:
                await _remember_thread(repo, message, receipt)
        log.info(
            "outbox item %s (%s to %s, lead %s) delivered",
            message.id,
            message.kind,
            message.destination,
            message.lead_id,
        )
        return True

    async def _give_up(self, message: OutgoingMessage, reason: str) -> None:
        async with self._db.transaction() as repo:
            item = await repo.outbox.get(message.id)
            if item is None:
                return
            item.status = "undeliverable"
            item.last_error = reason[:500]
            if self._on_undeliverable is not None:
                await self._on_undeliverable(repo, item)
        log.warning(
            "outbox item %s (%s to %s, lead %s) undeliverable: %s",
            message.id,
            message.kind,
            message.destination,
            message.lead_id,
            reason,
        )

    async def _record_failure(
        self, message: OutgoingMessage, attempts: int, reason: str, retry_after: float | None
    ) -> None:
        delay = (
            retry_after if retry_after is not None else backoff_seconds(attempts, self._max_backoff)
        )
        async with self._db.transaction() as repo:
            item = await repo.outbox.get(message.id)
            if item is not None:
                item.next_attempt_at = self._clock() + timedelta(seconds=delay)
                item.last_error = reason[:500]
        log.warning(
            "outbox item %s (%s, lead %s) not delivered, attempt %d: %s; next try in %.0f s",
            message.id,
            message.kind,
            message.lead_id,
            attempts,
            reason,
            delay,
        )


def _outgoing(item: OutboxItem, lead: Lead | None, person: Person | None) -> OutgoingMessage:
    thread = None
    if lead is not None:
        thread = LeadThread(lead.id, lead.topic_id, lead.card_chat_id, lead.card_message_id)
    return OutgoingMessage(
        id=item.id,
        kind=item.kind,
        destination=item.destination,
        text=item.text,
        lead_id=item.lead_id,
        channel=item.channel,
        person_id=item.person_id,
        address=person.external_id if person is not None else None,
        payload=dict(item.payload or {}),
        thread=thread,
    )


async def _remember_thread(
    repo: Repositories, message: OutgoingMessage, receipt: Delivered
) -> None:
    """A new topic or card (or a card posted again) is where the lead's later messages go."""
    card_kinds = {Kind.OPEN_TOPIC, Kind.LEAD_CARD, Kind.CARD_EDIT}
    if message.destination != ADVISORS or message.kind not in card_kinds:
        return
    if message.kind == Kind.CARD_EDIT and receipt.message_id is None:
        return  # edited in place
    lead = await repo.leads.get(message.lead_id or 0)
    if lead is None:
        return
    if message.kind == Kind.OPEN_TOPIC:
        lead.topic_id = receipt.topic_id
        lead.card_chat_id = receipt.chat_id
    elif receipt.message_id is not None:
        lead.card_chat_id = receipt.chat_id
        lead.card_message_id = int(receipt.message_id) if receipt.message_id.isdigit() else None
