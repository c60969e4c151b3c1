"""Suggests opportunities for a profile (the intake's answers), with the reasons for each.

Deterministic and explainable: hard limits first (too young; German clearly below what the role
needs), then points for fit, each with a reason the person reads in their language. Things an
advisor must clear up (a Führungszeugnis, German a little below the need, an example entry) are
flags, never silent exclusions. Reasons and flags are message ids plus parameters, so any channel
renders them in any language with `render`.

The weights, in one place (points; a suggestion needs MIN_SCORE, which only a shared field of
engagement reaches: everything else together stays below it, so a person is never sent to sport
because they live nearby when they asked for homework help):

    criterion                                              points   shown as
    a field of engagement the person chose                   +60   reason: interest
    each further shared field (counted up to 2 more)         +10   reason: interest
    in the person's Stadtbezirk                              +20   reason: same_district
    anywhere in Leipzig / online (best of the two)           +10   reason: all_leipzig / online
    a time slot the person has (or either side flexible)     +10   reason: time / time_flexible
    hours: the person's hours cover it, or it is one-off      +5   reason: hours / one_off
    speaks a language the role values (first / second)   +10/+5   reason: speaks_language
    little German needed and the person's German is weak      +5   reason: little_german
    German one level below what the role needs               -15   flag: german_stretch
    more hours a week than the person has                    -10   flag: more_hours

Hard limits (excluded): the whole age group is younger than min_age; German two or more levels
below the role's need. Ties go by opportunity id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Self

from bot.catalog.model import AGE_RANGES, ALL_LEIPZIG, ONLINE, OTHER, Catalogue, Opportunity

WEIGHTS: Mapping[str, int] = {
    "interest": 60,
    "interest_more": 10,
    "same_district": 20,
    "city_wide": 10,
    "time": 10,
    "hours": 5,
    "language": 10,
    "language_more": 5,
    "little_german": 5,
    "german_stretch": -15,
    "more_hours": -10,
}
MIN_SCORE = 60  # = one shared field; all other points together reach only 55
MORE_INTERESTS = 2  # further shared fields that still count
MAX_LANGUAGE_REASONS = 2
# German levels (intake order, lowest first) up to which "little German needed" is worth saying.
WEAK_GERMAN_RANK = 1
# An entry not checked for this long gets a flag: the advisor confirms it before promising it.
STALE_AFTER_DAYS = 365
# Every message id a reason or flag can carry (translations/<lang>/LC_MESSAGES/opportunities.po).
PHRASE_KEYS = (
    "match.reason.interest",
    "match.reason.same_district",
    "match.reason.all_leipzig",
    "match.reason.online",
    "match.reason.time",
    "match.reason.time_flexible",
    "match.reason.hours",
    "match.reason.one_off",
    "match.reason.speaks_language",
    "match.reason.little_german",
    "match.flag.fuehrungszeugnis",
    "match.flag.min_age",
    "match.flag.german_stretch",
    "match.flag.more_hours",
    "match.flag.example",
    "match.flag.not_checked_recently",
)


@dataclass(frozen=True)
class MessageRef:
    """A parameter that is itself a message id (a language's or a district's name)."""

    key: str


Param = str | int | MessageRef


@dataclass(frozen=True)
class Phrase:
    """A message id of the `opportunities` catalogue plus its parameters."""

    key: str
    params: tuple[tuple[str, Param], ...] = ()

    @classmethod
    def of(cls, key: str, **params: Param) -> Self:
        return cls(key, tuple(params.items()))

    def as_record(self) -> dict[str, Any]:
        """JSON-able, to keep with a lead; message-id parameters become {"ref": id}."""
        params = {
            name: {"ref": value.key} if isinstance(value, MessageRef) else value
            for name, value in self.params
        }
        return {"key": self.key, "params": params}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Self:
        params = {
            name: MessageRef(value["ref"]) if isinstance(value, dict) else value
            for name, value in record.get("params", {}).items()
        }
        return cls.of(str(record["key"]), **params)


class Reason(Phrase):
    """Why an opportunity fits ("You speak Arabic")."""


class Flag(Phrase):
    """What the person and the advisor should know before starting ("needs a Führungszeugnis")."""


@dataclass(frozen=True)
class Suggestion:
    opportunity: Opportunity
    score: int
    reasons: tuple[Reason, ...]
    flags: tuple[Flag, ...]

    def as_record(self) -> dict[str, Any]:
        """What a lead keeps: enough to show the suggestion again in any language."""
        return {
            "opportunity": self.opportunity.id,
            "score": self.score,
            "reasons": [reason.as_record() for reason in self.reasons],
            "flags": [flag.as_record() for flag in self.flags],
        }


@dataclass(frozen=True)
class Exclusion:
    """An opportunity a hard limit rules out: 'age' or 'german'."""

    opportunity: Opportunity
    limit: str


Translate = Callable[..., str]


def render(phrase: Phrase, translate: Translate) -> str:
    """The phrase in the translator's language; `translate` is `(msgid, **params) -> str`."""
    values = {
        name: translate(value.key) if isinstance(value, MessageRef) else value
        for name, value in phrase.params
    }
    return translate(phrase.key, **values)


