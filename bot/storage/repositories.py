"""Repositories: the only place that writes SQL. One instance per transaction (see Database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import (
    Conversation,
    Lead,
    OutboxItem,
    Person,
    Profile,
    UnclearMessage,
    utcnow,
)


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

    async def lock(self, person: Person) -> None:
        """Serialises concurrent updates of one person across processes (no-op on SQLite)."""
        if self._session.bind.dialect.name == "postgresql":
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


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(
        self, *, kind: str, destination: str, text: str, lead_id: int | None = None
    ) -> OutboxItem:
        item = OutboxItem(
            kind=kind,
            destination=destination,
            text=text,
            lead_id=lead_id,
            status="pending",
            attempts=0,
            next_attempt_at=utcnow(),
        )
        self._session.add(item)
        await self._session.flush()
        return item

    async def get(self, item_id: int) -> OutboxItem | None:
        return await self._session.get(OutboxItem, item_id)

    async def claim_due(self, now: datetime, limit: int = 20) -> list[OutboxItem]:
        """Pending items that are due, oldest first; locked so two workers never share one."""
        query = (
            select(OutboxItem)
            .where(OutboxItem.status == "pending", OutboxItem.next_attempt_at <= now)
            .order_by(OutboxItem.id)
            .limit(limit)
        )
        if self._session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(await self._session.scalars(query))

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
        self.outbox = OutboxRepository(self.session)
        self.nlu_review = UnclearMessageRepository(self.session)
