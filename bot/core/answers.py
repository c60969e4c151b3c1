"""Turns typed text into an answer for a step, or into the hint that explains what is expected."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers

from bot.core.flows import Step

_EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]{2,}$")
# Removed from free text: control characters (but newlines), surrogates, private and unassigned
# code points, and the invisible format characters that reorder or hide text. Kept: the
# zero-width (non-)joiner, which Persian spelling and emoji sequences need.
_DROPPED_CATEGORIES = {"Cc", "Cs", "Co", "Cn"}
_DROPPED_FORMAT = frozenset(
    "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
)


@dataclass(frozen=True)
class Invalid:
    """The message id of the hint, and its parameters."""

    hint: str
    params: dict[str, object]


def clean_text(text: str) -> str:
    """Trims and drops control and format characters (bidi overrides, zero-width) from free text."""
    kept = "".join(
        " "
        if (unicodedata.category(ch) in _DROPPED_CATEGORIES and ch != "\n")
        else ""
        if ch in _DROPPED_FORMAT
        else ch
        for ch in text
    )
    return re.sub(r"[ \t]+", " ", kept).strip()


def parse_text(step: Step, text: str) -> str | Invalid:
    value = clean_text(text)
    if not value:
        return Invalid("hint.text_empty", {})
    if len(value) > step.max_length:
        return Invalid("hint.text_too_long", {"max": step.max_length, "length": len(value)})
    return value


def parse_number(step: Step, text: str) -> int | Invalid:
    # The first run of digits in any script ("about 4 hours", "٤ ساعات"); "4 or 5" means 4.
    ascii_text = "".join(
        str(unicodedata.digit(ch)) if unicodedata.digit(ch, None) is not None else " "
        for ch in text
    )
    runs = ascii_text.split()
    digits = runs[0] if runs else ""
    if not digits or len(digits) > 4:
        return Invalid("hint.number", {"min": step.min, "max": step.max})
    number = int(digits)
    if not step.min <= number <= step.max:
        return Invalid("hint.number", {"min": step.min, "max": step.max})
    return number


def parse_phone(_step: Step, text: str) -> str | Invalid:
    candidate = clean_text(text)
    candidate = "".join(
        str(unicodedata.digit(ch)) if unicodedata.digit(ch, None) is not None else ch
        for ch in candidate
    )
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    try:
        number = phonenumbers.parse(candidate, "DE")
    except phonenumbers.NumberParseException:
        return Invalid("hint.phone", {})
    if not phonenumbers.is_valid_number(number):
        return Invalid("hint.phone", {})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def parse_email(_step: Step, text: str) -> str | Invalid:
    candidate = clean_text(text)
    if len(candidate) > 254 or not _EMAIL_RE.match(candidate):
        return Invalid("hint.email", {})
    local, domain = candidate.rsplit("@", 1)
    if ".." in candidate or domain.startswith(".") or domain.endswith("."):
        return Invalid("hint.email", {})
    return f"{local}@{domain.lower()}"


def match_option(step: Step, text: str, label: Callable[[str], str]) -> str | None:
    """Finds the option whose label (or id) the person typed, ignoring case and emoji."""
    wanted = compact(text)
    if not wanted:
        return None
    for option in step.options:
        if wanted in (compact(label(step.option_key(option))), compact(option)):
            return option
    return None


def compact(text: str) -> str:
    """What a typed label is compared by: "Alt West", "alt-west" and "altwest" all match, and
    so do "Farsi / Dari" and "farsi dari"."""
    letters = [ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum()]
    return "".join(letters).casefold()


TYPED_PARSERS: dict[str, Callable[[Step, str], object]] = {
    "text": parse_text,
    "number": parse_number,
    "phone": parse_phone,
    "email": parse_email,
}
