"""The advisors' side: card buttons, replies to a person, notes, overviews and reminders.

Transport-free: the Telegram adapter and the terminal call the same methods. Every action is
authorised first (members of the advisors' chat or configured ids, through an injected
directory), runs in one transaction, and lands in the audit log, refusals included.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any, Protocol

from bot.core import actions
from bot.core.events import Button
from bot.core.handoff import TO_PERSON, Handoff, LeadMail, relay_message
from bot.core.leads import CLOSED, WAITING, WITH_ADVISOR, LeadCards, as_utc
from bot.core.privacy import is_erased
from bot.i18n.catalogs import Catalogs, Translator
from bot.i18n.languages import language
from bot.storage.database import Database
from bot.storage.models import Lead, Person
from bot.storage.repositories import Repositories

log = logging.getLogger(__name__)

MAX_NOTE = 2000


@dataclass(frozen=True)
class AdvisorRef:
    """An advisor as their channel knows them; the name is shown to the person."""

    id: int
    name: str


class AdvisorDirectory(Protocol):
    """Decides who is an advisor (Telegram: members of the advisors' chat, cached)."""

    async def is_advisor(self, advisor_id: int) -> bool: ...


class ConfiguredAdvisors:
    """Only the ids in the configuration: for channels without a members' list."""

    def __init__(self, ids: frozenset[int]) -> None:
        self._ids = ids

    async def is_advisor(self, advisor_id: int) -> bool:
        return advisor_id in self._ids


@dataclass(frozen=True)
class DeskAnswer:
    """What the advisor is told (German). `ok` False: refused or impossible, nothing changed."""

    text: str
    ok: bool = True
    buttons: tuple[tuple[Button, ...], ...] = ()


class AdvisorDesk:
    def __init__(
        self,
        database: Database,
        cards: LeadCards,
        catalogs: Catalogs,
        directory: AdvisorDirectory,
        *,
        reannounce_after: timedelta,
        clock: Callable[[], datetime],
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = database
        self.cards = cards
        self.catalogs = catalogs
        self.directory = directory
        self.reannounce_after = reannounce_after
        self.clock = clock
        # Public so the composition root can wire the outbox in after the channel exists.
        self.on_queued = on_queued

    @property
    def t(self) -> Translator:
        return self.catalogs.get("de")

    def _handoff(self, repo: Repositories) -> Handoff:
        mail = LeadMail(repo, self.cards, self.catalogs)
        return Handoff(repo, mail, reannounce_after=self.reannounce_after, clock=self.clock)

    # -- card buttons -------------------------------------------------------------------------
    async def press(self, advisor: AdvisorRef, action: str) -> DeskAnswer:
        parsed = actions.parse_advisor(action)
        if parsed is None:
            return DeskAnswer(self.t("desk.unknown_button"), ok=False)
        if parsed.verb == "claim":
            return await self.claim(advisor, parsed.lead_id)
        if parsed.verb == "close":
            return await self.close(advisor, parsed.lead_id)
        return await self.set_status(advisor, parsed.lead_id, parsed.status or "")

    async def claim(
        self, advisor: AdvisorRef, lead_id: int, *, by_reply: bool = False
    ) -> DeskAnswer:
        async def act(repo: Repositories, lead: Lead) -> DeskAnswer:
            if lead.handoff == WITH_ADVISOR:
                if lead.advisor_id == advisor.id:
                    return DeskAnswer(self.t("desk.claimed", number=lead.id))
                return DeskAnswer(
                    self.t("desk.already_claimed", number=lead.id, name=lead.advisor_name or "?"),
                    ok=False,
                )
            if lead.handoff == CLOSED:
                return DeskAnswer(self.t("desk.already_closed", number=lead.id), ok=False)
            await self._handoff(repo).claim(lead, advisor.id, advisor.name)
            key = "desk.claimed_by_reply" if by_reply else "desk.claimed"
            return DeskAnswer(self.t(key, number=lead.id))

        return await self._on_lead(advisor, lead_id, "claim", act)

    async def set_status(self, advisor: AdvisorRef, lead_id: int, status: str) -> DeskAnswer:
        if status not in actions.ADVISOR_STATUSES:
            return DeskAnswer(self.t("desk.unknown_button"), ok=False)

        async def act(repo: Repositories, lead: Lead) -> DeskAnswer:
            if lead.handoff == WAITING:
                return DeskAnswer(self.t("desk.claim_first", number=lead.id), ok=False)
            if lead.handoff == CLOSED:
                return DeskAnswer(self.t("desk.already_closed", number=lead.id), ok=False)
            if lead.status != status:
                await self._handoff(repo).set_status(lead, status, advisor.id, advisor.name)
            return DeskAnswer(
                self.t("desk.status_set", number=lead.id, status=self.t(f"status.{status}"))
            )

        return await self._on_lead(advisor, lead_id, "status", act)

    async def close(self, advisor: AdvisorRef, lead_id: int) -> DeskAnswer:
        async def act(repo: Repositories, lead: Lead) -> DeskAnswer:
            if lead.handoff == CLOSED:
                return DeskAnswer(self.t("desk.already_closed", number=lead.id), ok=False)
            await self._handoff(repo).close(lead, advisor.id, advisor.name)
            return DeskAnswer(self.t("desk.closed", number=lead.id))

        return await self._on_lead(advisor, lead_id, "close", act)

    # -- writing ---------------------------------------------------------------------------------
    async def note(self, advisor: AdvisorRef, lead_id: int, text: str) -> DeskAnswer:
        """An internal note: stored in the audit log, never sent to the person."""
        text = text.strip()
        if not text:
            return DeskAnswer(self.t("desk.note_usage", number=lead_id), ok=False)

        async def act(repo: Repositories, lead: Lead) -> DeskAnswer:
            if is_erased(lead):  # a note must not bring personal data back
                return DeskAnswer(self.t("desk.person_gone", number=lead.id), ok=False)
            await repo.lead_events.add(
                lead.id,
                "note",
                actor_id=advisor.id,
                actor_name=advisor.name,
                detail=text[:MAX_NOTE],
            )
            return DeskAnswer(self.t("desk.note_saved", number=lead.id))

        return await self._on_lead(advisor, lead_id, "note", act)

    async def reply(self, advisor: AdvisorRef, lead_id: int, text: str) -> DeskAnswer:
        """The advisor's German message, relayed to the person (translated when sent)."""
        text = text.strip()
        if not text:
            return DeskAnswer("", ok=False)

        async def act(repo: Repositories, lead: Lead) -> DeskAnswer:
            person, answer = await self._writable(repo, lead, advisor)
            if person is None:
                return answer
            message = relay_message(
                lead,
                person,
                direction=TO_PERSON,
                text=text,
                source_language="de",
                target_language=person.language or lead.language,
                author_name=advisor.name,
            )
            await repo.relay.add(message)
            await LeadMail(repo, self.cards, self.catalogs).relay(lead, person, message)
            return answer

        return await self._on_lead(advisor, lead_id, "reply", act)

    async def forward(
        self, advisor: AdvisorRef, lead_id: int, kind: str, source: Mapping[str, Any]
    ) -> DeskAnswer:
        """A photo, document or voice note for the person, copied as it is."""

        async def act(repo: Repositories, lead: Lead) -> DeskAnswer:
            person, answer = await self._writable(repo, lead, advisor)
            if person is None:
                return answer
            lang = person.language or lead.language
            note = self.catalogs.get(lang)("relay.media_from_advisor", name=escape(advisor.name))
            await LeadMail(repo, self.cards, self.catalogs).copy(
                lead, person, note, source, to_person=True
            )
            await repo.lead_events.add(
                lead.id, "forward", actor_id=advisor.id, actor_name=advisor.name, detail=kind
            )
            return answer

        return await self._on_lead(advisor, lead_id, "forward", act)

    # -- reading --------------------------------------------------------------------------------
    async def open_leads(self, advisor: AdvisorRef) -> DeskAnswer:
        if not await self.directory.is_advisor(advisor.id):
            return self._refused()
        now = self.clock()
        async with self.db.transaction() as repo:
            leads = await repo.leads.open()
        if not leads:
            return DeskAnswer(self.t("desk.leads_none"))
        lines = [f"<b>{self.t('desk.leads_title')}</b>"]
        for lead in leads:
            lines.append(
                self.t(
                    "desk.leads_line",
                    number=lead.id,
                    language=language(lead.language).german_name,
                    state=self._state(lead),
                    age=self._age(now - as_utc(lead.created_at)),
                )
            )
        return DeskAnswer("\n".join(lines))

    async def lead_details(self, advisor: AdvisorRef, lead_id: int) -> DeskAnswer:
        if not await self.directory.is_advisor(advisor.id):
            return self._refused()
        async with self.db.transaction() as repo:
            lead = await repo.leads.get(lead_id)
            if lead is None:
                return DeskAnswer(self.t("desk.no_lead", number=lead_id), ok=False)
            person = await repo.persons.get(lead.person_id) if lead.person_id else None
            events = await repo.lead_events.for_lead(lead.id)
            unreachable = person is not None and person.unreachable_at is not None
            lines = [self.cards.render(lead, unreachable=unreachable), ""]
            lines.append(f"<b>{self.t('desk.history')}</b>")
            for event in events:
                who = escape(event.actor_name or "Bot", quote=False)
                what = self.t(f"audit.{event.action}")
                if event.detail:
                    detail = (
                        self.t(f"status.{event.detail}")
                        if event.action == "status"
                        else escape(event.detail, quote=False)
                    )
                    what = f"{what}: {detail}"
                lines.append(f"{self.cards.when(event.created_at)} · {who} · {what}")
            return DeskAnswer("\n".join(lines), buttons=self.cards.buttons(lead))

    async def stats(self, advisor: AdvisorRef) -> DeskAnswer:
        if not await self.directory.is_advisor(advisor.id):
            return self._refused()
        async with self.db.transaction() as repo:
            rows = await repo.leads.counts()
        by_state: Counter[str] = Counter()
        by_language: Counter[str] = Counter()
        for handoff, status, lang, count in rows:
            state = self.t(f"state.{handoff}")
            if status != "new":
                state = f"{state} · {self.t(f'status.{status}')}"
            by_state[state] += count
            by_language[language(lang).german_name] += count
        total = sum(by_state.values())
        lines = [f"<b>{self.t('desk.stats_title', total=total)}</b>"]
        lines += [f"{state}: {count}" for state, count in sorted(by_state.items())]
        lines += ["", f"<b>{self.t('desk.stats_languages')}</b>"]
        lines += [f"{name}: {count}" for name, count in by_language.most_common()]
        return DeskAnswer("\n".join(lines))

    async def lead_of_thread(
        self, chat_id: int, *, topic_id: int | None, reply_to: int | None
    ) -> int | None:
        """The lead an advisor's message in the advisors' chat is about: its forum topic, or
        the card or relayed message it replies to."""
        async with self.db.transaction() as repo:
            if topic_id is not None:
                lead = await repo.leads.by_topic(chat_id, topic_id)
                if lead is not None:
                    return lead.id
            if reply_to is not None:
                return await repo.outbox.lead_of_message(chat_id, reply_to)
        return None

    # -- reminders ------------------------------------------------------------------------------
    async def reannounce_due(self) -> int:
        """Announces again every lead still unclaimed at its reminder time; the next reminder is
        scheduled in the same transaction, so a restart neither loses nor repeats one."""
        now = self.clock()
        async with self.db.transaction() as repo:
            due = await repo.leads.due_for_reannouncement(now)
            mail = LeadMail(repo, self.cards, self.catalogs)
            for lead in due:
                age = self._age(now - as_utc(lead.created_at))
                await mail.thread_note(
                    lead,
                    self.t("desk.reannounce", number=lead.id, age=age),
                    ((Button(self.t("button.claim"), actions.claim(lead.id)),),),
                )
                await repo.lead_events.add(lead.id, "reannounce")
                lead.reannounce_at = now + self.reannounce_after
        if due:
            log.info("re-announced %d unclaimed lead(s)", len(due))
            self.on_queued()
        return len(due)

    # -- helpers ----------------------------------------------------------------------------------
    async def _on_lead(
        self,
        advisor: AdvisorRef,
        lead_id: int,
        action: str,
        act: Callable[[Repositories, Lead], Any],
    ) -> DeskAnswer:
        allowed = await self.directory.is_advisor(advisor.id)
        async with self.db.transaction() as repo:
            lead = await repo.leads.get_locked(lead_id)
            if lead is None:
                return DeskAnswer(self.t("desk.no_lead", number=lead_id), ok=False)
            if not allowed:
                await repo.lead_events.add(
                    lead.id, "refused", actor_id=advisor.id, actor_name=advisor.name, detail=action
                )
                # Who it was is in the audit log, not in the log file.
                log.warning("%s on lead %s refused: not an advisor", action, lead_id)
                return self._refused()
            answer: DeskAnswer = await act(repo, lead)
        log.info(
            "advisor %s: %s on lead %s (%s)",
            advisor.id,
            action,
            lead_id,
            "ok" if answer.ok else "no",
        )
        if answer.ok:
            self.on_queued()
        return answer

    async def _writable(
        self, repo: Repositories, lead: Lead, advisor: AdvisorRef
    ) -> tuple[Person | None, DeskAnswer]:
        """The person an advisor may write to on this lead (None and why not). Writing to an
        unclaimed lead claims it, so the person learns who is with them."""
        person = await repo.persons.get(lead.person_id) if lead.person_id else None
        if person is None:
            return None, DeskAnswer(self.t("desk.person_gone", number=lead.id), ok=False)
        if lead.handoff == CLOSED:
            return None, DeskAnswer(self.t("desk.not_relayed_closed", number=lead.id), ok=False)
        if lead.handoff == WAITING:
            await self._handoff(repo).claim(lead, advisor.id, advisor.name)
            return person, DeskAnswer(self.t("desk.claimed_by_reply", number=lead.id))
        return person, DeskAnswer("")

    def _refused(self) -> DeskAnswer:
        return DeskAnswer(self.t("desk.refused"), ok=False)

    def _state(self, lead: Lead) -> str:
        state = self.t(f"state.{lead.handoff}")
        if lead.handoff == WITH_ADVISOR:
            state = f"{state} ({escape(lead.advisor_name or '?', quote=False)})"
        if lead.status != "new":
            state = f"{state} · {self.t(f'status.{lead.status}')}"
        return state

    def _age(self, age: timedelta) -> str:
        hours = int(age.total_seconds() // 3600)
        if hours >= 48:
            return self.t("desk.age_days", days=hours // 24)
        return self.t("desk.age_hours", hours=hours)
