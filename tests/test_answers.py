"""Unit tests of bot/core/answers.py: typed text to answers, or the hint that explains why not."""

from __future__ import annotations

import pytest

from bot.config import PROJECT_ROOT
from bot.core.answers import (
    TYPED_PARSERS,
    Invalid,
    clean_text,
    match_option,
    parse_email,
    parse_number,
    parse_phone,
    parse_text,
)
from bot.core.flows import Step
from bot.i18n.catalogs import Catalogs

PHONE = Step("phone", "phone")
EMAIL = Step("email", "email")
HOURS = Step("hours_per_week", "number", min=1, max=40)
NAME = Step("first_name", "text", max_length=60)
NOTES = Step("anything_else", "text", max_length=1000)


def test_typed_parsers_cover_every_typed_step_type():
    assert {
        "text": parse_text,
        "number": parse_number,
        "phone": parse_phone,
        "email": parse_email,
    } == TYPED_PARSERS


# -- phone ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("0341 1234567", "+49 341 1234567"),
        ("03411234567", "+49 341 1234567"),
        ("(0341) 123-4567", "+49 341 1234567"),
        ("0341/1234567", "+49 341 1234567"),
        ("+49 341 1234567", "+49 341 1234567"),
        ("+493411234567", "+49 341 1234567"),
        ("0049 341 1234567", "+49 341 1234567"),
        ("00493411234567", "+49 341 1234567"),
        ("0176 12345678", "+49 176 12345678"),
        ("+49 176 12345678", "+49 176 12345678"),
        ("  0341 1234567  ", "+49 341 1234567"),
        ("٠٣٤١ ١٢٣٤٥٦٧", "+49 341 1234567"),  # Arabic-Indic digits
        ("۰۳۴۱ ۱۲۳۴۵۶۷", "+49 341 1234567"),  # Extended Arabic-Indic (Persian) digits
        ("+٤٩ ١٧٦ ١٢٣٤٥٦٧٨", "+49 176 12345678"),
        ("0341\u200e 1234567", "+49 341 1234567"),  # a left-to-right mark from a phone keyboard
        ("+380 44 123 4567", "+380 44 123 4567"),  # international numbers stay international
    ],
)
def test_parse_phone_normalises(typed: str, expected: str):
    assert parse_phone(PHONE, typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "123", "12345", "call me", "0341", "+49 341", "0000 000000", "phone: none"],
)
def test_parse_phone_rejects(typed: str):
    assert parse_phone(PHONE, typed) == Invalid("hint.phone", {})


# -- e-mail --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("name@example.de", "name@example.de"),
        ("  name@example.de ", "name@example.de"),
        ("first.last+tag@mail.example.org", "first.last+tag@mail.example.org"),
        ("name@EXAMPLE.DE", "name@example.de"),
        ("Name@Example.De", "Name@example.de"),  # the local part keeps its case
    ],
)
def test_parse_email_accepts(typed: str, expected: str):
    assert parse_email(EMAIL, typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "foo@",
        "@example.de",
        "foo",
        "foo@bar",
        "foo@bar.d",
        "foo@@example.de",
        "a@b@example.de",
        "a b@example.de",
        "a..b@example.de",
        "a@example..de",
        "a@.example.de",
        "a@example.de.",
        "<a@example.de>",
        "a,b@example.de",
        "a@exa;mple.de",
        "x" * 250 + "@example.de",
    ],
)
def test_parse_email_rejects(typed: str):
    assert parse_email(EMAIL, typed) == Invalid("hint.email", {})


# -- number --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1", 1),
        ("4", 4),
        ("40", 40),
        (" 12 ", 12),
        ("about 5 hours", 5),
        ("5h", 5),
        ("٥", 5),  # Arabic-Indic digit
        ("۱۰", 10),  # Persian digits
        ("0005", 5),
    ],
)
def test_parse_number_accepts(typed: str, expected: int):
    assert parse_number(HOURS, typed) == expected


@pytest.mark.parametrize("typed", ["0", "41", "99", "abc", "", "   ", "-", "12345", "five"])
def test_parse_number_rejects_with_range_in_hint(typed: str):
    assert parse_number(HOURS, typed) == Invalid("hint.number", {"min": 1, "max": 40})


