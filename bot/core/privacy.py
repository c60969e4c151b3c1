"""The person's data rights and its expiry: export (/mydata), erasure (/delete) and retention.

Transport-free like the rest of the core. The functions work inside a caller's transaction
(`repo`); `Privacy` bundles them for the composition root, runs erasure in its own transaction
and then does what only works after the commit: dropping the person from in-memory caches and
wiping SQLite's write-ahead log (see docs/PRIVACY.md).

Erasure deletes the person row with everything tied to it. Their leads stay as anonymous
counts (kind, language, status, dates) for the agency's statistics, closed, with an audit line
"erased" that names nobody; the advisors' card is edited to "deleted at the person's request".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import PrivacySettings
from bot.core.handoff import lead_key
from bot.core.leads import CLOSED, LeadCards, as_utc
from bot.core.outbox import ADVISORS, Kind
from bot.i18n.catalogs import Translator
from bot.i18n.languages import language
from bot.storage.database import Database
from bot.storage.models import Lead, Person
from bot.storage.repositories import Repositories

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
EXPORT_FILENAME = "my-data.json"
RETENTION_JOB = "retention"
RETENTION_INTERVAL = timedelta(days=1)
# Persons erased per transaction: short enough that a conversation turn never waits long.
RETENTION_BATCH = 50
# Audit actions written here: at the person's request, or by the retention job.
ERASED = "erased"
EXPIRED = "expired"
# Audit actions whose detail is a code (a status, a kind, a button), never free text: they keep
# it on erasure. Every other detail (notes, marked suggestions, what comes later) is removed.
CODE_DETAILS = frozenset({"created", "status", "forward", "media", "refused", ERASED, EXPIRED})

# Called with a person's id after their erasure was committed (in-memory caches).
PersonForgetter = Callable[[int], Awaitable[object]]


def iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def is_erased(lead: Lead) -> bool:
    """An anonymised lead: its card and /lead N show "deleted", never an empty contact."""
    return bool((lead.contact or {}).get("erased"))


# -- export ---------------------------------------------------------------------------------------
async def export_person(repo: Repositories, person_id: int, now: datetime) -> dict[str, Any] | None:
    """Everything stored about the person, JSON-serialisable; None if there is no such person.
    Advisors' internal notes about them are included: the right of access covers them too."""
    person = await repo.persons.get(person_id)
    if person is None:
        return None
    conversation = await repo.privacy.conversation(person_id)
    profile = await repo.profiles.get(person_id)
    leads = await repo.privacy.leads_of(person_id)
    lead_ids = [lead.id for lead in leads]
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": iso(now),
        "person": _person(person),
        "conversation": None
        if conversation is None
        else {
            "screen": conversation.screen,
            "step": conversation.step,
            "draft_answers": conversation.answers or {},
            "pending": conversation.pending or {},
            "history": conversation.history or [],
            "updated_at": iso(conversation.updated_at),
        },
        "profile": None
        if profile is None
        else {"answers": profile.answers or {}, "confirmed_at": iso(profile.confirmed_at)},
        "leads": [await _lead(repo, lead) for lead in leads],
        "unclear_messages": [
            {
                "at": iso(m.created_at),
                "language": m.language,
                "text": m.text,
                "intent": m.intent,
                "confidence": m.confidence,
            }
            for m in await repo.privacy.unclear_messages(person_id)
        ],
        "cached_translations": [
            {"at": iso(c.created_at), "text": c.text}
            for c in await repo.privacy.cached_translations(person_id)
        ],
        "pending_messages": [
            {
                "queued_at": iso(item.created_at),
                "kind": item.kind,
                "to": item.destination,
                "lead": item.lead_id,
                "text": item.text,
            }
            for item in await repo.privacy.pending_outbox(person_id, lead_ids)
        ],
    }


def _person(person: Person) -> dict[str, Any]:
    consent = None
    if person.consent_version is not None:
        consent = {"privacy_notice_version": person.consent_version, "at": iso(person.consent_at)}
    return {
        "internal_id": person.id,
        "channel": person.channel,
        "channel_user_id": person.external_id,
        "language": person.language,
        "app_language": person.platform_language,
        "consent": consent,
        "languages_offered": list(person.language_offers or []),
        "first_seen_at": iso(person.created_at),
        "last_seen_at": iso(person.last_seen_at),
        "unreachable_since": iso(person.unreachable_at),
    }


