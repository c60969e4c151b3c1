"""Translations cached by what was translated, so a repeated message costs no model time.

Only successful translations are cached: a timeout or a missing model must be tried again next
time. Each entry is tied to the person whose words it holds, because people can ask for
erasure; the database-backed cache deletes by person, the in-memory one here can forget too.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from typing import Protocol

from bot.mt.translator import MachineTranslator, Translation, needs_no_engine

log = logging.getLogger(__name__)


class TranslationCache(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, translation_text: str, person_id: int | None) -> None: ...


def cache_key(engine: str, source: str, target: str, text: str) -> str:
    """sha256 over the four parts, each length-prefixed so no two inputs share a key."""
    digest = hashlib.sha256()
    for part in (engine, source, target, text):
        data = part.encode("utf-8")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


class InMemoryTranslationCache:
    """The most recently used `max_entries` translations, lost on restart."""

    def __init__(self, max_entries: int = 2000) -> None:
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[str, int | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    async def put(self, key: str, translation_text: str, person_id: int | None) -> None:
        if self._max <= 0:
            return
        self._entries[key] = (translation_text, person_id)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def forget_person(self, person_id: int) -> int:
        """Drops every translation of this person's words; returns how many."""
        keys = [key for key, (_, owner) in self._entries.items() if owner == person_id]
        for key in keys:
            del self._entries[key]
        return len(keys)


class CachingTranslator:
    """Wraps a translator with a cache. A failing cache is logged and bypassed: it must never
    cost a message its translation."""

    def __init__(self, inner: MachineTranslator, cache: TranslationCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name

    def route(self, source: str, target: str) -> list[str] | None:
        return self.inner.route(source, target)

    def close(self) -> None:
        """Stops the engine's worker, where it has one (argostranslate does)."""
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()

    async def translate(
        self, text: str, source: str, target: str, *, person_id: int | None = None
    ) -> Translation:
        same = needs_no_engine(text, source, target, self.name)
        if same is not None:
            return same
        key = cache_key(self.name, source, target, text)
        try:
            cached = await self.cache.get(key)
        except Exception:
            log.exception("translation cache: lookup failed, translating anew")
            cached = None
        if cached is not None:
            return Translation(cached, source, target, self.name)
        result = await self.inner.translate(text, source, target, person_id=person_id)
        if result.ok and result.text is not None:
            try:
                await self.cache.put(key, result.text, person_id)
            except Exception:
                log.exception("translation cache: could not store a translation")
        return result
