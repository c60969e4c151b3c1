"""`engagiert catalog check | sync | export [FILE.csv] | import FILE.csv`."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import BinaryIO, TextIO

from bot.catalog.loader import CATALOGUE_FILE, CatalogueError, load_catalogue
from bot.catalog.model import Catalogue
from bot.catalog.spreadsheet import export_csv, import_csv
from bot.catalog.texts import english_problems, read_texts, write_texts
from bot.config import Settings
from bot.core.matching import STALE_AFTER_DAYS
from bot.i18n.catalogs import SOURCE_LANGUAGE


def run(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # looked up now, so a redirected stdout is honoured
    catalogue = load_catalogue(settings.dialogs_dir / CATALOGUE_FILE)
    languages = tuple(dict.fromkeys((SOURCE_LANGUAGE, *settings.languages)))
    action = args.catalog_command
    if action == "check":
        return check(settings, catalogue, languages, out, today=date.today())
    if action == "sync":
        texts = read_texts(settings.translations_dir, languages)
        for path in write_texts(settings.translations_dir, catalogue, texts):
            out.write(f"wrote {path}\n")
        out.write("English in the catalogues matches the YAML; changed texts are marked fuzzy\n")
        return 0
    if action == "export":
        _ensure_english(catalogue, settings)
        data = export_csv(catalogue, read_texts(settings.translations_dir, languages), languages)
        if args.file:
            Path(args.file).write_bytes(data)
            out.write(f"wrote {len(catalogue)} opportunities to {args.file}\n")
        else:
            _stdout_bytes().write(data)
        return 0
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogueError([f"{path}: cannot be read: {exc.strerror}"]) from exc
    result = import_csv(
        data,
        str(path),
        catalogue,
        settings.translations_dir,
        languages,
        read_texts(settings.translations_dir, languages),
    )
    out.write(
        f"imported {path}: {len(result.added)} added, {len(result.changed)} changed, "
        f"{len(result.removed)} removed\n"
    )
    for label, ids in (
        ("added", result.added),
        ("changed", result.changed),
        ("removed", result.removed),
    ):
        if ids:
            out.write(f"  {label}: {', '.join(ids)}\n")
    for written in result.written:
        out.write(f"wrote {written}\n")
    return 0


def check(
    settings: Settings,
    catalogue: Catalogue,
    languages: tuple[str, ...],
    out: TextIO,
    *,
    today: date,
) -> int:
    """Valid against the intake (done by loading), English in step, then a summary to act on."""
    _ensure_english(catalogue, settings)
    active = catalogue.active()
    examples = sum(o.example for o in catalogue)
    out.write(
        f"{catalogue.path}: {len(catalogue)} opportunities, {len(active)} active, "
        f"{examples} marked as examples to verify\n"
    )
    for opportunity in catalogue:
        age = (today - opportunity.checked).days
        if age > STALE_AFTER_DAYS:
            out.write(
                f"warning: {catalogue.path}:{opportunity.line}: '{opportunity.id}' was last "
                f"checked on {opportunity.checked} ({age} days ago)\n"
            )
        elif age < 0:
            out.write(
                f"warning: {catalogue.path}:{opportunity.line}: '{opportunity.id}' has a check "
                f"date in the future ({opportunity.checked})\n"
            )
    texts = read_texts(settings.translations_dir, languages)
    keys = catalogue.message_keys()
    counts = [
        f"{lang} {sum(1 for key in keys if texts[lang].get(key))}/{len(keys)}"
        for lang in languages
        if lang != SOURCE_LANGUAGE
    ]
    out.write("texts translated: " + ", ".join(counts) + " (`engagiert i18n check` for details)\n")
    return 0


def _ensure_english(catalogue: Catalogue, settings: Settings) -> None:
    problems = english_problems(catalogue, settings.translations_dir)
    if problems:
        raise CatalogueError(problems)


def _stdout_bytes() -> BinaryIO:
    return sys.stdout.buffer