async def _lead(repo: Repositories, lead: Lead) -> dict[str, Any]:
    events = await repo.lead_events.for_lead(lead.id)
    messages = await repo.relay.for_lead(lead.id)
    return {
        "number": lead.id,
        "kind": lead.kind,
        "created_at": iso(lead.created_at),
        "language": lead.language,
        "handoff": lead.handoff,
        "status": lead.status,
        "advisor": lead.advisor_name,
        "claimed_at": iso(lead.claimed_at),
        "closed_at": iso(lead.closed_at),
        "contact": lead.contact or {},
        "answers": lead.answers or {},
        "suggestions": list(lead.suggestions or []),
        # Advisors' ids are theirs, not the person's: their names are enough here.
        "history": [
            {"at": iso(e.created_at), "action": e.action, "by": e.actor_name, "detail": e.detail}
            for e in events
        ],
        "messages": [
            {
                "at": iso(m.created_at),
                "direction": m.direction,
                "author": m.author_name,
                "language": m.source_language,
                "original": m.original,
                "translation_language": m.target_language,
                "translation": m.translation,
                "translation_note": m.translation_note,
            }
            for m in messages
        ],
    }


def export_json(export: dict[str, Any]) -> bytes:
    """The file the person receives: UTF-8, readable, their own script unescaped."""
    return json.dumps(export, ensure_ascii=False, indent=2).encode("utf-8")


def summary_lines(export: dict[str, Any], t: Translator) -> list[str]:
    """A short readable account in the person's language: key facts and counts; the file
    holds the rest."""
    person = export["person"]
    lines = [
        f"<b>{t('privacy.export.title')}</b>",
        t("privacy.export.language", language=language(person["language"] or t.lang).native_name),
    ]
    consent = person["consent"]
    if consent:
        lines.append(
            t(
                "privacy.export.consent_yes",
                version=consent["privacy_notice_version"],
                date=_date(consent["at"]),
            )
        )
    else:
        lines.append(t("privacy.export.consent_no"))
    profile = export["profile"]
    answers = {k: v for k, v in (profile or {}).get("answers", {}).items() if v not in (None, "")}
    if answers:
        lines.append(t("privacy.export.answers", count=len(answers)))
    else:
        lines.append(t("privacy.export.no_answers"))
    leads = export["leads"]
    if leads:
        lines.append(t("privacy.export.requests", count=len(leads)))
        lines += [
            "• "
            + t("privacy.export.request", number=lead["number"], date=_date(lead["created_at"]))
            for lead in leads
        ]
    counts = (
        ("privacy.export.messages", sum(len(lead["messages"]) for lead in leads)),
        ("privacy.export.unclear", len(export["unclear_messages"])),
        ("privacy.export.pending", len(export["pending_messages"])),
    )
    lines += [t(key, count=count) for key, count in counts if count]
    lines += ["", t("privacy.export.file_note")]
    return lines


def _date(value: str | None) -> str:
    return value[:10] if value else "?"


# -- erasure --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErasureReport:
    """What an erasure removed; ids and counts only, so it can be logged."""

    person_id: int
    found: bool
    leads: tuple[int, ...] = ()
    cards_edited: int = 0
    relay_messages: int = 0
    unclear_messages: int = 0
    cached_translations: int = 0
    outbox_deleted: int = 0
    outbox_blanked: int = 0
    details_removed: int = 0

    def log_line(self) -> str:
        if not self.found:
            return f"erasure: no person {self.person_id}"
        leads = ",".join(map(str, self.leads)) or "none"
        return (
            f"erasure: person {self.person_id} deleted; leads {leads} anonymised "
            f"({self.cards_edited} card(s) edited); deleted {self.relay_messages} relayed "
            f"message(s), {self.unclear_messages} unclear message(s), "
            f"{self.cached_translations} cached translation(s), {self.outbox_deleted} outbox "
            f"item(s); blanked {self.outbox_blanked} sent item(s), {self.details_removed} note(s)"
        )


async def erase_person(
    repo: Repositories,
    person_id: int,
    *,
    cards: LeadCards,
    now: datetime,
    action: str = ERASED,
) -> ErasureReport:
    """Deletes the person and everything about them within the caller's transaction; their
    leads stay, anonymised and closed, for the statistics. Safe inside a conversation turn:
    the deleted rows leave the session, later changes to them are not written.

    After the commit call `after_erasure` (in-memory caches, SQLite's WAL)."""
    person = await repo.persons.get(person_id)
    leads = await repo.privacy.leads_of(person_id)
    lead_ids = [lead.id for lead in leads]
    privacy = repo.privacy
    delivered = {lead.id: await privacy.card_delivered(lead.id) for lead in leads}
    relay = await privacy.delete_relay_messages(person_id, lead_ids)
    cached = await privacy.delete_cached_translations(person_id)
    unclear = await privacy.delete_unclear_messages(person_id)
    deleted = await privacy.delete_outbox_of_person(person_id, lead_ids)
    blanked = await privacy.blank_sent_outbox(person_id, lead_ids)
    details = await privacy.blank_lead_events(lead_ids, CODE_DETAILS)
    edited = 0
    for lead in leads:
        channel = str((lead.contact or {}).get("channel") or (person.channel if person else ""))
        _anonymise(lead, channel or "telegram", action, now)
        await repo.lead_events.add(lead.id, action)
        if delivered[lead.id]:
            await _queue_erased_card(repo, lead, cards, action, now)
            edited += 1
    await privacy.delete_person(person_id)
    return ErasureReport(
        person_id=person_id,
        found=person is not None,
        leads=tuple(lead_ids),
        cards_edited=edited,
        relay_messages=relay,
        unclear_messages=unclear,
        cached_translations=cached,
        outbox_deleted=deleted,
        outbox_blanked=blanked,
        details_removed=details,
    )


