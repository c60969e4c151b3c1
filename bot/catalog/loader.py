"""Loading and validating the catalogue. Every problem names the file, the entry and the field.

The same field rules serve the YAML file and the spreadsheet import: `build_opportunity` takes a
`locate` function that says where a field came from ("file:line: opportunity 'x', field 'y'" or
"file.csv: row 3, column 'districts'"), so each source reports problems in its own terms.
All problems are collected before failing, so an editor can fix them in one go.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from bot.catalog.model import (
    FREQUENCIES,
    STARTS,
    Catalogue,
    Opportunity,
    Vocabulary,
)
from bot.core.flows import ContentError, Flow, load_flow, load_yaml
from bot.i18n.check import BUTTON_LABEL_LIMIT, html_problems

CATALOGUE_FILE = "opportunities.yml"
ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
ORGANISATION_LIMIT = 120
DESCRIPTION_LIMIT = 700
CONTACT_LIMIT = 200
MAX_AGE = 99

# Every field in the order the file and the spreadsheet show them; True: required.
FIELDS: dict[str, bool] = {
    "id": True,
    "example": False,
    "organisation": True,
    "title": True,
    "description": True,
    "fields": True,
    "districts": True,
    "german_level": True,
    "languages": False,
    "hours_per_week": False,
    "frequency": True,
    "availability": True,
    "min_age": True,
    "fuehrungszeugnis": True,
    "start": False,
    "contact": False,
    "active": False,
    "checked": True,
}
DEFAULTS: dict[str, Any] = {
    "example": False,
    "languages": [],
    "hours_per_week": None,
    "start": "agency",
    "contact": None,
    "active": True,
}

Locate = Callable[[str], str]


class CatalogueError(ContentError):
    """The catalogue (file or spreadsheet) is wrong; `problems` lists every finding."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def load_catalogue(
    path: Path, intake: Flow | None = None, *, intake_path: Path | None = None
) -> Catalogue:
    """Loads dialogs/opportunities.yml, checked against the intake next to it (or `intake`)."""
    if intake is None:
        intake_path = intake_path or path.parent / "intake.yml"
        intake = load_flow(intake_path)
    vocabulary = Vocabulary.from_intake(intake, intake_path or path.parent / "intake.yml")
    data = load_yaml(path)
    problems: list[str] = []
    unknown = sorted(key for key in data if key not in {"opportunities", "__line__"})
    if unknown:
        problems.append(f"{path}: unknown top-level key(s) {', '.join(unknown)}")
    entries = data.get("opportunities")
    if not isinstance(entries, list):
        raise CatalogueError([*problems, f"{path}: 'opportunities' must be a list of entries"])
    opportunities: list[Opportunity] = []
    for position, raw in enumerate(entries, start=1):
        if not isinstance(raw, dict):
            problems.append(f"{path}: entry {position} must be a mapping of fields")
            continue
        line = int(raw.get("__line__", 0))
        name = raw.get("id") if isinstance(raw.get("id"), str) else f"#{position}"

        def locate(field: str, line: int = line, name: object = name) -> str:
            return f"{path}:{line}: opportunity '{name}', field '{field}'"

        extra = sorted(key for key in raw if key not in FIELDS and key != "__line__")
        problems += [
            f"{path}:{line}: opportunity '{name}': unknown field '{key}' (known: "
            f"{', '.join(FIELDS)})"
            for key in extra
        ]
        values = {key: value for key, value in raw.items() if key in FIELDS}
        opportunity, found = build_opportunity(values, vocabulary, locate, line=line)
        problems += found
        if opportunity is not None:
            opportunities.append(opportunity)
    problems += duplicate_ids(
        opportunities, lambda o: f"{path}:{o.line}: opportunity '{o.id}', field 'id'"
    )
    if problems:
        raise CatalogueError(problems)
    return Catalogue(path, tuple(opportunities), vocabulary)


def duplicate_ids(
    opportunities: list[Opportunity], where: Callable[[Opportunity], str]
) -> list[str]:
    seen: set[str] = set()
    problems = []
    for opportunity in opportunities:
        if opportunity.id in seen:
            problems.append(f"{where(opportunity)}: the id is used twice")
        seen.add(opportunity.id)
    return problems


