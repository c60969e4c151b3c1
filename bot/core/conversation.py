"""The dialog engine: one event in, plain replies out, every step saved before the reply leaves.

Channels call `ConversationService.handle`. Each call is one database transaction, so a crash or
restart resumes exactly at the last answered step, and a lead and its advisors' card are stored
together or not at all.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from bot.catalog.model import Catalogue
from bot.core import actions
from bot.core.answers import TYPED_PARSERS, Invalid, clean_text, compact, match_option
from bot.core.content import Content
from bot.core.events import (
    Attachment,
    Button,
    Command,
    Event,
    PersonRef,
    Press,
    Reply,
    Resume,
    Text,
    Unsupported,
)
from bot.core.flows import Step
from bot.core.free_text import FreeText
from bot.core.handoff import (
    TO_ADVISORS,
    Handoff,
    LeadMail,
    relay_message,
)
from bot.core.leads import CLOSED, WITH_ADVISOR, LeadCards, contact_of
from bot.core.limits import overlong
from bot.core.opportunities import (
    ALL,
    OpportunityScreens,
    suggestion_records,
    toggle_interest,
)
from bot.core.privacy import (
    EXPORT_FILENAME,
    ErasureReport,
    Privacy,
    export_json,
    export_person,
    summary_lines,
)
from bot.core.screens import Screens
from bot.i18n.catalogs import Catalogs, Translator
from bot.i18n.languages import pick_language, spoken_language
from bot.i18n.presentation import present
from bot.nlu.langid import LanguageIdentifier
from bot.nlu.understanding import Understanding
from bot.storage.database import Database, is_transient
from bot.storage.models import Conversation, Lead, OutboxItem, Person
from bot.storage.repositories import Repositories

log = logging.getLogger(__name__)

COMMANDS = ("start", "menu", "language", "help", "privacy", "mydata", "delete", "cancel")
# The offer to switch language needs a sentence, not a name or a number, and a sure detection.
OFFER_MIN_WORDS = 2
OFFER_MIN_CONFIDENCE = 0.9
OFFER_SKIP_STEPS = frozenset({"first_name", "phone", "email", "hours_per_week"})
# Screens on which a press of "cancel" or /cancel stops something.
_INTAKE_SCREENS = frozenset({"intake", "summary", "consent"})
# A turn that fails on a passing database problem is run again this often, after 0.5 s, 1 s.
TURN_ATTEMPTS = 3
TURN_RETRY_SECONDS = 0.5
# Media an advisor can receive as they are (copied, not translated).
COPYABLE = frozenset({"photo", "document", "voice", "audio", "video", "video_note"})


@dataclass(frozen=True)
class LanguageSettings:
    enabled: tuple[str, ...]
    fallback: str


class ConversationService:
    """Runs the declared flows for every channel. Dependencies come in; nothing is global."""

    def __init__(
        self,
        database: Database,
        content: Content,
        catalogs: Catalogs,
        languages: LanguageSettings,
        cards: LeadCards,
        *,
        language_identifier: LanguageIdentifier | None = None,
        understanding: Understanding | None = None,
        on_lead_created: Callable[[int], None] | None = None,
        catalogue: Catalogue | None = None,
        privacy: Privacy | None = None,
        reannounce_after: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = database
        self.content = content
        self.catalogs = catalogs
        self.languages = languages
        self.cards = cards
        self.language_identifier = language_identifier
        self.understanding = understanding
        self.language_names = catalogs.native_names(languages.enabled)
        # Public so the composition root can wire the outbox in after the channel exists:
        # called after a commit that queued messages (lead id, or None for other messages).
        self.on_lead_created: Callable[[int], None] = on_lead_created or (lambda _lead_id: None)
        self.on_queued: Callable[[], None] = lambda: None
        self.catalogue = catalogue
        self.privacy = privacy
        self.reannounce_after = reannounce_after
        self.clock = clock
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def handle(self, ref: PersonRef, event: Event) -> list[Reply]:
        """Applies one event; returns the replies once everything it changed is committed."""
        lock = self._locks.get((ref.channel, ref.external_id))
        if lock is None:
            lock = asyncio.Lock()
            self._locks[(ref.channel, ref.external_id)] = lock
        async with lock:
            turn, replies, person_id = await self._run_turn(ref, event)
            for lead_id in turn.created_leads:
                log.info("lead %s created for person %s", lead_id, person_id)
                self.on_lead_created(lead_id)
            if turn.erasure is not None and self.privacy is not None:
                await self.privacy.finish(turn.erasure)
            if turn.queued:
                self.on_queued()
            return replies

    async def _run_turn(self, ref: PersonRef, event: Event) -> tuple[_Turn, list[Reply], int]:
        """One transaction for the event. A passing database failure (connection lost, a
        serialisation conflict) rolls it back whole, so it is simply run again, a few times."""
        for attempt in range(1, TURN_ATTEMPTS + 1):
            try:
                async with self.db.transaction() as repo:
                    person, _created = await repo.persons.get_or_create(
                        ref.channel, ref.external_id
                    )
                    await repo.persons.lock(person)
                    if ref.platform_language:
                        person.platform_language = ref.platform_language[:16]
                    person.last_seen_at = self.clock()
                    person.unreachable_at = None  # they write, so they can be reached again
                    conversation = await repo.conversations.get_or_create(person.id)
                    turn = _Turn(self, repo, person, conversation, ref, event)
                    replies = [present(reply, turn.lang) for reply in await turn.run()]
                    person_id = person.id
                return turn, replies, person_id
            except Exception as exc:
                if attempt == TURN_ATTEMPTS or not is_transient(exc):
                    raise
                log.warning(
                    "turn failed on a passing database problem (%s); attempt %d of %d",
                    type(exc).__name__,
                    attempt + 1,
                    TURN_ATTEMPTS,
                )
                await asyncio.sleep(TURN_RETRY_SECONDS * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def queue_replies(self, ref: PersonRef, replies: Sequence[Reply]) -> None:
        """Replies a channel could not send right away, handed to the outbox to retry."""
        if not replies:
            return
        async with self.db.transaction() as repo:
            person, _created = await repo.persons.get_or_create(ref.channel, ref.external_id)
            mail = self.lead_mail(repo)
            for reply in replies:
                await mail.message(person, reply.text, buttons=reply.buttons)
        self.on_queued()

    def lead_mail(self, repo: Repositories) -> LeadMail:
        return LeadMail(repo, self.cards, self.catalogs)

    def handoff(self, repo: Repositories) -> Handoff:
        return Handoff(
            repo, self.lead_mail(repo), reannounce_after=self.reannounce_after, clock=self.clock
        )

    async def on_undeliverable(self, repo: Repositories, item: OutboxItem) -> None:
        """The outbox gave up on a message to a person (they blocked the bot): mark them
        unreachable and tell the advisors on the lead's card and in its thread."""
        if item.destination != "person" or item.person_id is None:
            return
        person = await repo.persons.get(item.person_id)
        if person is None:
            return
        first_time = person.unreachable_at is None
        person.unreachable_at = self.clock()
        lead_id = item.lead_id or person.active_lead_id
        lead = await repo.leads.get(lead_id) if lead_id else None
        if lead is None or not first_time:
            return
        mail = self.lead_mail(repo)
        await mail.card_edit(lead, person)
        await mail.thread_note(lead, self.catalogs.get("de")("thread.unreachable"))
        await repo.lead_events.add(lead.id, "unreachable")
        log.info("person %s is unreachable (blocked the bot); lead %s updated", person.id, lead.id)