def _anonymise(lead: Lead, channel: str, action: str, now: datetime) -> None:
    """Keeps what the statistics count (kind, language, status, dates); the channel stays
    because each channel's outbox worker delivers its own leads' card edits; "erased" says
    why (ERASED: the person asked, EXPIRED: retention), for the card."""
    lead.person_id = None
    lead.contact = {"channel": channel, "erased": action}
    lead.answers = {}
    lead.suggestions = []
    if lead.handoff != CLOSED:
        lead.handoff = CLOSED
        lead.closed_at = now
    lead.reannounce_at = None


async def _queue_erased_card(
    repo: Repositories, lead: Lead, cards: LeadCards, action: str, now: datetime
) -> None:
    await repo.outbox.enqueue(
        kind=Kind.CARD_EDIT,
        destination=ADVISORS,
        text=cards.erased(lead, action, now),
        lead_id=lead.id,
        channel=str(lead.contact["channel"]),
        ordering_key=lead_key(lead.id),
        payload={"buttons": []},  # no buttons: nothing is left to act on
    )


def translation_forgetters(translator: object) -> list[PersonForgetter]:
    """`forget_person` of every in-memory cache in a chain of caching translators (each layer
    has `cache` and `inner`); the database cache needs none, erasure deletes its rows."""
    found: list[PersonForgetter] = []
    seen: set[int] = set()
    layer: object | None = translator
    while layer is not None and id(layer) not in seen:
        seen.add(id(layer))
        forget = getattr(getattr(layer, "cache", None), "forget_person", None)
        if forget is not None:
            found.append(forget)
        layer = getattr(layer, "inner", None)
    return found


async def after_erasure(
    database: Database, person_ids: Iterable[int], forgetters: Sequence[PersonForgetter]
) -> None:
    """After the commit: forget the persons in memory, and on SQLite move the new pages into
    the database file and empty the write-ahead log, whose old frames still hold the erased
    text (secure_delete only zeroes what the database file itself frees)."""
    ids = list(person_ids)
    for person_id in ids:
        for forget in forgetters:
            await forget(person_id)
    if ids:
        await checkpoint_sqlite(database)