def match(
    profile: Mapping[str, object],
    catalogue: Catalogue,
    *,
    today: date,
    min_score: int = MIN_SCORE,
    limit: int | None = None,
) -> list[Suggestion]:
    """Good suggestions for `profile`, best first; empty means there is no good match."""
    good = [s for s in rank(profile, catalogue, today=today) if s.score >= min_score]
    return good[:limit] if limit is not None else good


def rank(profile: Mapping[str, object], catalogue: Catalogue, *, today: date) -> list[Suggestion]:
    """Every active opportunity no hard limit excludes, scored, best first (ties by id)."""
    levels = catalogue.vocabulary.german_levels
    results = [assess(profile, o, today=today, german_levels=levels) for o in catalogue.active()]
    suggestions = [result for result in results if isinstance(result, Suggestion)]
    return sorted(suggestions, key=lambda s: (-s.score, s.opportunity.id))


def assess(
    profile: Mapping[str, object],
    opportunity: Opportunity,
    *,
    today: date,
    german_levels: tuple[str, ...],
) -> Suggestion | Exclusion:
    """One opportunity against one profile: excluded by a hard limit, or scored with reasons.

    `german_levels` are the intake's levels, lowest first (`Catalogue.vocabulary`).
    """
    person = _Profile.read(profile, german_levels)
    reasons: list[Reason] = []
    flags: list[Flag] = []
    score = 0

    # Hard limits first.
    if person.age is not None:
        youngest, oldest = person.age
        if oldest is not None and oldest < opportunity.min_age:
            return Exclusion(opportunity, "age")
        if youngest < opportunity.min_age:
            flags.append(Flag.of("match.flag.min_age", age=opportunity.min_age))
    elif opportunity.min_age > 0:
        flags.append(Flag.of("match.flag.min_age", age=opportunity.min_age))
    needed = german_levels.index(opportunity.german_level)
    if person.german is not None:
        if person.german <= needed - 2:
            return Exclusion(opportunity, "german")
        if person.german == needed - 1:
            score += WEIGHTS["german_stretch"]
            level = MessageRef(f"intake.german_level.{opportunity.german_level}")
            flags.append(Flag.of("match.flag.german_stretch", level=level))

    # Fit: interests.
    shared = [field for field in opportunity.fields if field in person.interests]
    if shared:
        score += WEIGHTS["interest"] + WEIGHTS["interest_more"] * min(
            len(shared) - 1, MORE_INTERESTS
        )
        reasons += [
            Reason.of("match.reason.interest", field=MessageRef(f"intake.interests.{field}"))
            for field in shared[: 1 + MORE_INTERESTS]
        ]

    # Fit: place.
    if person.district is not None and person.district in opportunity.districts:
        score += WEIGHTS["same_district"]
        district = MessageRef(f"intake.district.{person.district}")
        reasons.append(Reason.of("match.reason.same_district", district=district))
    elif ALL_LEIPZIG in opportunity.districts:
        score += WEIGHTS["city_wide"]
        reasons.append(Reason.of("match.reason.all_leipzig"))
    elif ONLINE in opportunity.districts:
        score += WEIGHTS["city_wide"]
        reasons.append(Reason.of("match.reason.online"))

    # Fit: time.
    time_reason = _time_reason(person.availability, opportunity.availability)
    if time_reason is not None:
        score += WEIGHTS["time"]
        reasons.append(time_reason)
    if opportunity.frequency == "one_off":
        score += WEIGHTS["hours"]
        reasons.append(Reason.of("match.reason.one_off"))
    elif opportunity.hours_per_week is not None and person.hours is not None:
        if person.hours >= opportunity.hours_per_week:
            score += WEIGHTS["hours"]
            reasons.append(Reason.of("match.reason.hours", hours=opportunity.hours_per_week))
        else:
            score += WEIGHTS["more_hours"]
            flags.append(Flag.of("match.flag.more_hours", hours=opportunity.hours_per_week))

    # Fit: languages the role values.
    spoken = [lang for lang in opportunity.languages if lang in person.languages]
    if spoken:
        score += WEIGHTS["language"] + (WEIGHTS["language_more"] if len(spoken) > 1 else 0)
        reasons += [
            Reason.of("match.reason.speaks_language", language=_language(lang))
            for lang in spoken[:MAX_LANGUAGE_REASONS]
        ]
    if (
        needed <= WEAK_GERMAN_RANK
        and person.german is not None
        and person.german <= WEAK_GERMAN_RANK
    ):
        score += WEIGHTS["little_german"]
        reasons.append(Reason.of("match.reason.little_german"))

    # Flags that cost nothing but must be said.
    if opportunity.fuehrungszeugnis:
        flags.append(Flag.of("match.flag.fuehrungszeugnis"))
    if opportunity.example:
        flags.append(Flag.of("match.flag.example"))
    elif (today - opportunity.checked).days > STALE_AFTER_DAYS:
        checked = opportunity.checked.strftime("%d.%m.%Y")
        flags.append(Flag.of("match.flag.not_checked_recently", date=checked))
    return Suggestion(opportunity, score, tuple(reasons), tuple(flags))