@pytest.mark.parametrize("typed", ["3-4", "2 to 3 hours", "1.5", "4 or 5"])
def test_parse_number_does_not_glue_separate_numbers(typed: str):
    # "3-4" must never become 34, which would pass the range check.
    result = parse_number(HOURS, typed)
    assert isinstance(result, Invalid) or result <= 5, result


# -- text ----------------------------------------------------------------------------------------


def test_parse_text_trims_and_collapses_spaces():
    assert parse_text(NOTES, "  I  like\tsport  ") == "I like sport"


def test_parse_text_keeps_line_breaks_and_any_script():
    assert parse_text(NOTES, "Hallo\nمرحبا\nПривіт") == "Hallo\nمرحبا\nПривіт"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("a\u202eb", "ab"),  # right-to-left override: invisible, so dropped
        ("\u2066x\u2069", "x"),  # isolates
        ("a\u0000b\u0007c", "a b c"),  # control characters
        ("zero\u200bwidth", "zerowidth"),
        ("\ufeffBOM", "BOM"),
        ("a\x1b[31mred", "a [31mred"),  # no terminal escape survives
    ],
)
def test_parse_text_removes_control_and_bidi_characters(typed: str, expected: str):
    assert parse_text(NOTES, typed) == expected
    assert clean_text(typed) == expected


@pytest.mark.parametrize("typed", ["", "   ", "\t\n ", "\u202e\u200b"])
def test_parse_text_rejects_empty(typed: str):
    assert parse_text(NAME, typed) == Invalid("hint.text_empty", {})


def test_parse_text_length_limit():
    assert parse_text(NAME, "A" * 60) == "A" * 60
    assert parse_text(NAME, "A" * 61) == Invalid("hint.text_too_long", {"max": 60, "length": 61})
    # the limit counts the cleaned text, not surrounding spaces
    assert parse_text(NAME, "  " + "A" * 60 + "  ") == "A" * 60


@pytest.mark.parametrize("typed", ["می\u200cخواهم", "👩\u200d💻"])
def test_parse_text_keeps_joiners_that_belong_to_the_writing(typed: str):
    assert parse_text(NOTES, typed) == typed


# -- options -------------------------------------------------------------------------------------

DISTRICT = Step(
    "district", "choice", options=("mitte", "suedost", "sued", "alt_west", "unknown"), columns=3
)
LABELS = {
    "intake.district.mitte": "Mitte",
    "intake.district.suedost": "Südost",
    "intake.district.sued": "Süd",
    "intake.district.alt_west": "Alt-West",
    "intake.district.unknown": "I don't know",
}


def label(key: str) -> str:
    return LABELS[key]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Südost", "suedost"),
        ("südost", "suedost"),
        ("SÜDOST", "suedost"),
        ("  Südost  ", "suedost"),
        ("✓ Südost", "suedost"),
        ("Südost!", "suedost"),
        ("Su\u0308dost", "suedost"),  # decomposed ü
        ("suedost", "suedost"),  # the option id works as well
        ("Süd", "sued"),
        ("Alt-West", "alt_west"),
        ("altwest", "alt_west"),
        ("I don't know", "unknown"),
        ("i dont know", "unknown"),
    ],
)
def test_match_option(typed: str, expected: str):
    assert match_option(DISTRICT, typed, label) == expected


@pytest.mark.parametrize("typed", ["", "   ", "✓", "Süden", "Süd ost west", "Leipzig", "Mit"])
def test_match_option_finds_nothing(typed: str):
    assert match_option(DISTRICT, typed, label) is None


def test_match_option_with_the_real_catalogues():
    catalogs = Catalogs(PROJECT_ROOT / "translations", ("de", "en"))
    en, de = catalogs.get("en"), catalogs.get("de")
    district = Step(
        "district",
        "choice",
        options=("mitte", "suedost", "outside", "unknown"),
    )
    assert match_option(district, "outside Leipzig", en) == "outside"
    assert match_option(district, "I don't know", en) == "unknown"
    assert match_option(district, de("intake.district.outside"), de) == "outside"
    assert match_option(district, de("intake.district.unknown"), de) == "unknown"
    contact = Step("contact_method", "choice", options=("telegram", "phone", "email", "office"))
    assert match_option(contact, "e-mail", en) == "email"
    assert match_option(contact, "Phone", en) == "phone"