class _Turn:
    """One event of one person. Short-lived; holds the transaction's objects."""

    def __init__(
        self,
        service: ConversationService,
        repo: Repositories,
        person: Person,
        conversation: Conversation,
        ref: PersonRef,
        event: Event,
    ) -> None:
        self.s = service
        self.repo = repo
        self.person = person
        self.conv = conversation
        self.ref = ref
        self.event = event
        self.flow = service.content.intake
        self.via_button = isinstance(event, Press)
        self.created_leads: list[int] = []
        self.queued = False
        self.erasure: ErasureReport | None = None
        # The lead being handed over (waiting or with an advisor), loaded by run().
        self.lead: Lead | None = None
        # The lead whose suggestions are on screen (screen "suggestions"), loaded by run().
        self.suggested: Lead | None = None

    # -- language ---------------------------------------------------------------------------
    @property
    def lang(self) -> str:
        chosen = self.person.language
        if chosen in self.s.languages.enabled:
            return chosen
        return pick_language(
            self.person.platform_language, self.s.languages.enabled, self.s.languages.fallback
        )

    @property
    def t(self) -> Translator:
        return self.s.catalogs.get(self.lang)

    @property
    def telegram_language(self) -> str | None:
        """The person's app language when the bot offers it: a hint for close language calls."""
        return pick_language(self.person.platform_language, self.s.languages.enabled, "") or None

    @property
    def screens(self) -> Screens:
        return Screens(self.t, self.s.content, self.s.language_names)

    @property
    def opportunities(self) -> OpportunityScreens | None:
        catalogue = self.s.catalogue
        return OpportunityScreens(self.t, catalogue) if catalogue is not None else None

    @property
    def consented(self) -> bool:
        return self.person.consent_version == self.s.content.privacy_version

    # -- dispatch ---------------------------------------------------------------------------
    async def run(self) -> list[Reply]:
        event = self.event
        self.lead = await self._active_lead()
        if self.conv.screen == "suggestions" and self.conv.pending.get("lead"):
            self.suggested = await self.repo.leads.get(int(self.conv.pending["lead"]))
        if isinstance(event, Resume):
            return self.on_resume(event)
        if isinstance(event, Command):
            return await self.on_command(event.name)
        if isinstance(event, Press):
            return await self.on_press(event.action)
        if isinstance(event, Text):
            return await self.on_text(event.text)
        if isinstance(event, Unsupported):
            if self.with_advisor and event.source and event.kind in COPYABLE:
                return await self.relay_media(event)
            return [self.current(prefix=self.t("unsupported.content"), edit=False)]
        raise TypeError(f"unknown event {event!r}")

    # -- handoff ----------------------------------------------------------------------------
    async def _active_lead(self) -> Lead | None:
        lead_id = self.person.active_lead_id
        lead = await self.repo.leads.get(lead_id) if lead_id else None
        if lead is None or lead.handoff == CLOSED:
            self.person.active_lead_id = None
            return None
        return lead

    @property
    def with_advisor(self) -> bool:
        return self.lead is not None and self.lead.handoff == WITH_ADVISOR

    async def relay_text(self, text: str) -> list[Reply]:
        """While an advisor is with the person, their words go to the advisor, not to the NLU.
        The detected language of the message (if sure) beats the chosen one for translation."""
        assert self.lead is not None
        message = relay_message(
            self.lead,
            self.person,
            direction=TO_ADVISORS,
            text=text[:4000],
            source_language=self.detect_language(text) or self.lang,
            target_language="de",
        )
        await self.repo.relay.add(message)
        await self.s.lead_mail(self.repo).relay(self.lead, self.person, message)
        self.queued = True
        return []

    async def relay_media(self, event: Unsupported) -> list[Reply]:
        assert self.lead is not None and event.source is not None
        note = self.s.catalogs.get("de")(
            "relay.media_from_person", kind=event.kind, number=self.lead.id
        )
        await self.s.lead_mail(self.repo).copy(
            self.lead, self.person, note, event.source, to_person=False
        )
        await self.repo.lead_events.add(self.lead.id, "media", detail=event.kind)
        self.queued = True
        return []

    async def end_handoff(self) -> Reply:
        lead = self.lead
        if lead is None:
            return self.stale()
        german = self.s.catalogs.get("de")
        await self.s.handoff(self.repo).end_by_person(lead, german("thread.person_ended"))
        self.lead = None
        self.queued = True
        return self.go_menu(prefix=self.t("handoff.ended", number=lead.id))

    def already_handed_over(self) -> Reply:
        assert self.lead is not None
        if self.with_advisor:
            name = escape(self.lead.advisor_name or "", quote=False)
            prefix = self.t("handoff.already_with", name=name, number=self.lead.id)
        else:
            prefix = self.t("handoff.already_waiting", number=self.lead.id)
        return self.go_menu(prefix=prefix)

    async def open_lead(self, kind: str, answers: dict[str, Any]) -> Lead:
        lead = await self.repo.leads.create(
            person_id=self.person.id,
            kind=kind,
            language=self.lang,
            answers=answers,
            contact=contact_of(self.ref),
        )
        if kind == "intake":
            self._suggest(lead)  # before the card is rendered: advisors see them on it
        await self.s.handoff(self.repo).open(lead, self.person)
        self.created_leads.append(lead.id)
        self.queued = True
        self.lead = lead
        return lead

    def on_resume(self, event: Resume) -> list[Reply]:
        if event.language in self.s.languages.enabled:
            self.person.language = event.language
        if self.conv.screen == "new":
            return [self.welcome()]
        return [self.current(prefix=self.t("resume.welcome_back"))]

    async def on_command(self, name: str) -> list[Reply]:
        if name == "start":
            return [self.welcome(force_picker=True)]
        if name == "menu":
            return [self.go_menu()]
        if name == "language":
            self.conv.screen = "language"
            return [self.screens.language_picker(self.lang)]
        if name == "help":
            return [self.go_help()]
        if name == "privacy":
            return [self.go_privacy()]
        if name == "mydata":
            return [await self.show_my_data()]
        if name == "delete":
            return [self.go_delete()]
        if name == "cancel":
            return [self.cancel()]
        return [self.go_menu(prefix=self.t("command.unknown"))]

    async def on_text(self, text: str) -> list[Reply]:
        refusal = overlong(text)  # more than Telegram allows: nobody typed that
        if refusal is not None:
            return [self.current(prefix=self.t(refusal.hint, **refusal.params), edit=False)]
        if self.conv.screen == "new":
            detected = self.detect_language(text)
            return [self.welcome(language=detected)]
        if self.with_advisor and not (self.conv.screen == "intake" and self.conv.step):
            # Text goes to the advisor, unless it names a language on the language picker.
            picked = self.typed_language(text) if self.conv.screen == "language" else None
            return [self.choose_language(picked)] if picked else await self.relay_text(text)
        answering = self.conv.step if self.conv.screen == "intake" else None
        replies = await self.answer_text(text)
        offer = None if answering in OFFER_SKIP_STEPS else self.language_offer(text)
        return [*replies, offer] if offer else replies

    def typed_language(self, text: str) -> str | None:
        """The language whose name (or code) was typed on the language picker."""
        typed = compact(text)
        for code, name in self.s.language_names.items():
            if typed and typed in {compact(name), code}:
                return code
        return None

    async def answer_text(self, text: str) -> list[Reply]:
        if self.conv.screen == "language" and (picked := self.typed_language(text)):
            return [self.choose_language(picked)]
        if self.conv.screen == "intake" and self.conv.step:
            if not self.flow.has_step(self.conv.step):  # the content changed under the person
                self.conv.step = None
                return [await self.start_intake()]
            return await self.typed_answer(self.flow.step(self.conv.step), text)
        if self.conv.screen == "summary":
            return [self.current(prefix=self.t("hint.use_buttons"), edit=False)]
        return await FreeText(self).handle(text)

    async def on_press(self, action: str) -> list[Reply]:
        parsed = actions.parse(action)
        if parsed is None:
            return [self.stale()]
        verb = parsed.verb
        simple: dict[str, Callable[[], Any]] = {
            actions.MENU: self.go_menu,
            actions.FAQ: self.go_faq,
            actions.INTAKE: self.start_intake,
            actions.ADVISOR: self.go_advisor,
            actions.ADVISOR_YES: self.request_advisor,
            actions.LANGUAGE: self.go_language,
            actions.PRIVACY: self.go_privacy,
            actions.FORGET: self.go_delete,  # buttons of older versions
            actions.FORGET_YES: self.delete_all,
            actions.MYDATA: self.show_my_data,
            actions.DELETE: self.go_delete,
            actions.DELETE_YES: self.delete_all,
            actions.CONSENT_YES: self.consent_given,
            actions.CONSENT_NO: self.consent_declined,
            actions.CONSENT_FULL: self.consent_full,
            actions.CONFIRM: self.confirm,
            actions.CANCEL: self.cancel,
            actions.END_HANDOFF: self.end_handoff,
            actions.BROWSE: self.go_browse,
        }
        if verb in simple:
            result = simple[verb]()
            if asyncio.iscoroutine(result):
                result = await result
            return result if isinstance(result, list) else [result]
        if verb == "like":
            return [await self.toggle_interest(parsed.value or "")]
        if verb in {"brf", "brd", "brp"}:
            return [self.browse(verb, parsed.value or "")]
        if verb == "lang":
            return [self.choose_language(parsed.value or "")]
        if verb == "sw":
            return [self.switch_language(parsed.value or "")]
        if verb == "keep":
            return [Reply(self.t("language.changed"), edit=True)]
        if verb == "q":
            if parsed.value not in self.s.content.faq_topics:
                return [self.stale()]
            self.conv.screen = "faq"
            return [self.screens.faq_answer(parsed.value, edit=True)]
        if verb == "e":
            return [self.edit_from_summary(parsed.step or "")]
        # Step-scoped actions are valid only for the question on screen right now.
        if self.conv.screen != "intake" or self.conv.step != parsed.step:
            return [self.stale()]
        step = self.flow.step(parsed.step)
        if verb == "a":
            return [self.pressed_option(step, parsed.value or "")]
        if verb == "d":
            return [self.multi_done(step)]
        if verb == "s":
            return [self.skip(step)] if step.optional else [self.stale()]
        if verb == "b":
            return [self.back(step)]
        return [self.stale()]

    # -- screens ----------------------------------------------------------------------------
    def welcome(self, *, force_picker: bool = False, language: str | None = None) -> Reply:
        """First contact: who we are, then the language picker (or the menu if already chosen).
        `language` is the language of a first typed message; it beats Telegram's setting."""
        chosen = self.person.language in self.s.languages.enabled
        if chosen and not force_picker:
            self.conv.screen = "menu"
            return self.screens.welcome(self.lang, with_menu=True)
        self.conv.screen = "language"
        if language is None:
            return self.screens.welcome(self.lang)
        screens = Screens(self.s.catalogs.get(language), self.s.content, self.s.language_names)
        return replace(screens.welcome(language), language=language)

    def current(self, *, prefix: str | None = None, edit: bool | None = None) -> Reply:
        """Re-renders whatever the person is looking at (after a restart or an odd input)."""
        edit = self.via_button if edit is None else edit
        screens, screen = self.screens, self.conv.screen
        if screen == "new":
            reply = screens.welcome(self.lang)
        elif screen == "language":
            reply = screens.language_picker(self.lang)
        elif screen == "faq":
            reply = screens.faq_list()
        elif screen == "consent":
            reply = screens.consent()
        elif screen == "advisor":
            reply = screens.advisor_confirm()
        elif screen == "privacy":
            reply = self._privacy_screen()
        elif screen in {"delete", "forget"}:
            reply = screens.delete_confirm()
        elif screen == "intake" and self.conv.step and self.flow.has_step(self.conv.step):
            reply = self.question(self.flow.step(self.conv.step))
        elif screen == "summary":
            reply = screens.summary(self.conv.answers)
        elif screen == "suggestions" and self.opportunities is not None:
            shown = self.suggested.suggestions if self.suggested is not None else []
            reply = self.opportunities.suggestions(shown or [])
        elif screen == "browse" and self.opportunities is not None:
            reply = self.browse_screen()
        else:
            self.conv.screen = "menu"
            reply = self._with_handoff_row(screens.menu())
        if prefix:
            reply = replace(reply, text=f"{prefix}\n\n{reply.text}")
        return replace(reply, edit=edit)

    def stale(self) -> Reply:
        return self.current(prefix=self.t("hint.stale_button"))

    def go_menu(self, prefix: str | None = None) -> Reply:
        self.conv.screen = "menu"
        self.conv.editing = False
        if prefix is None and self.with_advisor:
            assert self.lead is not None
            name = escape(self.lead.advisor_name or "", quote=False)
            prefix = self.t("handoff.menu_with", name=name)
        return self._with_handoff_row(self.screens.menu(prefix=prefix, edit=self.via_button))

    def _with_handoff_row(self, menu: Reply) -> Reply:
        """While a handoff is open, the menu offers to end it."""
        if self.lead is None:
            return menu
        row = (Button(self.t("handoff.end_button", number=self.lead.id), actions.END_HANDOFF),)
        return replace(menu, buttons=(*menu.buttons, row))

    def go_help(self) -> Reply:
        self.conv.screen = "menu"
        return self.screens.help()

    def go_faq(self) -> Reply:
        self.conv.screen = "faq"
        return self.screens.faq_list(edit=self.via_button)

    def go_language(self) -> Reply:
        self.conv.screen = "language"
        return self.screens.language_picker(self.lang, edit=self.via_button)

    def choose_language(self, code: str) -> Reply:
        if code not in self.s.languages.enabled:
            return self.stale()
        self.person.language = code
        return self.go_menu(prefix=self.t("language.changed"))

    def switch_language(self, code: str) -> Reply:
        """Accepted offer: same place in the conversation, now in the new language."""
        if code not in self.s.languages.enabled:
            return self.stale()
        self.person.language = code
        return self.current(prefix=self.t("language.changed"), edit=True)

    def detect_language(self, text: str) -> str | None:
        """An offered language the text is confidently written in, else None."""
        identifier = self.s.language_identifier
        if identifier is None or len(text.split()) < OFFER_MIN_WORDS:
            return None
        detection = identifier.detect(text, prior=self.telegram_language)
        if detection is None or detection.confidence < OFFER_MIN_CONFIDENCE:
            return None
        if detection.language not in self.s.languages.enabled:
            return None
        return detection.language

    def language_offer(self, text: str) -> Reply | None:
        """Offers (once per language, never forcing it) to continue in the language the person
        writes in. The caller skips names, numbers and addresses: they tell no language."""
        code = self.detect_language(text)
        if code is None or spoken_language(code) == spoken_language(self.lang):
            return None
        offered = list(self.person.language_offers or [])
        if code in offered:
            return None
        self.person.language_offers = [*offered, code]
        theirs = self.s.catalogs.get(code)
        names = self.s.language_names
        buttons = (
            (Button(theirs("language.offer_yes"), actions.switch_language(code)),),
            (
                Button(
                    self.t("language.offer_no", language=names[self.lang]),
                    actions.keep_language(code),
                ),
            ),
        )
        return Reply(theirs("language.offer", language=names[code]), buttons, language=code)

    def _privacy_screen(self) -> Reply:
        return self.screens.privacy(consented=self.consented, edit=self.via_button)

    def go_privacy(self) -> Reply:
        self.conv.screen = "privacy"
        return self._privacy_screen()

    async def show_my_data(self) -> Reply:
        """Everything stored about the person: a JSON file and a readable summary."""
        export = await export_person(self.repo, self.person.id, self.s.clock())
        assert export is not None  # the person of this turn exists
        self.conv.screen = "privacy"
        return Reply(
            "\n".join(summary_lines(export, self.t)),
            ((Button(self.t("button.menu"), actions.MENU),),),
            attachment=Attachment(
                EXPORT_FILENAME, export_json(export), self.t("privacy.export.caption")
            ),
        )

    def go_delete(self) -> Reply:
        self.conv.screen = "delete"
        return self.screens.delete_confirm(edit=self.via_button)

    async def delete_all(self) -> Reply:
        """Erases everything about the person (bot/core/privacy.py); the reply is built first,
        since the person's rows are gone afterwards."""
        if self.conv.screen not in {"delete", "forget"} or self.s.privacy is None:
            return self.stale()
        reply = Reply(
            self.t("privacy.deleted"),
            ((Button(self.t("button.menu"), actions.MENU),),),
            edit=self.via_button,
        )
        self.erasure = await self.s.privacy.erase_in(self.repo, self.person.id)
        self.lead = None
        self.queued = True
        return reply

    def go_advisor(self) -> Reply:
        if self.lead is not None:
            return self.already_handed_over()
        self.conv.screen = "advisor"
        return self.screens.advisor_confirm(edit=self.via_button)

    async def request_advisor(self) -> Reply:
        if self.lead is not None:
            return self.already_handed_over()
        if self.conv.screen != "advisor":
            return self.stale()
        answers: dict[str, Any] = {}
        if self.consented:
            profile = await self.repo.profiles.get(self.person.id)
            answers = dict(profile.answers) if profile else {}
        lead = await self.open_lead("contact", answers)
        return self.go_menu(prefix=self.t("advisor.requested", number=lead.id))

    # -- consent ------------------------------------------------------------------------------
    def consent_full(self) -> Reply:
        self.conv.screen = "consent"
        return self.screens.consent(full=True, edit=self.via_button)

    async def consent_given(self) -> Reply:
        if self.conv.screen != "consent":
            return self.stale()
        self.person.consent_version = self.s.content.privacy_version
        self.person.consent_at = self.s.clock()
        log.info(
            "person %s consented to privacy notice v%s",
            self.person.id,
            self.s.content.privacy_version,
        )
        return await self.start_intake()

    def consent_declined(self) -> Reply:
        return self.go_menu(prefix=self.t("consent.declined"))

    # -- intake ---------------------------------------------------------------------------------
    async def start_intake(self) -> Reply:
        """Starts, or resumes where the person left off; asks for consent first. A person who
        confirmed a profile before starts from its summary, to change what is no longer true."""
        if not self.consented:
            self.conv.screen = "consent"
            return self.screens.consent(edit=self.via_button)
        await self._restore_profile()
        if self.conv.step and self.flow.has_step(self.conv.step):
            self.conv.screen = "intake"
            return self.question(self.flow.step(self.conv.step), edit=self.via_button)
        if (
            self.conv.answers
            and self.flow.next_step(None, self.conv.answers, only_unanswered=True) is None
        ):
            return self.show_summary()
        first = self.flow.next_step(None, self.conv.answers, only_unanswered=True)
        if first is None:  # pragma: no cover - a flow has at least one step
            return self.show_summary()
        return self.ask(first)

    async def _restore_profile(self) -> None:
        profile = await self.repo.profiles.get(self.person.id)
        if profile and not self.conv.answers:
            self.conv.answers = dict(profile.answers)

    def ask(self, step: Step, *, hint: str | None = None) -> Reply:
        self.conv.screen = "intake"
        if self.conv.step != step.id:
            self.conv.pending = self._initial_pending(step)
        self.conv.step = step.id
        return self.question(step, hint=hint, edit=self.via_button)

    def question(self, step: Step, *, hint: str | None = None, edit: bool = False) -> Reply:
        applicable = self.flow.applicable(self.conv.answers)
        ids = [s.id for s in applicable]
        position = (ids.index(step.id) + 1 if step.id in ids else 1, len(ids))
        return self.screens.question(
            step, self.conv.answers, self.conv.pending, position=position, hint=hint, edit=edit
        )

    def _initial_pending(self, step: Step) -> dict[str, Any]:
        if step.type != "multi":
            return {}
        selected = list(self.conv.answers.get(step.id) or [])
        pending: dict[str, Any] = {"selected": selected, "awaiting_other": False}
        if step.other_key in self.conv.answers:
            pending["other_text"] = self.conv.answers[step.other_key]
        return pending

    def show_summary(self) -> Reply:
        self.conv.screen = "summary"
        self.conv.step = None
        self.conv.editing = False
        self.conv.pending = {}
        return self.screens.summary(self.conv.answers, edit=self.via_button)

    def store(self, step: Step, value: Any, other_text: str | None = None) -> Reply:
        """Saves an answer and moves on: to the next question, or back to the summary."""
        answers = dict(self.conv.answers)
        answers[step.id] = value
        answers.pop(step.other_key, None)
        if other_text:
            answers[step.other_key] = other_text
        self.conv.answers = self.flow.prune(answers)
        self.conv.history = [*self.conv.history, step.id]
        if not self.conv.editing:
            following = self.flow.next_step(step.id, self.conv.answers)
        else:
            following = self.flow.next_step(None, self.conv.answers, only_unanswered=True)
        if following is None:
            return self.show_summary()
        return self.ask(following)

    def skip(self, step: Step) -> Reply:
        return self.store(step, None)

    def back(self, step: Step) -> Reply:
        pending = self.conv.pending
        if step.type == "multi" and pending.get("awaiting_other"):
            selected = [o for o in pending.get("selected", []) if o != step.other]
            self.conv.pending = {**pending, "selected": selected, "awaiting_other": False}
            return self.question(step, edit=self.via_button)
        history = list(self.conv.history)
        while history:
            previous = history.pop()
            if self.flow.has_step(previous) and self.flow.applies(
                self.flow.step(previous), self.conv.answers
            ):
                self.conv.history = history
                return self.ask(self.flow.step(previous))
        self.conv.history = []
        if self.conv.editing:
            return self.show_summary()
        return self.go_menu(prefix=self.t("intake.paused"))

    def pressed_option(self, step: Step, value: str) -> Reply:
        if step.type == "number":
            parsed = TYPED_PARSERS["number"](step, value)
            return self.stale() if isinstance(parsed, Invalid) else self.store(step, parsed)
        if value not in step.options:
            return self.stale()
        if step.type == "choice":
            return self.store(step, value)
        if step.type == "multi":
            return self.toggle(step, value)
        return self.stale()

    def toggle(self, step: Step, option: str) -> Reply:
        pending = dict(self.conv.pending)
        selected = list(pending.get("selected", []))
        if option in selected:
            selected.remove(option)
            if option == step.other:
                pending.pop("other_text", None)
                pending["awaiting_other"] = False
        else:
            selected.append(option)
            if option == step.other:
                pending["awaiting_other"] = True
        pending["selected"] = [o for o in step.options if o in selected]
        self.conv.pending = pending
        return self.question(step, edit=self.via_button)

    def multi_done(self, step: Step) -> Reply:
        selected = list(self.conv.pending.get("selected", []))
        if not selected:
            if step.optional:
                return self.skip(step)
            return self.question(step, hint=self.t("hint.choose_one"), edit=self.via_button)
        return self.store(step, selected, self.conv.pending.get("other_text"))

    async def typed_answer(self, step: Step, text: str) -> list[Reply]:
        """Typed text is first tried as the answer; if it is none, as a question of its own."""
        if step.type == "multi":
            if (
                not self.conv.pending.get("awaiting_other")
                and match_option(step, text, self.t) is None
            ):
                aside = await FreeText(self).aside(text)
                if aside is not None:
                    return aside
            return [self.typed_multi(step, text)]
        if step.type == "choice":
            option = match_option(step, text, self.t)
            if option is None:
                aside = await FreeText(self).aside(text)
                return aside or [self.question(step, hint=self.t("hint.use_buttons"))]
            return [self.store(step, option)]
        parsed = TYPED_PARSERS[step.type](step, text)
        if isinstance(parsed, Invalid):
            # Contact data ("call me", "my address is ...") is never taken for a question.
            typed_data = step.type in {"text", "phone", "email"}
            aside = None if typed_data else await FreeText(self).aside(text)
            return aside or [self.question(step, hint=self.t(parsed.hint, **parsed.params))]
        return [self.store(step, parsed)]

    def typed_multi(self, step: Step, text: str) -> Reply:
        pending = self.conv.pending
        if pending.get("awaiting_other"):
            value = clean_text(text)
            if not value:
                return self.question(step, hint=self.t("hint.text_empty"))
            if len(value) > 200:
                return self.question(
                    step, hint=self.t("hint.text_too_long", max=200, length=len(value))
                )
            self.conv.pending = {**pending, "other_text": value, "awaiting_other": False}
            return self.question(step)
        option = match_option(step, text, self.t)
        if option is None:
            return self.question(step, hint=self.t("hint.use_buttons"))
        return self.toggle(step, option)

    def edit_from_summary(self, step_id: str) -> Reply:
        if self.conv.screen != "summary" or not self.flow.has_step(step_id):
            return self.stale()
        step = self.flow.step(step_id)
        if not self.flow.applies(step, self.conv.answers):
            return self.stale()
        self.conv.editing = True
        self.conv.history = []  # "Back" while editing leads back to the summary
        return self.ask(step)

    async def confirm(self) -> list[Reply]:
        if self.conv.screen != "summary" or not self.consented:
            return [self.stale()]
        missing = self.flow.next_step(None, self.conv.answers, only_unanswered=True)
        if missing is not None:  # e.g. "E-mail" chosen, then "Back" before the address
            self.conv.editing = True
            self.conv.history = []
            return [self.ask(missing, hint=self.t("hint.missing_answer"))]
        answers = dict(self.conv.answers)
        await self.repo.profiles.save(self.person.id, answers)
        if self.lead is not None:
            # A handoff is under way: the advisors get the new profile on the same lead.
            lead = self.lead
            lead.answers = answers
            self._suggest(lead)
            mail = self.s.lead_mail(self.repo)
            await mail.card_edit(lead, self.person)
            await mail.thread_note(lead, self.s.catalogs.get("de")("thread.profile_updated"))
            await self.repo.lead_events.add(lead.id, "profile_updated")
            self.queued = True
        else:
            lead = await self.open_lead("intake", answers)
        self._reset_intake()
        self.conv.screen = "done"
        sent = self.screens.lead_sent(lead.id, answers.get("contact_method"), edit=self.via_button)
        if self.opportunities is None:
            return [sent]
        self.conv.screen = "suggestions"
        self.conv.pending = {"lead": lead.id}
        return [replace(sent, buttons=()), self.opportunities.suggestions(lead.suggestions or [])]

    # -- opportunities --------------------------------------------------------------------------
    def _suggest(self, lead: Lead) -> None:
        """The catalogue's best fits for the lead's profile (kept marks survive a new profile)."""
        if self.s.catalogue is None:
            return
        lead.suggestions = suggestion_records(
            lead.answers or {}, self.s.catalogue, self.s.clock().date(), lead.suggestions or []
        )

    async def toggle_interest(self, opportunity_id: str) -> Reply:
        lead = self.suggested if self.conv.screen == "suggestions" else None
        if lead is None or self.opportunities is None:
            return self.stale()
        updated = toggle_interest(lead.suggestions or [], opportunity_id)
        if updated is None:
            return self.stale()
        lead.suggestions = updated
        person = self.person if lead.person_id == self.person.id else None
        await self.s.lead_mail(self.repo).card_edit(lead, person)
        await self.repo.lead_events.add(lead.id, "interest", detail=opportunity_id)
        self.queued = True
        return self.opportunities.suggestions(updated, edit=True)

    def go_browse(self) -> Reply:
        if self.opportunities is None:
            return self.stale()
        self.conv.screen = "browse"
        self.conv.pending = {}
        return self.opportunities.choose_field(edit=self.via_button)

    def browse(self, verb: str, value: str) -> Reply:
        screens = self.opportunities
        if screens is None or self.conv.screen != "browse":
            return self.stale()
        pending = dict(self.conv.pending)
        if verb == "brf" and value in (*screens.fields(), ALL):
            self.conv.pending = {"field": value}
        elif verb == "brd" and "field" in pending and value in (*screens.districts(), ALL):
            self.conv.pending = {**pending, "district": value, "page": 0}
        elif verb == "brp" and "district" in pending and value.isascii() and value.isdigit():
            self.conv.pending = {**pending, "page": int(value)}
        else:
            return self.stale()
        return self.browse_screen(edit=self.via_button)

    def browse_screen(self, *, edit: bool = False) -> Reply:
        screens = self.opportunities
        assert screens is not None
        pending = self.conv.pending
        if "field" not in pending:
            return screens.choose_field(edit=edit)
        if "district" not in pending:
            return screens.choose_district(edit=edit)
        return screens.page(
            str(pending["field"]), str(pending["district"]), int(pending.get("page", 0)), edit=edit
        )

    def cancel(self) -> Reply:
        if self.conv.screen in _INTAKE_SCREENS or self.conv.step is not None:
            started = bool(self.conv.answers) or self.conv.step is not None
            return self.go_menu(prefix=self.t("intake.paused" if started else "cancel.done"))
        return self.go_menu(prefix=self.t("cancel.nothing"))

    def _reset_intake(self) -> None:
        self.conv.answers = {}
        self.conv.pending = {}
        self.conv.history = []
        self.conv.step = None
        self.conv.editing = False
