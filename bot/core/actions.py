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
END_HANDOFF = "handoff:end"
MYDATA = "privacy:mydata"
DELETE = "privacy:delete"
DELETE_YES = "privacy:delete:yes"
BROWSE = "browse"

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
        END_HANDOFF,
        BROWSE,
        MYDATA,
        DELETE,
        DELETE_YES,
    }
)
# Telegram allows 64 bytes of callback data; the adapter's prefix ("p|") takes two.
MAX_BYTES = 62


def choose_language(code: str) -> str:
    return f"lang:{code}"


def switch_language(code: str) -> str:
    return f"sw:{code}"


def keep_language(code: str) -> str:
    """Declines the offer to switch to `code`."""
    return f"keep:{code}"


def faq_topic(topic: str) -> str:
    return f"q:{topic}"


def interested(opportunity_id: str) -> str:
    """Toggles "interested" on a suggestion shown after the intake."""
    return f"like:{opportunity_id}"


def browse_field(field: str) -> str:
    return f"brf:{field}"


def browse_district(district: str) -> str:
    return f"brd:{district}"


def browse_page(page: int) -> str:
    return f"brp:{page}"


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


# Buttons on the advisors' lead card. They name the lead; who may press them is checked by the
# advisor desk against the advisors' chat, not trusted from the button.
ADVISOR_STATUSES = ("contacted", "appointment", "placed", "completed", "not_interested")


def claim(lead_id: int) -> str:
    return f"adv:claim:{lead_id}"


def set_status(lead_id: int, status: str) -> str:
    return f"adv:status:{lead_id}:{status}"


def close(lead_id: int) -> str:
    return f"adv:close:{lead_id}"


@dataclass(frozen=True)
class AdvisorAction:
    verb: str  # claim | status | close
    lead_id: int
    status: str | None = None


def parse_advisor(action: str) -> AdvisorAction | None:
    """None for anything that is not a well-formed card button."""
    if not action or len(action.encode()) > MAX_BYTES:
        return None
    parts = action.split(":")
    number = parts[2] if len(parts) >= 3 else ""
    if parts[0] != "adv" or not (number.isascii() and number.isdigit()) or len(number) > 12:
        return None
    verb, lead_id = parts[1], int(parts[2])
    if verb in {"claim", "close"} and len(parts) == 3:
        return AdvisorAction(verb, lead_id)
    if verb == "status" and len(parts) == 4 and parts[3] in ADVISOR_STATUSES:
        return AdvisorAction(verb, lead_id, parts[3])
    return None


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
    if head in {"lang", "q", "sw", "keep", "like", "brf", "brd", "brp"}:
        return Parsed(head, value=rest)
    if head == "a":
        step, _, value = rest.partition(":")
        return Parsed("a", step=step, value=value) if step and value else None
    if head in {"d", "s", "b", "e"}:
        return Parsed(head, step=rest)
    return None
