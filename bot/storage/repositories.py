"""Repositories: the only place that writes SQL. One instance per transaction (see Database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.storage.models import (
    CachedTranslation,
    Conversation,
    JobRun,
    Lead,
    LeadEvent,
    OutboxItem,
    Person,
    Profile,
    RelayMessage,
    UnclearMessage,
    utcnow,
)

OPEN_HANDOFFS = ("waiting", "with_advisor")


def _is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


class PersonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def find(self, channel: str, external_id: str) -> Person | None:
        return await self._session.scalar(
            select(Person).where(Person.channel == channel, Person.external_id == external_id)
        )

    async def get_or_create(self, channel: str, external_id: str) -> tuple[Person, bool]:
        """The person for a channel id; the flag says whether it was just created."""
        person = await self.find(channel, external_id)
        if person is not None:
            return person, False
        if not _is_postgres(self._session):
            # One process writes an SQLite file at a time, so there is no race to lose (and
            # pysqlite's SAVEPOINT would commit on its own, outside the transaction).
            person = Person(channel=channel, external_id=external_id)
            self._session.add(person)
            await self._session.flush()
            return person, True
        try:
            # A savepoint: when another process creates the same person first, losing the race
            # spoils nothing else in this transaction.
            async with self._session.begin_nested():
                person = Person(channel=channel, external_id=external_id)
                self._session.add(person)
                await self._session.flush()
        except IntegrityError:
            person = await self.find(channel, external_id)
            assert person is not None, "the unique key said it exists"
            return person, False
        return person, True

    async def get(self, person_id: int) -> Person | None:
        return await self._session.get(Person, person_id)

    async def lock(self, person: Person) -> None:
        """Serialises concurrent updates of one person across processes (no-op on SQLite)."""
        if _is_postgres(self._session):
            # Re-read under the lock: what another process changed meanwhile counts.
            await self._session.execute(
                select(Person)
                .where(Person.id == person.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_or_create(self, person_id: int) -> Conversation:
        conversation = await self._session.get(Conversation, person_id)
        if conversation is None:
            conversation = Conversation(
                person_id=person_id, screen="new", answers={}, pending={}, history=[]
            )
            self._session.add(conversation)
            await self._session.flush()
        return conversation


class ProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, person_id: int) -> Profile | None:
        return await self._session.get(Profile, person_id)

    async def save(self, person_id: int, answers: dict[str, Any]) -> Profile:
        profile = await self.get(person_id)
        if profile is None:
            profile = Profile(person_id=person_id, answers=dict(answers))
            self._session.add(profile)
        else:
            profile.answers = dict(answers)
            profile.confirmed_at = utcnow()
        await self._session.flush()
        return profile

    async def delete(self, person_id: int) -> None:
        await self._session.execute(delete(Profile).where(Profile.person_id == person_id))


class LeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        *,
        person_id: int,
        kind: str,
        language: str,
        answers: dict[str, Any],
        contact: dict[str, Any],
    ) -> Lead:
        lead = Lead(
            person_id=person_id,
            kind=kind,
            language=language,
            answers=dict(answers),
            contact=dict(contact),
            status="new",
        )
        self._session.add(lead)
        await self._session.flush()
        return lead

    async def get(self, lead_id: int) -> Lead | None:
        return await self._session.get(Lead, lead_id)

    async def get_locked(self, lead_id: int) -> Lead | None:
        """The lead, row-locked on PostgreSQL so two advisors' claims are decided one by one."""
        query = select(Lead).where(Lead.id == lead_id)
        if _is_postgres(self._session):
            query = query.with_for_update()
        return await self._session.scalar(query.execution_options(populate_existing=True))

    async def open(self) -> list[Lead]:
        """Leads waiting for or talking with an advisor, oldest first."""
        return list(
            await self._session.scalars(
                select(Lead).where(Lead.handoff.in_(OPEN_HANDOFFS)).order_by(Lead.id)
            )
        )

    async def due_for_reannouncement(self, now: datetime, limit: int = 50) -> list[Lead]:
        query = (
            select(Lead)
            .where(Lead.handoff == "waiting", Lead.reannounce_at <= now)
            .order_by(Lead.reannounce_at)
            .limit(limit)
        )
        if _is_postgres(self._session):
            query = query.with_for_update(skip_locked=True)
        return list(await self._session.scalars(query))

    async def by_topic(self, chat_id: int, topic_id: int) -> Lead | None:
        return await self._session.scalar(
            select(Lead).where(Lead.card_chat_id == chat_id, Lead.topic_id == topic_id)
        )

    async def counts(self) -> list[tuple[str, str, str, int]]:
        """(handoff, status, language, count) over all leads, for the advisors' /stats."""
        rows = await self._session.execute(
            select(Lead.handoff, Lead.status, Lead.language, func.count())
            .group_by(Lead.handoff, Lead.status, Lead.language)
            .order_by(Lead.handoff, Lead.status, Lead.language)
        )
        return [(h, s, lang, int(n)) for h, s, lang, n in rows.all()]


class LeadEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        lead_id: int,
        action: str,
        *,
        actor_id: int | None = None,
        actor_name: str | None = None,
        detail: str | None = None,
    ) -> LeadEvent:
        event = LeadEvent(
            lead_id=lead_id,
            action=action,
            actor_id=actor_id,
            actor_name=actor_name,
            detail=detail,
            created_at=utcnow(),
        )
        self._session.add(event)
        await self._session.flush()
        return event

    async def for_lead(self, lead_id: int) -> list[LeadEvent]:
        return list(
            await self._session.scalars(
                select(LeadEvent).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id)
            )
        )


class RelayRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, message: RelayMessage) -> RelayMessage:
        self._session.add(message)
        await self._session.flush()
        return message

    async def get(self, relay_id: int) -> RelayMessage | None:
        return await self._session.get(RelayMessage, relay_id)

    async def for_lead(self, lead_id: int) -> list[RelayMessage]:
        return list(
            await self._session.scalars(
                select(RelayMessage)
                .where(RelayMessage.lead_id == lead_id)
                .order_by(RelayMessage.id)
            )
        )


class TranslationCacheRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str) -> str | None:
        cached = await self._session.get(CachedTranslation, key)
        return cached.text if cached else None

    async def put(self, key: str, text: str, person_id: int | None) -> None:
        if await self._session.get(CachedTranslation, key) is None:
            self._session.add(CachedTranslation(key=key, text=text, person_id=person_id))
            await self._session.flush()


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(
        self,
        *,
        kind: str,
        destination: str,
        text: str,
        lead_id: int | None = None,
        channel: str,
        person_id: int | None = None,
        ordering_key: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> OutboxItem:
        item = OutboxItem(
            kind=kind,
            destination=destination,
            text=text,
            lead_id=lead_id,
            person_id=person_id,
            channel=channel,
            ordering_key=ordering_key,
            payload=dict(payload or {}),
            status="pending",
            attempts=0,
            next_attempt_at=utcnow(),
        )
        self._session.add(item)
        await self._session.flush()
        return item

    async def get(self, item_id: int) -> OutboxItem | None:
        return await self._session.get(OutboxItem, item_id)

    async def claim_due(
        self, now: datetime, channels: tuple[str, ...], limit: int = 20
    ) -> list[OutboxItem]:
        """Pending items that are due, oldest first; locked so two workers never share one.
        An item waits while an older item with its ordering key is still pending, so a card
        goes out before its edits and a person's messages arrive in the order written."""
        earlier = aliased(OutboxItem)
        blocked = exists().where(
            earlier.ordering_key == OutboxItem.ordering_key,
            earlier.status == "pending",
            earlier.id < OutboxItem.id,
        )
        query = (
            select(OutboxItem)
            .where(
                OutboxItem.status == "pending",
                OutboxItem.next_attempt_at <= now,
                OutboxItem.channel.in_(channels),
                (OutboxItem.ordering_key.is_(None)) | ~blocked,
            )
            .order_by(OutboxItem.id)
            .limit(limit)
        )
        if _is_postgres(self._session):
            query = query.with_for_update(skip_locked=True)
        return list(await self._session.scalars(query))

    async def lead_of_message(self, chat_id: int, message_id: int) -> int | None:
        """The lead an advisors' chat message (card or relayed message) belongs to."""
        return await self._session.scalar(
            select(OutboxItem.lead_id).where(
                OutboxItem.destination == "advisors",
                OutboxItem.external_chat == chat_id,
                OutboxItem.external_ref == str(message_id),
            )
        )

    async def pending(self) -> list[OutboxItem]:
        return list(
            await self._session.scalars(
                select(OutboxItem).where(OutboxItem.status == "pending").order_by(OutboxItem.id)
            )
        )

    async def all(self) -> list[OutboxItem]:
        return list(await self._session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


class UnclearMessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, *, person_id: int, language: str, text: str, intent: str, confidence: float
    ) -> None:
        self._session.add(
            UnclearMessage(
                person_id=person_id,
                language=language,
                text=text,
                intent=intent,
                confidence=confidence,
            )
        )

    async def oldest(self, limit: int = 200) -> list[UnclearMessage]:
        return list(
            await self._session.scalars(
                select(UnclearMessage).order_by(UnclearMessage.id).limit(limit)
            )
        )

    async def delete_up_to(self, last_id: int) -> int:
        result = await self._session.execute(
            delete(UnclearMessage).where(UnclearMessage.id <= last_id)
        )
        return result.rowcount or 0


@dataclass
class Repositories:
    """The repositories of one transaction, handed to the core."""

    session: AsyncSession

    def __post_init__(self) -> None:
        self.persons = PersonRepository(self.session)
        self.conversations = ConversationRepository(self.session)
        self.profiles = ProfileRepository(self.session)
        self.leads = LeadRepository(self.session)
        self.lead_events = LeadEventRepository(self.session)
        self.relay = RelayRepository(self.session)
        self.translations = TranslationCacheRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.nlu_review = UnclearMessageRepository(self.session)
        self.privacy = PrivacyRepository(self.session)


class PrivacyRepository:
    """What export, erasure and retention read and delete (bot/core/privacy.py). Deletes go
    through the ORM, so objects of the same transaction are dropped from it, not written back."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- reading ------------------------------------------------------------------------------
    async def leads_of(self, person_id: int) -> list[Lead]:
        return list(
            await self._session.scalars(
                select(Lead).where(Lead.person_id == person_id).order_by(Lead.id)
            )
        )

    async def conversation(self, person_id: int) -> Conversation | None:
        return await self._session.get(Conversation, person_id)

    async def unclear_messages(self, person_id: int) -> list[UnclearMessage]:
        return list(
            await self._session.scalars(
                select(UnclearMessage)
                .where(UnclearMessage.person_id == person_id)
                .order_by(UnclearMessage.id)
            )
        )

    async def cached_translations(self, person_id: int) -> list[CachedTranslation]:
        return list(
            await self._session.scalars(
                select(CachedTranslation)
                .where(CachedTranslation.person_id == person_id)
                .order_by(CachedTranslation.created_at)
            )
        )

    async def pending_outbox(self, person_id: int, lead_ids: list[int]) -> list[OutboxItem]:
        return list(
            await self._session.scalars(
                select(OutboxItem)
                .where(OutboxItem.status == "pending", _of_person(person_id, lead_ids))
                .order_by(OutboxItem.id)
            )
        )

    async def card_delivered(self, lead_id: int) -> bool:
        """Whether the advisors' chat holds a card of this lead (so there is one to edit)."""
        found = await self._session.scalar(
            select(OutboxItem.id)
            .where(
                OutboxItem.lead_id == lead_id,
                OutboxItem.kind == "lead_card",
                OutboxItem.status == "sent",
            )
            .limit(1)
        )
        return found is not None

    async def inactive_persons(self, seen_before: datetime, limit: int | None = None) -> list[int]:
        """Persons not seen since `seen_before`; on PostgreSQL locked, skipping anyone whose
        turn is running right now (they are not inactive)."""
        query = (
            select(Person.id)
            .where(Person.last_seen_at < seen_before)
            .order_by(Person.id)
            .limit(limit)
        )
        if _is_postgres(self._session):
            query = query.with_for_update(skip_locked=True)
        return list(await self._session.scalars(query))

    async def leads_closed_before(self, moment: datetime) -> list[int]:
        return list(
            await self._session.scalars(
                select(Lead.id)
                .where(Lead.handoff == "closed", Lead.closed_at < moment)
                .order_by(Lead.id)
            )
        )

    # -- erasing ------------------------------------------------------------------------------
    async def delete_relay_messages(self, person_id: int | None, lead_ids: list[int]) -> int:
        condition = RelayMessage.lead_id.in_(lead_ids)
        if person_id is not None:
            condition = condition | (RelayMessage.person_id == person_id)
        return await self._delete(delete(RelayMessage).where(condition))

    async def delete_cached_translations(self, person_id: int) -> int:
        return await self._delete(
            delete(CachedTranslation).where(CachedTranslation.person_id == person_id)
        )

    async def delete_cached_translations_before(self, moment: datetime) -> int:
        return await self._delete(
            delete(CachedTranslation).where(CachedTranslation.created_at < moment)
        )

    async def delete_unclear_messages(self, person_id: int) -> int:
        return await self._delete(
            delete(UnclearMessage).where(UnclearMessage.person_id == person_id)
        )

    async def delete_outbox_of_person(self, person_id: int, lead_ids: list[int]) -> int:
        """Everything still queued to or about the person, and every message sent to them."""
        condition = ((OutboxItem.status == "pending") & _of_person(person_id, lead_ids)) | (
            (OutboxItem.person_id == person_id) & (OutboxItem.destination == "person")
        )
        return await self._delete(delete(OutboxItem).where(condition))

    async def blank_sent_outbox(self, person_id: int, lead_ids: list[int]) -> int:
        """Sent advisors' items keep where they went (to find a lead from a reply to its card)
        but lose their text (old cards hold names) and payload (a copied file's source)."""
        items = list(
            await self._session.scalars(select(OutboxItem).where(_of_person(person_id, lead_ids)))
        )
        for item in items:
            item.text = ""
            item.payload = {}
            item.last_error = None
            item.person_id = None
        await self._session.flush()
        return len(items)

    async def delete_finished_outbox(self, lead_ids: list[int], sent_before: datetime) -> int:
        """Delivered (or given-up) items of these leads, and messages to persons that are not
        about a lead, older than `sent_before`."""
        condition = OutboxItem.status != "pending"
        lead_items = OutboxItem.lead_id.in_(lead_ids)
        old_person_items = OutboxItem.lead_id.is_(None) & (OutboxItem.updated_at < sent_before)
        return await self._delete(
            delete(OutboxItem).where(condition & (lead_items | old_person_items))
        )

    async def blank_lead_events(self, lead_ids: list[int], keep: frozenset[str]) -> int:
        """Removes the free text (notes) from the audit log; actions in `keep` carry only codes
        (a status, a kind) and keep them."""
        events = list(
            await self._session.scalars(
                select(LeadEvent).where(
                    LeadEvent.lead_id.in_(lead_ids),
                    LeadEvent.detail.is_not(None),
                    LeadEvent.action.not_in(keep),
                )
            )
        )
        for event in events:
            event.detail = None
        await self._session.flush()
        return len(events)

    async def delete_person(self, person_id: int) -> None:
        """The person with their conversation and profile (their leads are anonymised first)."""
        await self._session.execute(delete(Profile).where(Profile.person_id == person_id))
        await self._session.execute(delete(Conversation).where(Conversation.person_id == person_id))
        await self._session.execute(delete(Person).where(Person.id == person_id))

    async def _delete(self, statement: Any) -> int:
        result = await self._session.execute(statement)
        return int(result.rowcount or 0)

    # -- the retention job's schedule -----------------------------------------------------------
    async def lock_job(self, name: str) -> JobRun:
        """The job's row, locked until the transaction ends (PostgreSQL; SQLite has one writer)."""
        query = select(JobRun).where(JobRun.name == name)
        if _is_postgres(self._session):
            query = query.with_for_update()
        job = await self._session.scalar(query.execution_options(populate_existing=True))
        if job is None:
            job = JobRun(name=name, last_run_at=None, result={})
            self._session.add(job)
            await self._session.flush()
        return job


def _of_person(person_id: int, lead_ids: list[int]) -> Any:
    return (OutboxItem.person_id == person_id) | OutboxItem.lead_id.in_(lead_ids)
