"""What an opportunity is, and the intake's vocabulary it must be written in.

The catalogue describes opportunities with the intake's own option ids (fields of engagement,
districts, German levels, languages, times), so a profile and an opportunity can be compared
directly. `Vocabulary.from_intake` reads those ids from dialogs/intake.yml, which is what keeps
the two files from drifting apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.core.flows import ContentError, Flow

# Districts an opportunity can name besides the intake's Stadtbezirke.
ALL_LEIPZIG = "all_leipzig"
ONLINE = "online"
# Intake answers that are no place an opportunity can be in.
NOT_A_PLACE = frozenset({"outside", "unknown"})
# The intake's "write it yourself" option: free text, so nothing to match on.
OTHER = "other"
FREQUENCIES = ("regular", "one_off")
# How a person starts: through the agency's advisors (the default), or by contacting the
# organisation directly (then `contact` says how).
STARTS = ("agency", "organisation")
# What each of the intake's age groups means in years (None: no upper limit). Checked against
# dialogs/intake.yml, so a new age group there cannot be silently ignored by the matcher.
AGE_RANGES: dict[str, tuple[int, int | None]] = {
    "under_16": (0, 15),
    "age_16_17": (16, 17),
    "age_18_26": (18, 26),
    "age_27_64": (27, 64),
    "age_65_plus": (65, None),
}
# Intake steps the catalogue and the matcher read, with the type each must have.
INTAKE_STEPS = {
    "age_group": "choice",
    "languages": "multi",
    "german_level": "choice",
    "interests": "multi",
    "district": "choice",
    "hours_per_week": "number",
    "availability": "multi",
}


@dataclass(frozen=True)
class Vocabulary:
    """The option ids an opportunity may use, taken from the intake."""

    fields: tuple[str, ...]
    districts: tuple[str, ...]  # the Stadtbezirke only
    german_levels: tuple[str, ...]  # lowest first, as the intake lists them
    languages: tuple[str, ...]
    availability: tuple[str, ...]
    age_groups: tuple[str, ...]
    max_hours: int

    @property
    def places(self) -> tuple[str, ...]:
        return (*self.districts, ALL_LEIPZIG, ONLINE)

    def german_rank(self, level: str) -> int:
        return self.german_levels.index(level)

    @classmethod
    def from_intake(cls, intake: Flow, where: Path | str = "dialogs/intake.yml") -> Vocabulary:
        """Reads the ids from the intake flow; fails if a step the catalogue needs changed."""
        for step_id, kind in INTAKE_STEPS.items():
            if not intake.has_step(step_id):
                raise ContentError(
                    f"{where}: the opportunities catalogue needs the intake step '{step_id}'"
                )
            if intake.step(step_id).type != kind:
                raise ContentError(
                    f"{where}: step '{step_id}' must be of type {kind} for the opportunities "
                    f"catalogue, it is {intake.step(step_id).type}"
                )

        def options(step_id: str) -> tuple[str, ...]:
            return tuple(o for o in intake.step(step_id).options if o != OTHER)

        ages = options("age_group")
        if set(ages) != set(AGE_RANGES):
            raise ContentError(
                f"{where}: step 'age_group' has options {sorted(ages)}, but the matcher knows "
                f"the ages of {sorted(AGE_RANGES)}: update AGE_RANGES in bot/catalog/model.py"
            )
        return cls(
            fields=options("interests"),
            districts=tuple(d for d in options("district") if d not in NOT_A_PLACE),
            german_levels=options("german_level"),
            languages=options("languages"),
            availability=options("availability"),
            age_groups=ages,
            max_hours=intake.step("hours_per_week").max,
        )


@dataclass(frozen=True)
class Opportunity:
    """One way to volunteer. Title and description are the English source (Telegram HTML)."""

    id: str
    organisation: str
    title: str
    description: str
    fields: tuple[str, ...]
    districts: tuple[str, ...]
    german_level: str
    languages: tuple[str, ...]
    hours_per_week: int | None
    frequency: str
    availability: tuple[str, ...]
    min_age: int
    fuehrungszeugnis: bool
    start: str
    contact: str | None
    active: bool
    checked: date
    example: bool
    line: int = 0  # where it starts in the YAML file (0: not from a file)

    @property
    def title_key(self) -> str:
        return f"opportunity.{self.id}.title"

    @property
    def description_key(self) -> str:
        return f"opportunity.{self.id}.description"

    def english(self) -> dict[str, str]:
        """Its texts as the English catalogue must hold them."""
        return {self.title_key: self.title, self.description_key: self.description}


@dataclass(frozen=True)
class Catalogue:
    path: Path
    opportunities: tuple[Opportunity, ...]
    vocabulary: Vocabulary

    def __iter__(self) -> Iterator[Opportunity]:
        return iter(self.opportunities)

    def __len__(self) -> int:
        return len(self.opportunities)

    def active(self) -> tuple[Opportunity, ...]:
        """What may be suggested: inactive entries stay in the file but are never shown."""
        return tuple(o for o in self.opportunities if o.active)

    def get(self, opportunity_id: str) -> Opportunity:
        for opportunity in self.opportunities:
            if opportunity.id == opportunity_id:
                return opportunity
        raise KeyError(opportunity_id)

    def message_keys(self) -> set[str]:
        return {key for o in self.opportunities for key in o.english()}
