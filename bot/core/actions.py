"""The action strings the core puts on buttons, and their parsing. At most 64 bytes each, as
Telegram allows for callback data; step-scoped actions name their step so stale presses are seen."""

from __future__ import annotations

from dataclasses import dataclass

MENU = "menu"
FAQ = "faq"
INTAKE = "intake"
ADVISOR = "advisor"
ADVISOR_YES = "advisor:yes"
LANGUAGE = "language"
PRIVACY = "privacy"
FORGET = "privacy:forget"
FORGET_YES = "privacy:forget:yes"
CONSENT_YES = "consent:yes"
CONSENT_NO = "consent:no"
CONSENT_FULL = "consent:full"
CONFIRM = "confirm"
CANCEL = "cancel"

SIMPLE = frozenset(
    {
        MENU,
        FAQ,
        INTAKE,
        ADVISOR,
        ADVISOR_YES,
        LANGUAGE,
        PRIVACY,
        FORGET,
        FORGET_YES,
        CONSENT_YES,
        CONSENT_NO,
        CONSENT_FULL,
        CONFIRM,
        CANCEL,
    }
)
MAX_BYTES = 64


def choose_language(code: str) -> str:
    return f"lang:{code}"


def switch_language(code: str) -> str:
    return f"sw:{code}"


def keep_language(code: str) -> str:
    """Declines the offer to switch to `code`."""
    return f"keep:{code}"


def faq_topic(topic: str) -> str:
    return f"q:{topic}"


def answer(step: str, option: str) -> str:
    return f"a:{step}:{option}"


def done(step: str) -> str:
    return f"d:{step}"


def skip(step: str) -> str:
    return f"s:{step}"


def back(step: str) -> str:
    return f"b:{step}"


def edit(step: str) -> str:
    return f"e:{step}"


@dataclass(frozen=True)
class Parsed:
    verb: str
    step: str | None = None
    value: str | None = None


def parse(action: str) -> Parsed | None:
    """None for anything the core never made (forged or from an older version)."""
    if not action or len(action.encode()) > MAX_BYTES:
        return None
    if action in SIMPLE:
        return Parsed(action)
    head, _, rest = action.partition(":")
    if not rest:
        return None
    if head in {"lang", "q", "sw", "keep"}:
        return Parsed(head, value=rest)
    if head == "a":
        step, _, value = rest.partition(":")
        return Parsed("a", step=step, value=value) if step and value else None
    if head in {"d", "s", "b", "e"}:
        return Parsed(head, step=rest)
    return None
