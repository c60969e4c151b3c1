"""Repositories: the only place that writes SQL. One instance per transaction (see Database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.storage.models import (
    CachedTranslation,
    Conversation,
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
        person = Person(channel=channel, external_id=external_id)
        self._session.add(person)
        await self._session.flush()
        return person, True

    async def get(self, person_id: int) -> Person | None:
        return await self._session.get(Person, person_id)

    async def lock(self, person: Person) -> None:
        """Serialises concurrent updates of one person across processes (no-op on SQLite)."""
        if _is_postgres(self._session):
            await self._session.execute(
                select(Person.id).where(Person.id == person.id).with_for_update()
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
