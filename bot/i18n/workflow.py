"""The translators' workflow: extract a template, update every catalogue from it, compile.

Message ids are stable keys and English is the source language, so the template
(translations/<domain>.pot) is made from the English catalogue: every entry carries the English
text as a comment ("#. en: ..."), which Poedit and Weblate show next to the key. `update` merges
the template into each catalogue with Babel and marks an entry fuzzy when its English text changed
since the last update, so translators see exactly what to revisit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.i18n.catalogs import DOMAIN, DOMAINS, SOURCE_LANGUAGE, catalog_path

EN_PREFIX = "en: "
WIDTH = 100


@dataclass(frozen=True)
class UpdateResult:
    language: str
    domain: str
    added: int
    obsolete: int
    fuzzy: int


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _write(path: Path, catalog: Catalog) -> None:
    with path.open("wb") as handle:
        write_po(handle, catalog, width=WIDTH, ignore_obsolete=True)


def _english(message) -> str | None:  # type: ignore[no-untyped-def]
    """The English text recorded with an entry (Babel wraps long comments over several lines)."""
    joined = " ".join(message.auto_comments)
    return joined[len(EN_PREFIX) :] if joined.startswith(EN_PREFIX) else None


def template_path(translations_dir: Path, domain: str = DOMAIN) -> Path:
    return translations_dir / f"{domain}.pot"


def extract(translations_dir: Path, domain: str = DOMAIN) -> Path:
    """Writes the template from the English catalogue; returns its path."""
    source = _read(catalog_path(translations_dir, SOURCE_LANGUAGE, domain))
    template = Catalog(project="engagiert-bot", version="0.1", fuzzy=False)
    for message in source:
        if not message.id:
            continue
        english = str(message.string).replace("\n", "\\n")
        template.add(message.id, "", auto_comments=[EN_PREFIX + english])
    path = template_path(translations_dir, domain)
    _write(path, template)
    return path


def update(translations_dir: Path, domain: str = DOMAIN) -> list[UpdateResult]:
    """Merges the template into every catalogue of the domain (English excluded)."""
    template = _read(template_path(translations_dir, domain))
    results = []
    for folder in sorted(p for p in translations_dir.iterdir() if (p / "LC_MESSAGES").is_dir()):
        path = catalog_path(translations_dir, folder.name, domain)
        if folder.name == SOURCE_LANGUAGE or not path.exists():
            continue
        catalog = _read(path)
        before = {str(m.id): _english(m) for m in catalog if m.id}
        ids_before = set(before)
        catalog.update(template, no_fuzzy_matching=True)
        fuzzy = 0
        for message in catalog:
            if not message.id or not message.string:
                continue
            previous = before.get(str(message.id))
            if previous is not None and previous != _english(message):
                message.flags.add("fuzzy")
                fuzzy += 1
        ids_after = {str(m.id) for m in catalog if m.id}
        obsolete = len(catalog.obsolete)
        _write(path, catalog)
        results.append(
            UpdateResult(folder.name, domain, len(ids_after - ids_before), obsolete, fuzzy)
        )
    return results


def compile_all(translations_dir: Path) -> list[Path]:
    """Writes a .mo next to every .po (for tools that want binaries; the bot reads .po itself)."""
    written = []
    for domain in DOMAINS:
        for po in sorted(translations_dir.glob(f"*/LC_MESSAGES/{domain}.po")):
            catalog = _read(po)
            mo = po.with_suffix(".mo")
            with mo.open("wb") as handle:
                write_mo(handle, catalog, use_fuzzy=False)
            written.append(mo)
    return written
