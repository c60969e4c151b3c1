"""The catalogue as a spreadsheet (CSV): one row per opportunity, one column per field and language.

The agency keeps its lists in spreadsheets, so `engagiert catalog export` writes one and
`engagiert catalog import` reads it back into dialogs/opportunities.yml and the `opportunities`
catalogues. Layout (documented in the README):

- one column per field, named as in the YAML file; lists are joined with "; " (a semicolon);
  yes/no for true/false; dates as YYYY-MM-DD (DD.MM.YYYY is accepted); empty for "none";
- `title.<lang>` and `description.<lang>` for every language, English first (the source);
- UTF-8 with a byte-order mark, so spreadsheet programs show Arabic and Cyrillic correctly.

The spreadsheet is the whole catalogue: a row left out is an opportunity removed. Import checks
every row and cell first and writes nothing if anything is wrong; each problem names the row
(as the spreadsheet numbers it, the header being row 1) and the column. Export, import and export
again gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.catalog.loader import (
    DESCRIPTION_LIMIT,
    FIELDS,
    CatalogueError,
    build_opportunity,
    duplicate_ids,
)
from bot.catalog.model import Catalogue, Opportunity
from bot.catalog.store import write_catalogue_file
from bot.catalog.texts import Texts, write_texts
from bot.i18n.catalogs import SOURCE_LANGUAGE
from bot.i18n.check import BUTTON_LABEL_LIMIT, html_problems

LIST_SEPARATOR = ";"
ENCODING = "utf-8-sig"
TEXT_FIELDS = ("title", "description")
LIST_FIELDS = frozenset({"fields", "districts", "languages", "availability"})
BOOL_FIELDS = frozenset({"example", "fuehrungszeugnis", "active"})
INT_FIELDS = frozenset({"hours_per_week", "min_age"})
TRUE = frozenset({"yes", "true", "1", "ja", "y", "x"})
FALSE = frozenset({"no", "false", "0", "nein", "n"})
# Field columns in spreadsheet order: the id first, the state next, the texts last.
_FIRST = ("id", "active", "example")
FIELD_COLUMNS = (*_FIRST, *(f for f in FIELDS if f not in {*_FIRST, *TEXT_FIELDS}))


def columns(languages: Sequence[str]) -> list[str]:
    ordered = list(dict.fromkeys((SOURCE_LANGUAGE, *languages)))
    return [
        *FIELD_COLUMNS,
        *(f"{field}.{lang}" for field in TEXT_FIELDS for lang in ordered),
    ]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple | list):
        return f"{LIST_SEPARATOR} ".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def export_csv(catalogue: Catalogue, texts: Texts, languages: Sequence[str]) -> bytes:
    """The spreadsheet of the whole catalogue (active or not), in the file's order."""
    header = columns(languages)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    for opportunity in catalogue:
        row = [_cell(getattr(opportunity, field)) for field in FIELD_COLUMNS]
        for column in header[len(FIELD_COLUMNS) :]:
            field, lang = column.split(".", 1)
            if lang == SOURCE_LANGUAGE:
                row.append(getattr(opportunity, field))
            else:
                key = opportunity.title_key if field == "title" else opportunity.description_key
                row.append(texts.get(lang, {}).get(key, ""))
        writer.writerow(row)
    return buffer.getvalue().encode(ENCODING)


@dataclass(frozen=True)
class Parsed:
    """A checked spreadsheet, ready to be written."""

    opportunities: tuple[Opportunity, ...]
    texts: Texts


def parse_csv(data: bytes, where: str, catalogue: Catalogue, languages: Sequence[str]) -> Parsed:
    """Checks the whole spreadsheet against the intake's vocabulary; raises on any problem."""
    try:
        text = data.decode(ENCODING)
    except UnicodeDecodeError as exc:
        raise CatalogueError([f"{where}: not UTF-8 text (save it as CSV UTF-8): {exc}"]) from exc
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise CatalogueError([f"{where}: empty; the first row must name the columns"])
    header = [name.strip() for name in rows[0]]
    expected = columns(languages)
    problems = []
    missing = [name for name in expected if name not in header]
    unknown = [name for name in header if name not in expected]
    doubled = sorted({name for name in header if header.count(name) > 1})
    if missing:
        problems.append(f"{where}: row 1: missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(
            f"{where}: row 1: unknown column(s) {', '.join(unknown)} (languages: "
            f"{', '.join(dict.fromkeys((SOURCE_LANGUAGE, *languages)))})"
        )
    if doubled:
        problems.append(f"{where}: row 1: column(s) {', '.join(doubled)} appear twice")
    if problems:
        raise CatalogueError(problems)

    opportunities: list[Opportunity] = []
    texts: Texts = {lang: {} for lang in languages if lang != SOURCE_LANGUAGE}
    row_of: dict[int, int] = {}  # id(opportunity) -> its row, duplicates included
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            problems.append(f"{where}: row {number}: more cells than columns")
            continue
        cells = {name: row[i].strip() if i < len(row) else "" for i, name in enumerate(header)}
        cell_at = _CellAt(where, number, cells.get("id") or "?")
        raw, found = _values(cells, cell_at.field)
        opportunity, invalid = build_opportunity(raw, catalogue.vocabulary, cell_at.field)
        problems += found + invalid
        problems += _translation_problems(cells, languages, cell_at)
        if opportunity is None:
            continue
        opportunities.append(opportunity)
        row_of[id(opportunity)] = number
        for lang in texts:
            texts[lang][opportunity.title_key] = cells[f"title.{lang}"]
            texts[lang][opportunity.description_key] = cells[f"description.{lang}"]
    problems += duplicate_ids(
        opportunities, lambda o: _CellAt(where, row_of[id(o)], o.id).column("id")
    )
    if problems:
        raise CatalogueError(problems)
    return Parsed(tuple(opportunities), texts)


