"""The handoff lifecycle of a lead and the messages it queues.

    bot -> waiting -> with_advisor -> closed (the person is back with the bot)

A person enters `waiting` when a lead is created (intake confirmed, "talk to an advisor", or a
typed request for a human). An advisor claims the lead (`with_advisor`); from then on the bot
relays the person's free text instead of answering it. The advisor or the person closes it.
Every change happens inside the caller's transaction and queues its messages in the outbox in
that same transaction: the state and what the two sides are told never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from bot.core.events import Button
from bot.core.leads import CLOSED, WAITING, WITH_ADVISOR, LeadCards
from bot.core.outbox import ADVISORS, PERSON, Kind
from bot.i18n.catalogs import Catalogs
from bot.i18n.presentation import rtl_text
from bot.storage.models import Lead, Person, RelayMessage
from bot.storage.repositories import Repositories

TO_ADVISORS = "to_advisors"
TO_PERSON = "to_person"


def lead_key(lead_id: int) -> str:
    return f"lead:{lead_id}"


def person_key(person_id: int) -> str:
    return f"person:{person_id}"


def buttons_payload(buttons: Sequence[Sequence[Button]]) -> list[list[list[str]]]:
    return [[[button.label, button.action] for button in row] for row in buttons]


def buttons_from_payload(payload: Mapping[str, Any]) -> tuple[tuple[Button, ...], ...]:
    return tuple(
        tuple(Button(str(label), str(action)) for label, action in row)
        for row in payload.get("buttons") or ()
    )


class LeadMail:
    """Queues what a lead's life produces: its card and card edits, lines in its thread,
    relayed messages and copies, and notices to the person in their language."""

    def __init__(self, repo: Repositories, cards: LeadCards, catalogs: Catalogs) -> None:
        self.repo = repo
        self.cards = cards
        self.catalogs = catalogs

    async def card(self, lead: Lead, channel: str) -> None:
        """A topic (where the chat is a forum; the channel decides) and the card in it."""
        topic = self.cards.topic_title(lead)
        await self._advisors(lead, Kind.OPEN_TOPIC, topic, channel)
        await self._advisors(
            lead,
            Kind.LEAD_CARD,
            self.cards.render(lead),
            channel,
            {"buttons": buttons_payload(self.cards.buttons(lead))},
        )

    async def card_edit(self, lead: Lead, person: Person | None) -> None:
        unreachable = person is not None and person.unreachable_at is not None
        await self._advisors(
            lead,
            Kind.CARD_EDIT,
            self.cards.render(lead, unreachable=unreachable),
            _channel_of(lead),
            {"buttons": buttons_payload(self.cards.buttons(lead))},
        )

    async def thread_note(
        self, lead: Lead, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> None:
        payload = {"buttons": buttons_payload(buttons)} if buttons else {}
        await self._advisors(lead, Kind.THREAD_NOTE, text, _channel_of(lead), payload)

    async def relay(self, lead: Lead, person: Person, message: RelayMessage) -> None:
        """The text is composed (and translated) when the outbox sends it."""
        payload = {"relay_id": message.id}
        if message.direction == TO_PERSON:
            await self._person(person, Kind.RELAY, "", payload, lead)
        else:
            await self._advisors(lead, Kind.RELAY, "", person.channel, payload)

    async def copy(
        self,
        lead: Lead,
        person: Person,
        note: str,
        source: Mapping[str, Any],
        *,
        to_person: bool,
    ) -> None:
        """A photo, document or voice note, copied as it is, after a note saying so."""
        payload = {"source": dict(source)}
        if to_person:
            await self._person(person, Kind.COPY, note, payload, lead)
        else:
            await self._advisors(lead, Kind.COPY, note, person.channel, payload)

    async def notice(
        self,
        person: Person,
        key: str,
        *,
        lead: Lead | None = None,
        **params: object,
    ) -> None:
        """A message to the person in their language (the language the lead was made in when
        they have not chosen one since)."""
        lang = person.language or (lead.language if lead else None) or "en"
        await self.message(person, rtl_text(self.catalogs.get(lang)(key, **params), lang), lead)

    async def message(
        self,
        person: Person,
        text: str,
        lead: Lead | None = None,
        buttons: Sequence[Sequence[Button]] = (),
    ) -> None:
        """A finished message to the person (already in their language and layout)."""
        payload = {"buttons": buttons_payload(buttons)} if buttons else {}
        await self._person(person, Kind.MESSAGE, text, payload, lead)

    async def _person(
        self, person: Person, kind: str, text: str, payload: dict[str, Any], lead: Lead | None
    ) -> None:
        await self.repo.outbox.enqueue(
            kind=kind,
            destination=PERSON,
            text=text,
            lead_id=lead.id if lead else None,
            person_id=person.id,
            channel=person.channel,
            ordering_key=person_key(person.id),
            payload=payload,
        )

    async def _advisors(
        self,
        lead: Lead,
        kind: str,
        text: str,
        channel: str,
        payload: dict[str, Any] | None = None,
    ) -> None:
        await self.repo.outbox.enqueue(
            kind=kind,
            destination=ADVISORS,
            text=text,
            lead_id=lead.id,
            person_id=lead.person_id,
            channel=channel,
            ordering_key=lead_key(lead.id),
            payload=payload,
        )


def _channel_of(lead: Lead) -> str:
    return str((lead.contact or {}).get("channel") or "telegram")


class Handoff:
    """State changes of a lead, each with what both sides are told. One per transaction."""

    def __init__(
        self,
        repo: Repositories,
        mail: LeadMail,
        *,
        reannounce_after: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.repo = repo
        self.mail = mail
        self.reannounce_after = reannounce_after
        self.clock = clock

    async def open(self, lead: Lead, person: Person) -> None:
        """A new lead: the person waits, the advisors get the card, a reminder is scheduled."""
        lead.handoff = WAITING
        lead.reannounce_at = self.clock() + self.reannounce_after
        person.active_lead_id = lead.id
        await self.repo.lead_events.add(lead.id, "created", detail=lead.kind)
        await self.mail.card(lead, person.channel)

    async def claim(self, lead: Lead, advisor_id: int, advisor_name: str) -> None:
        lead.handoff = WITH_ADVISOR
        lead.advisor_id = advisor_id
        lead.advisor_name = advisor_name[:64]
        lead.claimed_at = self.clock()
        lead.reannounce_at = None
        await self.repo.lead_events.add(
            lead.id, "claim", actor_id=advisor_id, actor_name=advisor_name
        )
        person = await self._person(lead)
        await self.mail.card_edit(lead, person)
        if person is not None:
            name = escape(advisor_name, quote=False)
            await self.mail.notice(person, "handoff.claimed", lead=lead, name=name, number=lead.id)

    async def set_status(self, lead: Lead, status: str, advisor_id: int, advisor_name: str) -> None:
        lead.status = status
        await self.repo.lead_events.add(
            lead.id, "status", actor_id=advisor_id, actor_name=advisor_name, detail=status
        )
        person = await self._person(lead)
        await self.mail.card_edit(lead, person)
        if person is not None:
            await self.mail.notice(person, f"handoff.status.{status}", lead=lead, number=lead.id)

    async def close(self, lead: Lead, advisor_id: int | None, advisor_name: str | None) -> None:
        """Closed by an advisor: the person is told and is back with the bot."""
        await self._close(lead, "close", advisor_id, advisor_name)
        person = await self._person(lead)
        if person is not None:
            await self.mail.notice(person, "handoff.closed", lead=lead, number=lead.id)

    async def end_by_person(self, lead: Lead, german_note: str) -> None:
        """The person ended the conversation; the advisors read it in the lead's thread."""
        await self._close(lead, "ended_by_person", None, None)
        await self.mail.thread_note(lead, german_note)

    async def _close(
        self, lead: Lead, action: str, actor_id: int | None, actor_name: str | None
    ) -> None:
        lead.handoff = CLOSED
        lead.closed_at = self.clock()
        lead.reannounce_at = None
        await self.repo.lead_events.add(lead.id, action, actor_id=actor_id, actor_name=actor_name)
        person = await self._person(lead)
        if person is not None and person.active_lead_id == lead.id:
            person.active_lead_id = None
        await self.mail.card_edit(lead, person)

    async def _person(self, lead: Lead) -> Person | None:
        return await self.repo.persons.get(lead.person_id) if lead.person_id else None


def relay_message(
    lead: Lead,
    person: Person,
    *,
    direction: str,
    text: str,
    source_language: str,
    target_language: str,
    author_name: str | None = None,
) -> RelayMessage:
    return RelayMessage(
        lead_id=lead.id,
        person_id=person.id,
        direction=direction,
        author_name=author_name,
        source_language=source_language,
        target_language=target_language,
        original=text,
    )