def build_opportunity(
    raw: Mapping[str, Any], vocabulary: Vocabulary, locate: Locate, *, line: int = 0
) -> tuple[Opportunity | None, list[str]]:
    """Checks one entry's fields (already parsed into Python values); None if any is wrong."""
    problems: list[str] = []
    values = {**DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}

    def fail(field: str, problem: str) -> None:
        problems.append(f"{locate(field)}: {problem}")

    for field, required in FIELDS.items():
        if required and values.get(field) in (None, "", []):
            fail(field, "is missing")

    opportunity_id = values.get("id")
    if isinstance(opportunity_id, str) and opportunity_id and not ID_RE.match(opportunity_id):
        fail("id", "must be 2-40 lower-case letters, digits or _, starting with a letter")

    for field, limit in (("organisation", ORGANISATION_LIMIT), ("title", BUTTON_LABEL_LIMIT)):
        _text(values, field, limit, fail, one_line=True)
    _text(values, "description", DESCRIPTION_LIMIT, fail, one_line=False)
    for field in ("title", "description"):
        if isinstance(values.get(field), str):
            for problem in html_problems(values[field]):
                fail(field, f"Telegram HTML: {problem}")

    _choices(values, "fields", vocabulary.fields, fail, step="interests")
    _choices(values, "districts", vocabulary.places, fail, step="district")
    _choices(values, "languages", vocabulary.languages, fail, step="languages", required=False)
    _choices(values, "availability", vocabulary.availability, fail, step="availability")
    _one_of(values, "german_level", vocabulary.german_levels, fail, "step 'german_level'")
    _one_of(values, "frequency", FREQUENCIES, fail, "")
    _one_of(values, "start", STARTS, fail, "")
    for field in ("example", "fuehrungszeugnis", "active"):
        if field in values and not isinstance(values[field], bool):
            fail(field, f"must be true or false, got {values[field]!r}")
    _whole_number(values, "min_age", 0, MAX_AGE, fail)
    _whole_number(values, "hours_per_week", 1, vocabulary.max_hours, fail)
    if values.get("frequency") == "one_off" and values.get("hours_per_week") is not None:
        fail("hours_per_week", "a one-off activity has no hours per week; leave it empty")

    contact = values.get("contact")
    if contact is not None and not isinstance(contact, str):
        fail("contact", "must be text")
    elif values.get("start") == "organisation" and not contact:
        fail("contact", "is needed when people start directly with the organisation")
    elif values.get("start") == "agency" and contact:
        fail("contact", "must be empty when people start through the agency (start: agency)")
    elif isinstance(contact, str) and len(contact) > CONTACT_LIMIT:
        fail("contact", f"is longer than {CONTACT_LIMIT} characters")

    checked = values.get("checked")
    if checked is not None and not isinstance(checked, date):
        try:
            values["checked"] = date.fromisoformat(str(checked))
        except ValueError:
            fail("checked", f"must be a date YYYY-MM-DD, got {checked!r}")

    if problems:
        return None, problems
    return (
        Opportunity(
            id=values["id"],
            organisation=values["organisation"],
            title=values["title"],
            description=values["description"],
            fields=tuple(values["fields"]),
            districts=tuple(values["districts"]),
            german_level=values["german_level"],
            languages=tuple(values["languages"]),
            hours_per_week=values["hours_per_week"],
            frequency=values["frequency"],
            availability=tuple(values["availability"]),
            min_age=values["min_age"],
            fuehrungszeugnis=values["fuehrungszeugnis"],
            start=values["start"],
            contact=values["contact"] or None,
            active=values["active"],
            checked=values["checked"],
            example=values["example"],
            line=line,
        ),
        [],
    )


Fail = Callable[[str, str], None]


def _text(values: dict[str, Any], field: str, limit: int, fail: Fail, *, one_line: bool) -> None:
    text = values.get(field)
    if text is None or text == "":
        return
    if not isinstance(text, str):
        fail(field, f"must be text, got {text!r}")
    elif text != text.strip():
        fail(field, "starts or ends with spaces")
    elif len(text) > limit:
        fail(field, f"has {len(text)} characters, at most {limit}")
    elif one_line and "\n" in text:
        fail(field, "must be one line")


def _choices(
    values: dict[str, Any],
    field: str,
    allowed: tuple[str, ...],
    fail: Fail,
    *,
    step: str,
    required: bool = True,
) -> None:
    chosen = values.get(field)
    if chosen is None or (chosen == [] and required):
        return  # reported as missing
    if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
        fail(field, f"must be a list of ids, got {chosen!r}")
        return
    unknown = [c for c in chosen if c not in allowed]
    if unknown:
        fail(
            field,
            f"{', '.join(map(repr, unknown))} not known; the intake's step '{step}' and the "
            f"catalogue allow: {', '.join(allowed)}",
        )
    if len(set(chosen)) != len(chosen):
        fail(field, "lists an id twice")


def _one_of(
    values: dict[str, Any], field: str, allowed: tuple[str, ...], fail: Fail, source: str
) -> None:
    value = values.get(field)
    if value in (None, "") or value in allowed:
        return
    origin = f" (the intake's {source})" if source else ""
    fail(field, f"{value!r} is not one of {', '.join(allowed)}{origin}")


def _whole_number(values: dict[str, Any], field: str, low: int, high: int, fail: Fail) -> None:
    value = values.get(field)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        fail(field, f"must be a whole number, got {value!r}")
    elif not low <= value <= high:
        fail(field, f"must be between {low} and {high}, got {value}")
