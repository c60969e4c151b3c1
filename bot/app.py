"""Composition root: builds the core from settings, the same way for every channel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.catalog import CATALOGUE_FILE, Catalogue, load_catalogue
from bot.catalog.loader import CatalogueError
from bot.catalog.texts import english_problems
from bot.config import Settings
from bot.core.advisor_desk import AdvisorDesk, AdvisorDirectory, ConfiguredAdvisors
from bot.core.content import Content, check_messages, load_content
from bot.core.conversation import ConversationService, LanguageSettings
from bot.core.leads import LeadCards
from bot.core.outbox import DeliveryChannel, Outbox
from bot.core.privacy import Privacy, translation_forgetters
from bot.core.relay import DatabaseTranslationCache, RelayComposer
from bot.i18n.catalogs import Catalogs, catalog_path
from bot.mt.cache import CachingTranslator, InMemoryTranslationCache
from bot.mt.factory import build_translator
from bot.mt.translator import MachineTranslator
from bot.nlu.langid import LanguageIdentifier
from bot.nlu.model_store import load_or_train_apart
from bot.nlu.understanding import Understanding
from bot.storage.database import Database

log = logging.getLogger(__name__)


@dataclass
class Core:
    """Everything a channel needs; built once per process."""

    settings: Settings
    database: Database
    content: Content
    catalogs: Catalogs
    service: ConversationService
    cards: LeadCards
    translator: MachineTranslator
    privacy: Privacy

    def outbox(
        self,
        channel: DeliveryChannel,
        desk: AdvisorDesk | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> Outbox:
        """The outbox delivering to `channel`; whatever queues a message wakes it at once."""
        outbox = Outbox(
            self.database,
            channel,
            composer=RelayComposer(self.database, self.translator, self.catalogs),
            on_undeliverable=self.service.on_undeliverable,
            max_backoff_seconds=self.settings.outbox_max_backoff_seconds,
            clock=clock or self.service.clock,
        )
        self.service.on_queued = outbox.wake
        self.privacy.on_queued = outbox.wake
        if desk is not None:
            desk.on_queued = outbox.wake
        return outbox

    def advisor_desk(self, directory: AdvisorDirectory | None = None) -> AdvisorDesk:
        """The advisors' side; `directory` decides who is an advisor (default: config ids)."""
        advisors = self.settings.advisors
        return AdvisorDesk(
            self.database,
            self.cards,
            self.catalogs,
            directory or ConfiguredAdvisors(advisors.ids),
            reannounce_after=timedelta(hours=advisors.reannounce_after_hours),
            clock=self.service.clock,
        )

    async def close(self) -> None:
        close_translator = getattr(self.translator, "close", None)
        if close_translator is not None:
            close_translator()
        await self.database.dispose()


def placeholder_values(settings: Settings, content: Content) -> dict[str, str]:
    """Every {name} a catalogue text may use besides a message's own parameters."""
    agency = settings.agency
    return {
        **content.placeholders(),
        "agency_name": agency.name,
        "agency_email": agency.email,
        "agency_phone": agency.phone,
        "agency_address": agency.address,
        "agency_checked": _german_date(agency.checked),
        "inactive_days": str(settings.privacy.inactive_days),
        "message_days": str(settings.privacy.closed_lead_message_days),
    }


def load_catalogs(settings: Settings, content: Content) -> Catalogs:
    placeholders = placeholder_values(settings, content)
    catalogs = Catalogs(settings.translations_dir, settings.languages, placeholders)
    check_messages(content, catalogs.source_keys, catalog_path(settings.translations_dir, "en"))
    return catalogs


async def open_core(settings: Settings, *, database: Database | None = None) -> Core:
    """Loads content and catalogues (failing early, naming file and line), migrates the DB."""
    content = load_content(settings.dialogs_dir)
    catalogs = load_catalogs(settings, content)
    catalogue = load_opportunities(settings, content)
    database = database or Database(settings.database_url)
    if settings.migrate_on_start:
        await database.upgrade()
    cards = LeadCards(content, catalogs.get("de"), settings.tz, catalogue)
    identifier = LanguageIdentifier(settings.languages)
    await asyncio.to_thread(identifier.warm_up)  # loads its model now, not on a first message
    understanding = None
    if settings.nlu_data_dir.exists():
        model = await asyncio.to_thread(
            load_or_train_apart, settings.nlu_data_dir, settings.nlu_cache_dir
        )
        identifier.romanized = model.models.romanized
        understanding = Understanding(
            model.models.intents, identifier, threshold=settings.nlu_threshold
        )
    else:
        log.warning("no NLU data at %s: free text is answered with the menu", settings.nlu_data_dir)
    service = ConversationService(
        database,
        content,
        catalogs,
        LanguageSettings(settings.languages, settings.fallback_language),
        cards,
        language_identifier=identifier,
        understanding=understanding,
        catalogue=catalogue,
        reannounce_after=timedelta(hours=settings.advisors.reannounce_after_hours),
    )
    translator = CachingTranslator(build_translator(settings), DatabaseTranslationCache(database))
    if settings.mt.cache_size:
        # The same short messages ("ok", "danke") come again and again: keep them at hand.
        translator = CachingTranslator(translator, InMemoryTranslationCache(settings.mt.cache_size))
    log.info(
        "core ready: languages %s, database %s, machine translation %s",
        ",".join(settings.languages),
        database.safe_url,
        translator.name,
    )
    # Erasure must also reach translations cached in memory (the database cache is a table).
    privacy = Privacy(
        database,
        cards,
        settings.privacy,
        forgetters=translation_forgetters(translator),
        clock=service.clock,
    )
    service.privacy = privacy
    return Core(settings, database, content, catalogs, service, cards, translator, privacy)


def load_opportunities(settings: Settings, content: Content) -> Catalogue:
    """The opportunities catalogue, checked against the intake and its English catalogue."""
    catalogue = load_catalogue(settings.dialogs_dir / CATALOGUE_FILE, content.intake)
    if problems := english_problems(catalogue, settings.translations_dir):
        raise CatalogueError(problems)
    return catalogue


def _german_date(iso: str) -> str:
    parts = iso.split("-")
    return ".".join(reversed(parts)) if len(parts) == 3 else iso
