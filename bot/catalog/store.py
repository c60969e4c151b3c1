"""Writes dialogs/opportunities.yml in one canonical layout, keeping its header comment.

Used by the spreadsheet import: the same catalogue always gives the same bytes, so an import of
an unchanged spreadsheet changes nothing, and a diff shows only what the agency changed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bot.catalog.loader import DEFAULTS, FIELDS
from bot.catalog.model import Opportunity

TOP_KEY = "opportunities:"
WIDTH = 80  # lines stay within 100 characters after the indent and one long word
FALLBACK_HEADER = "# Opportunities catalogue of engagiert-bot: see the README.\n"
# Written even when they hold the default, because an editor should see them on every entry.
ALWAYS_WRITTEN = frozenset({"example", "languages", "start", "active"})


class _Folded(str):
    """A long text written as a folded block (`>-`), wrapped like prose."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Folded, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style=">")
)


def header_of(path: Path) -> str:
    """The comment block above `opportunities:` (the editor's guide to the fields)."""
    if not path.exists():
        return FALLBACK_HEADER
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith(TOP_KEY):
            return "".join(lines[:index])
    return FALLBACK_HEADER


def entry(opportunity: Opportunity) -> dict[str, Any]:
    """The YAML mapping of one opportunity, fields in the documented order."""
    values: dict[str, Any] = {}
    for field in FIELDS:
        value = getattr(opportunity, field)
        if isinstance(value, tuple):
            value = list(value)
        default = field in DEFAULTS and value == DEFAULTS[field]
        if value is None or (default and field not in ALWAYS_WRITTEN):
            continue
        values[field] = _Folded(value) if field == "description" else value
    return values


def catalogue_yaml(opportunities: Iterable[Opportunity], header: str) -> str:
    blocks = []
    for opportunity in opportunities:
        text = yaml.dump(
            [entry(opportunity)],
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=None,
            width=WIDTH,
        )
        blocks.append("".join("  " + line for line in text.splitlines(keepends=True)))
    if not blocks:
        return header + TOP_KEY + " []\n"
    return header + TOP_KEY + "\n" + "\n".join(blocks)


def write_catalogue_file(path: Path, opportunities: Iterable[Opportunity]) -> bool:
    """Writes the file atomically if its bytes change; True if it did."""
    text = catalogue_yaml(opportunities, header_of(path))
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    temporary = path.with_suffix(".yml.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return True