@dataclass(frozen=True)
class _CellAt:
    """Names a cell the way the person editing the spreadsheet finds it: row and column."""

    where: str
    row: int
    opportunity: str

    def column(self, name: str) -> str:
        return f"{self.where}: row {self.row} (opportunity '{self.opportunity}'), column '{name}'"

    def field(self, field: str) -> str:
        """A field's cell; the texts' fields are their English columns."""
        return self.column(f"{field}.{SOURCE_LANGUAGE}" if field in TEXT_FIELDS else field)


def _values(
    cells: dict[str, str], locate: Callable[[str], str]
) -> tuple[dict[str, Any], list[str]]:
    """Cells as the Python values the YAML would hold; problems name row and column."""
    values: dict[str, Any] = {}
    problems = []
    for field in FIELDS:
        cell = cells.get(f"{field}.{SOURCE_LANGUAGE}" if field in TEXT_FIELDS else field, "")
        if cell == "":
            values[field] = [] if field in LIST_FIELDS else None
            continue
        if field in LIST_FIELDS:
            values[field] = [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]
        elif field in BOOL_FIELDS:
            if cell.lower() in TRUE:
                values[field] = True
            elif cell.lower() in FALSE:
                values[field] = False
            else:
                problems.append(f"{locate(field)}: write yes or no, not {cell!r}")
        elif field in INT_FIELDS:
            try:
                values[field] = int(cell)
            except ValueError:
                problems.append(f"{locate(field)}: must be a whole number, got {cell!r}")
        elif field == "checked":
            parsed = _date(cell)
            if parsed is None:
                problems.append(f"{locate(field)}: must be a date YYYY-MM-DD, got {cell!r}")
            values[field] = parsed
        else:
            values[field] = cell
    return values, problems


def _date(cell: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(cell, pattern).date()
        except ValueError:
            continue
    return None


def _translation_problems(
    cells: dict[str, str], languages: Sequence[str], cell_at: _CellAt
) -> list[str]:
    """The checks `engagiert i18n check` would fail on, so a bad cell never reaches a file."""
    problems = []
    for lang in languages:
        if lang == SOURCE_LANGUAGE:
            continue
        for field, limit in (("title", BUTTON_LABEL_LIMIT), ("description", DESCRIPTION_LIMIT)):
            column = f"{field}.{lang}"
            text = cells[column]
            where = cell_at.column(column)
            if len(text) > limit:
                problems.append(f"{where}: has {len(text)} characters, at most {limit}")
            if field == "title" and "\n" in text:
                problems.append(f"{where}: must be one line")
            problems += [f"{where}: Telegram HTML: {problem}" for problem in html_problems(text)]
    return problems


@dataclass(frozen=True)
class ImportResult:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    written: tuple[Path, ...]


def import_csv(
    data: bytes,
    where: str,
    catalogue: Catalogue,
    translations_dir: Path,
    languages: Sequence[str],
    old_texts: Texts,
) -> ImportResult:
    """Checks the spreadsheet, then writes the YAML file and the catalogues (only what changed)."""
    parsed = parse_csv(data, where, catalogue, languages)
    before = {o.id: o for o in catalogue}
    after = {o.id: o for o in parsed.opportunities}
    changed = tuple(
        opportunity_id
        for opportunity_id, new in after.items()
        if opportunity_id in before
        and (
            _comparable(before[opportunity_id]) != _comparable(new)
            or any(
                old_texts.get(lang, {}).get(key, "") != parsed.texts[lang].get(key, "")
                for lang in parsed.texts
                for key in (new.title_key, new.description_key)
            )
        )
    )
    written = []
    if write_catalogue_file(catalogue.path, parsed.opportunities):
        written.append(catalogue.path)
    new_catalogue = Catalogue(catalogue.path, parsed.opportunities, catalogue.vocabulary)
    written += write_texts(translations_dir, new_catalogue, parsed.texts)
    return ImportResult(
        added=tuple(i for i in after if i not in before),
        removed=tuple(i for i in before if i not in after),
        changed=changed,
        written=tuple(written),
    )


def _comparable(opportunity: Opportunity) -> tuple[Any, ...]:
    return tuple(getattr(opportunity, field) for field in FIELDS)
