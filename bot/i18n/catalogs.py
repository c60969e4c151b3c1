"""Loads the gettext catalogues and hands out one translator per language.

Message ids are stable keys (``menu.find``); the English catalogue holds the source text. Catalogues
are read from the ``.po`` files at start, so an edited translation needs no build step; a missing
entry falls back to English and is logged once, never shown as a raw key if English has it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

DOMAIN = "messages"
# Texts only advisors read (lead cards): German, with English as the source. Kept apart so that
# person-facing catalogues are not asked to translate them.
ADVISORS_DOMAIN = "advisors"
# Titles and descriptions of the opportunities catalogue (dialogs/opportunities.yml) and the
# phrases that explain a match; kept apart because the agency edits them on its own schedule.
OPPORTUNITIES_DOMAIN = "opportunities"
DOMAINS = (DOMAIN, ADVISORS_DOMAIN, OPPORTUNITIES_DOMAIN)
SOURCE_LANGUAGE = "en"


class CatalogError(ValueError):
    """A catalogue is missing or unreadable; the message names the file."""


def catalog_path(translations_dir: Path, lang: str, domain: str = DOMAIN) -> Path:
    return translations_dir / lang / "LC_MESSAGES" / f"{domain}.po"


def read_language(translations_dir: Path, lang: str) -> dict[str, str]:
    """A language's person-facing texts plus, where it has them, advisors' and opportunities'."""
    messages = read_catalog(catalog_path(translations_dir, lang))
    for domain in (ADVISORS_DOMAIN, OPPORTUNITIES_DOMAIN):
        path = catalog_path(translations_dir, lang, domain)
        if path.exists():
            messages.update(read_catalog(path))
    return messages


def read_catalog(path: Path) -> dict[str, str]:
    """Translated, non-fuzzy entries of one .po file as {message id: text}."""
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle)
    except FileNotFoundError as exc:
        raise CatalogError(f"catalogue {path} not found") from exc
    except Exception as exc:  # Babel raises several types for malformed files
        raise CatalogError(f"catalogue {path} cannot be read: {exc}") from exc
    return {
        str(msg.id): str(msg.string)
        for msg in catalog
        if msg.id and isinstance(msg.id, str) and msg.string and not msg.fuzzy
    }


class _Defaults(dict):
    """Leaves unknown ``{placeholders}`` visible, so a typo never crashes a reply."""

    def __missing__(self, key: str) -> str:
        log.error("message uses unknown placeholder {%s}", key)
        return "{" + key + "}"


@dataclass
class Translator:
    """Texts of one language, with the shared placeholders (facts, agency contact) filled in."""

    lang: str
    messages: Mapping[str, str]
    fallback: Mapping[str, str]
    placeholders: Mapping[str, str]
    _reported: set[str] = field(default_factory=set)

    def has(self, key: str) -> bool:
        return key in self.messages or key in self.fallback

    def __call__(self, key: str, /, **params: object) -> str:
        text = self.messages.get(key)
        if text is None:
            text = self.fallback.get(key)
            if key not in self._reported:
                self._reported.add(key)
                log.warning("no %s text for %s; using %s", self.lang, key, SOURCE_LANGUAGE)
        if text is None:
            log.error("message id %s exists in no catalogue", key)
            return key
        values = _Defaults(self.placeholders)
        values.update({k: str(v) for k, v in params.items()})
        return text.format_map(values)


class Catalogs:
    """All enabled languages' catalogues, loaded once at start."""

    def __init__(
        self,
        translations_dir: Path,
        languages: tuple[str, ...],
        placeholders: Mapping[str, str] | None = None,
    ) -> None:
        self._placeholders = dict(placeholders or {})
        source = read_language(translations_dir, SOURCE_LANGUAGE)
        self._source = source
        self._translators: dict[str, Translator] = {}
        for lang in dict.fromkeys((*languages, "de", SOURCE_LANGUAGE)):
            messages = source if lang == SOURCE_LANGUAGE else read_language(translations_dir, lang)
            self._translators[lang] = Translator(lang, messages, source, self._placeholders)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._translators)

    @property
    def source_keys(self) -> frozenset[str]:
        return frozenset(self._source)

    def get(self, lang: str) -> Translator:
        return self._translators.get(lang) or self._translators[SOURCE_LANGUAGE]

    def native_names(self, languages: tuple[str, ...]) -> dict[str, str]:
        """Each language named in itself, from its own catalogue ("language.name")."""
        return {code: self.get(code)("language.name") for code in languages}
