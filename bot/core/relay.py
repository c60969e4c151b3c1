"""Composes relayed messages when the outbox sends them: translated, with the original beside.

Translating at send time keeps the person's turn fast and means a slow or missing model delays
nothing else; the translation is stored on the relay row, so a retry does not translate again.
A failed translation never holds a message back: it goes out with a "no translation" note.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from html import escape

from bot.core.handoff import TO_PERSON
from bot.core.outbox import Kind, OutgoingMessage
from bot.i18n.catalogs import Catalogs
from bot.i18n.languages import language, spoken_language
from bot.i18n.presentation import rtl_text
from bot.mt.translator import MachineTranslator
from bot.storage.database import Database
from bot.storage.models import RelayMessage

log = logging.getLogger(__name__)


def same_language(relay: RelayMessage) -> bool:
    """Nothing to translate: a German-speaking person and the advisors, say."""
    return spoken_language(relay.source_language) == spoken_language(relay.target_language)


class DatabaseTranslationCache:
    """Translations kept in the database, each tied to the person whose words they are."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def get(self, key: str) -> str | None:
        async with self._db.transaction() as repo:
            return await repo.translations.get(key)

    async def put(self, key: str, translation_text: str, person_id: int | None) -> None:
        async with self._db.transaction() as repo:
            await repo.translations.put(key, translation_text, person_id)


class RelayComposer:
    def __init__(
        self, database: Database, translator: MachineTranslator, catalogs: Catalogs
    ) -> None:
        self._db = database
        self._translator = translator
        self._catalogs = catalogs

    async def compose(self, message: OutgoingMessage) -> OutgoingMessage:
        if message.kind != Kind.RELAY:
            return message
        relay_id = int(message.payload.get("relay_id") or 0)
        async with self._db.transaction() as repo:
            relay = await repo.relay.get(relay_id)
            lead = await repo.leads.get(relay.lead_id) if relay else None
            if relay is None or lead is None:
                # Erased at the person's request between queueing and sending: nothing to say.
                return replace(message, text="")
            untranslated = relay.translation is None and relay.translation_note is None
            if untranslated and not same_language(relay):
                await self._translate(relay)
            text = (
                self._to_person(relay)
                if relay.direction == TO_PERSON
                else self._to_advisors(relay, lead.id)
            )
        return replace(message, text=text)

    async def _translate(self, relay: RelayMessage) -> None:
        source = spoken_language(relay.source_language)
        target = spoken_language(relay.target_language)
        result = await self._translator.translate(
            relay.original, source, target, person_id=relay.person_id
        )
        if result.ok and result.text:
            relay.translation = result.text
        else:
            relay.translation_note = (result.failure or "no translation")[:200]
            # INFO: the message itself says so; a missing model is what `mt status` reports.
            log.info(
                "relay %s (lead %s): no translation %s->%s: %s",
                relay.id,
                relay.lead_id,
                source,
                target,
                relay.translation_note,
            )

    def _to_advisors(self, relay: RelayMessage, lead_id: int) -> str:
        t = self._catalogs.get("de")
        source = language(relay.source_language).german_name
        lines = [
            f"<b>{t('relay.heading', number=lead_id, language=source)}</b>",
            f"<i>{t('relay.original')}</i>",
            escape(relay.original, quote=False),
            "",
        ]
        if relay.translation:
            lines.append(f"<i>{t('relay.machine_translation', language=source)}</i>")
            lines.append(escape(relay.translation, quote=False))
        elif same_language(relay):
            lines.pop()
        else:
            lines.append(f"<i>{t('relay.no_machine_translation')}</i>")
        return "\n".join(lines)

    def _to_person(self, relay: RelayMessage) -> str:
        lang = relay.target_language
        t = self._catalogs.get(lang)
        name = escape(relay.author_name or "", quote=False)
        lines = [f"<b>{t('relay.from_advisor', name=name)}</b>"]
        if relay.translation:
            lines.append(escape(relay.translation, quote=False))
            lines += ["", f"<i>{t('relay.machine_note')}</i>"]
        elif not same_language(relay):
            lines += [f"<i>{t('relay.no_translation')}</i>"]
        text = rtl_text("\n".join(lines), lang)
        # The advisor's German original stays left-to-right, whatever the person's script.
        return f"{text}\n{escape(relay.original, quote=False)}"
