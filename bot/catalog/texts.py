"""Titles and descriptions in every language: the `opportunities` gettext catalogues.

The YAML file holds the English source; translations/en/LC_MESSAGES/opportunities.po must hold
the same English (it is the template translators work from and what other languages fall back
to). `english_problems` finds where the two differ; `write_texts` updates the catalogues in place,
leaving their headers and the matching phrases (match.*) alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.catalog.model import Catalogue
from bot.i18n.catalogs import OPPORTUNITIES_DOMAIN, SOURCE_LANGUAGE, catalog_path

KEY_PREFIX = "opportunity."
EN_COMMENT = "en: "
WIDTH = 100  # as bot/i18n/workflow.py writes catalogues, so both produce the same bytes
NEW_HEADER = (
    "# {lang} opportunities catalogue of engagiert-bot.\n"
    "# Reviewed by a native speaker: no (new, not yet translated)."
)

# {language: {message id: text}}
Texts = dict[str, dict[str, str]]


def opportunities_path(translations_dir: Path, lang: str) -> Path:
    return catalog_path(translations_dir, lang, OPPORTUNITIES_DOMAIN)


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def read_texts(translations_dir: Path, languages: Iterable[str]) -> Texts:
    """Every language's opportunity texts (fuzzy ones included, as they stand in the file)."""
    texts: Texts = {}
    for lang in languages:
        path = opportunities_path(translations_dir, lang)
        if not path.exists():
            texts[lang] = {}
            continue
        texts[lang] = {
            str(m.id): str(m.string or "")
            for m in read_catalog(path)
            if m.id and str(m.id).startswith(KEY_PREFIX)
        }
    return texts


def english_problems(catalogue: Catalogue, translations_dir: Path) -> list[str]:
    """Where the English catalogue does not mirror the YAML's English texts."""
    path = opportunities_path(translations_dir, SOURCE_LANGUAGE)
    if not path.exists():
        return [f"{path}: missing (run `engagiert catalog sync`)"]
    english = read_texts(translations_dir, [SOURCE_LANGUAGE])[SOURCE_LANGUAGE]
    problems = []
    for opportunity in catalogue:
        for field, key in (
            ("title", opportunity.title_key),
            ("description", opportunity.description_key),
        ):
            where = (
                f"{catalogue.path}:{opportunity.line}: opportunity '{opportunity.id}', "
                f"field '{field}'"
            )
            if key not in english:
                problems.append(f"{where}: {path} has no {key} (run `engagiert catalog sync`)")
            elif english[key] != getattr(opportunity, field):
                problems.append(
                    f"{where}: differs from {key} in {path} (run `engagiert catalog sync`)"
                )
    for key in sorted(set(english) - catalogue.message_keys()):
        problems.append(f"{path}: {key} belongs to no opportunity (run `engagiert catalog sync`)")
    return problems


def write_texts(
    translations_dir: Path, catalogue: Catalogue, texts: Mapping[str, Mapping[str, str]]
) -> list[Path]:
    """Puts the opportunities' texts into each language's catalogue; returns the files changed.

    English comes from the catalogue itself; for other languages `texts` gives the translation
    (empty: not translated yet). A translation whose English changed while its text did not is
    marked fuzzy, so translators see it; one whose text changed loses that flag. Entries of
    opportunities no longer in the catalogue are removed.
    """
    english = {key: text for o in catalogue for key, text in o.english().items()}
    old_english = read_texts(translations_dir, [SOURCE_LANGUAGE])[SOURCE_LANGUAGE]
    changed = []
    for lang in dict.fromkeys((SOURCE_LANGUAGE, *texts)):
        path = opportunities_path(translations_dir, lang)
        wanted = english if lang == SOURCE_LANGUAGE else dict(texts.get(lang, {}))
        catalog = read_catalog(path) if path.exists() else _new_catalog(lang)
        for message in list(catalog):
            key = str(message.id)
            if message.id and key.startswith(KEY_PREFIX) and key not in english:
                del catalog[key]
        for key in english:
            text = wanted.get(key, "")
            message = catalog.get(key)
            if message is None:
                catalog.add(key, text)
                continue
            if lang != SOURCE_LANGUAGE and text and text == message.string:
                if old_english.get(key, english[key]) != english[key]:
                    message.flags.add("fuzzy")
            elif text != message.string:
                message.string = text
                message.flags.discard("fuzzy")
            if any(c.startswith(EN_COMMENT) for c in message.auto_comments):
                message.auto_comments = [EN_COMMENT + english[key].replace("\n", "\\n")]
        if _write_if_changed(path, catalog):
            changed.append(path)
    return changed


def _content(data: bytes) -> tuple[object, ...]:
    """What a .po file says, without how a Babel version writes it."""
    catalog = read_po(BytesIO(data))
    messages = tuple(
        (
            str(message.id),
            str(message.string),
            tuple(sorted(message.flags)),
            tuple(message.auto_comments),
            tuple(message.user_comments),
        )
        for message in catalog
        if message.id
    )
    return (catalog.header_comment, catalog.locale_identifier, messages)


def _new_catalog(lang: str) -> Catalog:
    locale = "de" if lang == "de_simple" else lang
    return Catalog(
        locale=locale,
        header_comment=NEW_HEADER.format(lang=lang),
        project="engagiert-bot",
        version="0.1",
        fuzzy=False,
    )


def _write_if_changed(path: Path, catalog: Catalog) -> bool:
    """Writes atomically, and only when the texts differ (no churn in Git, also when another
    Babel version would lay out the same texts differently, e.g. its "Generated-By" header)."""
    buffer = BytesIO()
    write_po(buffer, catalog, width=WIDTH, ignore_obsolete=True)
    data = buffer.getvalue()
    if path.exists() and _content(path.read_bytes()) == _content(data):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".po.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return True
