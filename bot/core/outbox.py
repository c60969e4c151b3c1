"""Durable delivery to the advisors: every card waits in the database until a channel took it.

An item is leased before it is sent (its next attempt moved past the send), so two workers never
send it at once and a crash mid-send only means one more try after the lease: at-least-once, never
lost. Failures back off exponentially, or wait as long as Telegram's retry_after says.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.storage.database import Database

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
FIRST_BACKOFF_SECONDS = 5.0


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    kind: str
    destination: str
    text: str
    lead_id: int | None


@dataclass(frozen=True)
class Delivered:
    chat_id: int | None = None
    message_id: str | None = None


class DeliveryFailed(Exception):
    """The channel could not deliver; `retry_after` (seconds) when the other side said when."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class AdvisorChannel(Protocol):
    """Where lead cards go: the advisors' Telegram group, the terminal, later a web inbox."""

    async def deliver(self, message: OutgoingMessage) -> Delivered: ...


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
        channel: AdvisorChannel,
        *,
        max_backoff_seconds: float = 600,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._channel = channel
        self._max_backoff = max_backoff_seconds
        self._clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Asks the running loop to flush now (a lead was just created)."""
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
            items = await repo.outbox.claim_due(now)
            leased = []
            for item in items:
                item.attempts += 1
                item.next_attempt_at = now + LEASE
                leased.append(
                    (
                        OutgoingMessage(
                            item.id, item.kind, item.destination, item.text, item.lead_id
                        ),
                        item.attempts,
                    )
                )
            return leased

    async def _deliver(self, message: OutgoingMessage, attempts: int) -> bool:
        try:
            receipt = await self._channel.deliver(message)
        except DeliveryFailed as exc:
            await self._record_failure(message, attempts, exc.reason, exc.retry_after)
            return False
        except Exception as exc:  # a bug in a channel must not lose the card either
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
        log.info(
            "outbox item %s (%s, lead %s) delivered", message.id, message.kind, message.lead_id
        )
        return True

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