async def checkpoint_sqlite(database: Database) -> bool:
    """PRAGMA wal_checkpoint(TRUNCATE); False (and a warning) when a reader blocked it."""
    if database.engine.dialect.name != "sqlite":
        return True
    async with database.engine.connect() as connection:
        row = (await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
    if row is not None and row[0]:
        log.warning("SQLite checkpoint after erasure was blocked; the WAL keeps old pages a while")
        return False
    return True


# -- retention ------------------------------------------------------------------------------------
async def purge_inactive(
    repo: Repositories,
    now: datetime,
    inactive_days: int,
    *,
    cards: LeadCards,
    limit: int | None = None,
) -> list[ErasureReport]:
    """Erases persons who have not written for `inactive_days` (at most `limit`), like a
    request would, with "expired" in the audit log."""
    cutoff = now - timedelta(days=inactive_days)
    return [
        await erase_person(repo, person_id, cards=cards, now=now, action=EXPIRED)
        for person_id in await repo.privacy.inactive_persons(cutoff, limit)
    ]


@dataclass(frozen=True)
class MessagePurge:
    leads: int = 0
    relay_messages: int = 0
    outbox_items: int = 0
    cached_translations: int = 0


async def purge_closed_lead_messages(repo: Repositories, now: datetime, days: int) -> MessagePurge:
    """The message log of leads closed more than `days` ago: relayed messages, delivered
    outbox items (old cards, notices), and cached translations older than that. The lead
    itself, with its profile and notes, stays until its person is erased."""
    cutoff = now - timedelta(days=days)
    lead_ids = await repo.privacy.leads_closed_before(cutoff)
    return MessagePurge(
        leads=len(lead_ids),
        relay_messages=await repo.privacy.delete_relay_messages(None, lead_ids),
        outbox_items=await repo.privacy.delete_finished_outbox(lead_ids, cutoff),
        cached_translations=await repo.privacy.delete_cached_translations_before(cutoff),
    )


@dataclass(frozen=True)
class RetentionReport:
    ran: bool
    at: datetime
    erased: tuple[ErasureReport, ...] = ()
    messages: MessagePurge = field(default_factory=MessagePurge)
    last_run_at: datetime | None = None

    @property
    def persons_erased(self) -> tuple[int, ...]:
        return tuple(report.person_id for report in self.erased)

    def counts(self) -> dict[str, int]:
        return {
            "persons_erased": len(self.erased),
            "leads_anonymised": sum(len(report.leads) for report in self.erased),
            "closed_leads_purged": self.messages.leads,
            "relay_messages": self.messages.relay_messages
            + sum(report.relay_messages for report in self.erased),
            "outbox_items": self.messages.outbox_items,
            "cached_translations": self.messages.cached_translations,
        }

    def log_line(self) -> str:
        if not self.ran:
            return f"retention: not due (last run {iso(self.last_run_at)})"
        counts = " ".join(f"{key}={value}" for key, value in self.counts().items())
        ids = ",".join(map(str, self.persons_erased)) or "none"
        return f"retention: {counts} (person ids {ids})"


async def run_retention(
    database: Database,
    settings: PrivacySettings,
    clock: Callable[[], datetime],
    *,
    cards: LeadCards,
    forgetters: Sequence[PersonForgetter] = (),
    force: bool = False,
) -> RetentionReport:
    """Runs the retention job if a day has passed since its last run. The run is claimed
    first (the job's row locked, its time stored), so restarts and other bot processes do not
    run it again; then persons are erased in small transactions, because SQLite has one writer
    and a turn must not wait for a thousand erasures. Logs one line of counts and ids."""
    now = clock()
    async with database.transaction() as repo:
        job = await repo.privacy.lock_job(RETENTION_JOB)
        last = as_utc(job.last_run_at) if job.last_run_at else None
        if not force and last is not None and now - last < RETENTION_INTERVAL:
            report = RetentionReport(ran=False, at=now, last_run_at=last)
            log.debug(report.log_line())
            return report
        job.last_run_at = now
    erased: list[ErasureReport] = []
    while True:
        async with database.transaction() as repo:
            batch = await purge_inactive(
                repo,
                now,
                settings.inactive_days,
                cards=cards,
                limit=RETENTION_BATCH,
            )
        erased += batch
        if len(batch) < RETENTION_BATCH:
            break
    async with database.transaction() as repo:
        messages = await purge_closed_lead_messages(repo, now, settings.closed_lead_message_days)
        report = RetentionReport(
            ran=True, at=now, erased=tuple(erased), messages=messages, last_run_at=last
        )
        job = await repo.privacy.lock_job(RETENTION_JOB)
        job.result = report.counts()
    log.info(report.log_line())
    if any(report.counts().values()):
        await after_erasure(database, report.persons_erased, forgetters)
    return report


# -- the service ------------------------------------------------------------------------------
class Privacy:
    """What the composition root builds once: export, erasure in its own transaction, and the
    retention job with its loop."""

    def __init__(
        self,
        database: Database,
        cards: LeadCards,
        settings: PrivacySettings,
        *,
        forgetters: Sequence[PersonForgetter] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = database
        self.cards = cards
        self.settings = settings
        self.forgetters = list(forgetters)
        self.clock = clock
        # Public so the composition root can wake the outbox for the card edits.
        self.on_queued = on_queued

    async def export(self, person_id: int) -> dict[str, Any] | None:
        async with self.db.transaction() as repo:
            return await export_person(repo, person_id, self.clock())

    async def erase_in(self, repo: Repositories, person_id: int) -> ErasureReport:
        """Erasure inside a caller's transaction (a conversation turn); call `finish` after
        the commit."""
        return await erase_person(repo, person_id, cards=self.cards, now=self.clock())

    async def finish(self, report: ErasureReport) -> None:
        log.info(report.log_line())
        await after_erasure(self.db, [report.person_id], self.forgetters)
        if report.cards_edited:
            self.on_queued()

    async def erase(self, person_id: int) -> ErasureReport:
        """Erasure in a transaction of its own, finished after its commit."""
        async with self.db.transaction() as repo:
            report = await self.erase_in(repo, person_id)
        await self.finish(report)
        return report

    async def run_retention(self, *, force: bool = False) -> RetentionReport:
        report = await run_retention(
            self.db,
            self.settings,
            self.clock,
            cards=self.cards,
            forgetters=self.forgetters,
            force=force,
        )
        if any(r.cards_edited for r in report.erased):
            self.on_queued()
        return report

    async def run_forever(self, stop: asyncio.Event, check_seconds: float = 3600) -> None:
        """Checks hourly whether the daily job is due, until `stop` is set. A failure is
        logged and tried again at the next check."""
        while not stop.is_set():
            try:
                await self.run_retention()
            except Exception:
                log.exception("retention job failed; next try in %.0f s", check_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=check_seconds)
