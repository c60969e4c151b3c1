"""Matching a profile against a small fixed catalogue: hard limits, ranking, reasons, flags."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.catalog.loader import load_catalogue
from bot.catalog.model import Catalogue, Opportunity, Vocabulary
from bot.config import PROJECT_ROOT
from bot.core.flows import load_flow
from bot.core.matching import (
    MIN_SCORE,
    WEIGHTS,
    Exclusion,
    Flag,
    MessageRef,
    Reason,
    Suggestion,
    assess,
    match,
    rank,
    render,
)
from bot.i18n.catalogs import Catalogs

TODAY = date(2026, 11, 26)
VOCABULARY = Vocabulary.from_intake(load_flow(PROJECT_ROOT / "dialogs" / "intake.yml"))
LEVELS = VOCABULARY.german_levels


def opportunity(opportunity_id: str, **changes: Any) -> Opportunity:
    values: dict[str, Any] = {
        "id": opportunity_id,
        "organisation": "Example e.V.",
        "title": "Example",
        "description": "An example.",
        "fields": ("mentoring",),
        "districts": ("all_leipzig",),
        "german_level": "a_little",
        "languages": (),
        "hours_per_week": 2,
        "frequency": "regular",
        "availability": ("weekends",),
        "min_age": 18,
        "fuehrungszeugnis": False,
        "start": "agency",
        "contact": None,
        "active": True,
        "checked": TODAY,
        "example": False,
    }
    values.update(changes)
    return Opportunity(**values)


HOMEWORK = opportunity(
    "homework_ost",
    fields=("homework_children",),
    districts=("ost",),
    german_level="good",
    languages=("ar", "fa"),
    availability=("weekday_afternoons",),
    min_age=16,
    fuehrungszeugnis=True,
)
MENTORING = opportunity(
    "mentoring_city",
    fields=("mentoring", "accompanying"),
    german_level="everyday",
    languages=("ar", "uk"),
    availability=("weekends", "weekday_evenings"),
)
INTERPRETING = opportunity(
    "interpreting_online",
    fields=("interpreting",),
    districts=("online",),
    german_level="good",
    languages=("ar", "fa", "uk", "ru"),
    hours_per_week=None,
    frequency="one_off",
    availability=("flexible",),
    fuehrungszeugnis=True,
)
SPORT = opportunity("sport_west", fields=("sport",), districts=("west",), german_level="none")
PAUSED = opportunity("paused_mentoring", fields=("mentoring",), active=False)
CATALOGUE = Catalogue(
    Path("test.yml"), (SPORT, PAUSED, INTERPRETING, MENTORING, HOMEWORK), VOCABULARY
)

AMAL = {  # an Arabic-speaking woman in Leipzig-Ost, good German, afternoons
    "first_name": "Amal",
    "age_group": "age_27_64",
    "languages": ["ar", "en", "other"],
    "languages_other": "Tigrinya",
    "german_level": "good",
    "interests": ["homework_children", "mentoring"],
    "district": "ost",
    "hours_per_week": 4,
    "availability": ["weekday_afternoons"],
    "contact_method": "telegram",
}


def keys(phrases: tuple[Reason, ...] | tuple[Flag, ...]) -> list[str]:
    return [phrase.key for phrase in phrases]


def one(profile: dict[str, Any], item: Opportunity) -> Suggestion:
    result = assess(profile, item, today=TODAY, german_levels=LEVELS)
    assert isinstance(result, Suggestion), result
    return result


# -- hard limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age_group", "min_age", "outcome"),
    [
        ("under_16", 16, "excluded"),
        ("age_16_17", 18, "excluded"),
        ("age_16_17", 17, "flagged"),  # a 16-year-old is too young, a 17-year-old is not
        ("under_16", 14, "flagged"),
        ("age_16_17", 16, "fine"),
        ("age_65_plus", 18, "fine"),
        (None, 18, "flagged"),  # age unknown: the advisor checks
    ],
)
def test_age_is_a_hard_limit_only_when_the_whole_group_is_too_young(
    age_group: str | None, min_age: int, outcome: str
):
    profile = {**AMAL, "age_group": age_group}
    result = assess(profile, opportunity("x", min_age=min_age), today=TODAY, german_levels=LEVELS)
    if outcome == "excluded":
        assert result == Exclusion(opportunity("x", min_age=min_age), "age")
        return
    assert isinstance(result, Suggestion)
    age_flags = [f for f in result.flags if f.key == "match.flag.min_age"]
    assert age_flags == (
        [Flag.of("match.flag.min_age", age=min_age)] if outcome == "flagged" else []
    )


@pytest.mark.parametrize(
    ("person", "needed", "outcome"),
    [
        ("a_little", "good", "excluded"),
        ("none", "everyday", "excluded"),
        ("everyday", "good", "stretch"),
        ("none", "a_little", "stretch"),
        ("good", "good", "fine"),
        ("good", "none", "fine"),
    ],
)
def test_german_far_below_the_need_excludes_one_level_below_is_a_flag(
    person: str, needed: str, outcome: str
):
    item = opportunity("x", german_level=needed)
    result = assess({**AMAL, "german_level": person}, item, today=TODAY, german_levels=LEVELS)
    if outcome == "excluded":
        assert result == Exclusion(item, "german")
        return
    assert isinstance(result, Suggestion)
    level = MessageRef(f"intake.german_level.{needed}")
    stretch = Flag.of("match.flag.german_stretch", level=level)
    assert (stretch in result.flags) == (outcome == "stretch")


def test_a_stretch_costs_points_but_keeps_the_suggestion():
    good = one(AMAL, HOMEWORK)
    weaker = one({**AMAL, "german_level": "everyday"}, HOMEWORK)
    assert good.score - weaker.score == -WEIGHTS["german_stretch"]


def test_fuehrungszeugnis_is_flagged_never_excluded():
    suggestion = one(AMAL, HOMEWORK)
    assert "match.flag.fuehrungszeugnis" in keys(suggestion.flags)
    assert HOMEWORK in [s.opportunity for s in match(AMAL, CATALOGUE, today=TODAY)]


# -- ranking and reasons -------------------------------------------------------------------------


def test_ranking_scores_and_reasons_for_a_typical_profile():
    suggestions = rank(AMAL, CATALOGUE, today=TODAY)
    assert [(s.opportunity.id, s.score) for s in suggestions] == [
        ("homework_ost", 105),  # interest 60, district 20, afternoons 10, hours 5, Arabic 10
        ("mentoring_city", 85),  # interest 60, city-wide 10, hours 5, Arabic 10
        ("interpreting_online", 35),  # online 10, flexible 10, one-off 5, Arabic 10
        ("sport_west", 5),  # hours only
    ]
    best = suggestions[0]
    assert best.reasons == (
        Reason.of("match.reason.interest", field=MessageRef("intake.interests.homework_children")),
        Reason.of("match.reason.same_district", district=MessageRef("intake.district.ost")),
        Reason.of("match.reason.time", time=MessageRef("intake.availability.weekday_afternoons")),
        Reason.of("match.reason.hours", hours=2),
        Reason.of("match.reason.speaks_language", language=MessageRef("intake.languages.ar")),
    )
    assert keys(best.flags) == ["match.flag.fuehrungszeugnis"]


def test_only_good_matches_are_suggested_and_inactive_ones_never():
    assert [s.opportunity.id for s in match(AMAL, CATALOGUE, today=TODAY)] == [
        "homework_ost",
        "mentoring_city",
    ]
    assert all(s.score >= MIN_SCORE for s in match(AMAL, CATALOGUE, today=TODAY))
    assert PAUSED not in [s.opportunity for s in rank(AMAL, CATALOGUE, today=TODAY)]
    assert [s.opportunity.id for s in match(AMAL, CATALOGUE, today=TODAY, limit=1)] == [
        "homework_ost"
    ]
    assert len(match(AMAL, CATALOGUE, today=TODAY, min_score=0)) == 4


def test_no_good_match_when_no_field_of_engagement_is_shared():
    profile = {**AMAL, "interests": ["environment", "other"], "interests_other": "Garten"}
    assert match(profile, CATALOGUE, today=TODAY) == []
    assert rank(profile, CATALOGUE, today=TODAY)  # still scored, for the advisor


def test_closeness_alone_never_reaches_a_good_match():
    """District, time, hours, languages and easy German together stay below MIN_SCORE."""
    near = opportunity(
        "near", fields=("culture",), districts=("ost",), german_level="none",
        languages=("ar", "fa"), availability=("weekday_afternoons",),
    )  # fmt: skip
    profile = {**AMAL, "german_level": "none", "languages": ["ar", "fa"]}
    everything_but_interest = one(profile, near)
    best_without_interest = sum(
        w
        for k, w in WEIGHTS.items()
        if w > 0 and k not in {"interest", "interest_more", "city_wide"}
    )
    assert everything_but_interest.score == best_without_interest < MIN_SCORE
    assert WEIGHTS["interest"] >= MIN_SCORE


def test_ties_are_broken_by_id_whatever_the_file_order():
    twin_b = opportunity("b_twin")
    twin_a = opportunity("a_twin")
    for order in ((twin_b, twin_a), (twin_a, twin_b)):
        catalogue = Catalogue(Path("t.yml"), order, VOCABULARY)
        assert [s.opportunity.id for s in match(AMAL, catalogue, today=TODAY)] == [
            "a_twin",
            "b_twin",
        ]


def test_further_shared_fields_and_languages_add_a_little():
    both = one({**AMAL, "interests": ["mentoring", "accompanying"], "languages": ["ar", "uk"]},
               MENTORING)  # fmt: skip
    single = one({**AMAL, "interests": ["mentoring"], "languages": ["ar"]}, MENTORING)
    assert both.score - single.score == WEIGHTS["interest_more"] + WEIGHTS["language_more"]
    assert keys(both.reasons).count("match.reason.interest") == 2
    assert keys(both.reasons).count("match.reason.speaks_language") == 2


@pytest.mark.parametrize(
    ("person", "offered", "expected"),
    [
        (["weekday_afternoons"], ("weekday_afternoons",), "match.reason.time"),
        (["flexible"], ("weekends",), "match.reason.time"),
        (["weekends"], ("flexible",), "match.reason.time_flexible"),
        (["weekday_mornings"], ("weekends",), None),
        ([], ("weekends",), None),
    ],
)
def test_time_slots(person: list[str], offered: tuple[str, ...], expected: str | None):
    suggestion = one({**AMAL, "availability": person}, opportunity("x", availability=offered))
    time_keys = [k for k in keys(suggestion.reasons) if k.startswith("match.reason.time")]
    assert time_keys == ([expected] if expected else [])


def test_hours_fit_or_are_flagged():
    enough = one({**AMAL, "hours_per_week": 2}, MENTORING)
    short = one({**AMAL, "hours_per_week": 1}, MENTORING)
    unknown = one({k: v for k, v in AMAL.items() if k != "hours_per_week"}, MENTORING)
    assert "match.reason.hours" in keys(enough.reasons)
    assert short.flags[-1] == Flag.of("match.flag.more_hours", hours=2)
    assert enough.score - short.score == WEIGHTS["hours"] - WEIGHTS["more_hours"]
    assert "match.reason.hours" not in keys(unknown.reasons) and not unknown.flags
    assert "match.reason.one_off" in keys(one(AMAL, INTERPRETING).reasons)


def test_place_reasons():
    assert "match.reason.same_district" in keys(one(AMAL, HOMEWORK).reasons)
    assert "match.reason.all_leipzig" in keys(one(AMAL, MENTORING).reasons)
    assert "match.reason.online" in keys(one(AMAL, INTERPRETING).reasons)
    elsewhere = one({**AMAL, "district": "outside"}, HOMEWORK)
    assert not any("district" in k for k in keys(elsewhere.reasons))


def test_little_german_is_said_to_people_whose_german_is_weak():
    weak = one({**AMAL, "german_level": "a_little"}, SPORT)
    strong = one(AMAL, SPORT)
    assert "match.reason.little_german" in keys(weak.reasons)
    assert "match.reason.little_german" not in keys(strong.reasons)


def test_examples_and_stale_entries_are_flagged():
    example = one(AMAL, opportunity("x", example=True))
    assert keys(example.flags) == ["match.flag.example"]
    stale = one(AMAL, opportunity("x", checked=date(2024, 11, 25)))
    assert stale.flags == (Flag.of("match.flag.not_checked_recently", date="25.11.2024"),)
    recent = one(AMAL, opportunity("x", checked=date(2025, 12, 1)))
    assert recent.flags == ()


def test_a_partial_or_odd_profile_does_not_break_matching():
    for profile in ({}, {"interests": "mentoring"}, {"hours_per_week": "4", "languages": None}):
        suggestions = rank(profile, CATALOGUE, today=TODAY)
        assert {s.opportunity.id for s in suggestions} == {o.id for o in CATALOGUE.active()}
    assert [s.opportunity.id for s in match({"interests": "mentoring"}, CATALOGUE, today=TODAY)] \
        == ["mentoring_city"]  # fmt: skip


# -- rendering in any language -------------------------------------------------------------------


def test_render_translates_parameters_that_are_message_ids():
    texts = {
        "match.reason.speaks_language": "Sprache: {language}",
        "intake.languages.ar": "Arabisch",
    }
    reason = Reason.of("match.reason.speaks_language", language=MessageRef("intake.languages.ar"))
    assert render(reason, lambda key, **p: texts[key].format(**p)) == "Sprache: Arabisch"


def test_a_suggestion_survives_json_for_the_lead():
    import json

    best = rank(AMAL, CATALOGUE, today=TODAY)[0]
    record = json.loads(json.dumps(best.as_record()))
    assert record["opportunity"] == "homework_ost" and record["score"] == best.score
    assert tuple(Reason.from_record(r) for r in record["reasons"]) == best.reasons
    assert tuple(Flag.from_record(f) for f in record["flags"]) == best.flags


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs(PROJECT_ROOT / "translations", ("en", "ar", "de"))


def test_reasons_and_flags_read_naturally_in_english_and_arabic(catalogs: Catalogs):
    best = rank(AMAL, CATALOGUE, today=TODAY)[0]
    english = [render(r, catalogs.get("en")) for r in best.reasons]
    assert english == [
        "You are interested in: Homework help and children",
        "In your district: Ost",
        "Fits your time: weekday afternoons",
        "Hours a week: about 2 (fits your time)",
        "You speak Arabic",
    ]
    arabic = [render(r, catalogs.get("ar")) for r in best.reasons]
    assert arabic[-1] == "تتحدث العربية"
    assert "Führungszeugnis" in render(best.flags[0], catalogs.get("ar"))


def test_the_shipped_catalogue_gives_an_arabic_speaker_three_suggestions(catalogs: Catalogs):
    catalogue = load_catalogue(PROJECT_ROOT / "dialogs" / "opportunities.yml")
    profile = {**AMAL, "german_level": "a_little", "interests": ["interpreting", "mentoring"]}
    top = match(profile, catalogue, today=TODAY, limit=3)
    assert len(top) == 3
    assert all("match.flag.example" in keys(s.flags) for s in top)
    ar = catalogs.get("ar")
    for suggestion in top:
        title = ar(suggestion.opportunity.title_key)
        assert title != suggestion.opportunity.title and not title.startswith("opportunity.")
        assert all(render(r, ar) for r in suggestion.reasons)
    german = catalogs.get("de")
    assert german(top[0].opportunity.title_key) != top[0].opportunity.title