def _language(lang: str) -> MessageRef:
    return MessageRef(f"intake.languages.{lang}")


def _time_reason(person: tuple[str, ...], offered: tuple[str, ...]) -> Reason | None:
    """The first time slot both share; 'flexible' on either side fits everything."""
    if not person:
        return None
    flexible = "flexible"
    if flexible in offered:
        return Reason.of("match.reason.time_flexible")
    if flexible in person:
        slot = offered[0]
    else:
        common = [slot for slot in offered if slot in person]
        if not common:
            return None
        slot = common[0]
    return Reason.of("match.reason.time", time=MessageRef(f"intake.availability.{slot}"))


@dataclass(frozen=True)
class _Profile:
    """The answers the matcher reads, tolerant of missing or odd values (a partial intake)."""

    age: tuple[int, int | None] | None
    german: int | None
    interests: tuple[str, ...]
    languages: tuple[str, ...]
    district: str | None
    hours: int | None
    availability: tuple[str, ...]

    @classmethod
    def read(cls, answers: Mapping[str, Any], german_levels: tuple[str, ...]) -> _Profile:
        german = answers.get("german_level")
        hours = answers.get("hours_per_week")
        district = answers.get("district")
        return cls(
            age=AGE_RANGES.get(str(answers.get("age_group"))),
            german=german_levels.index(german) if german in german_levels else None,
            interests=_ids(answers.get("interests")),
            languages=_ids(answers.get("languages")),
            district=district if isinstance(district, str) else None,
            hours=hours if isinstance(hours, int) and not isinstance(hours, bool) else None,
            availability=_ids(answers.get("availability")),
        )


def _ids(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(v) for v in value if v != OTHER)
