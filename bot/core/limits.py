"""How much text one message may bring into the core.

Telegram caps a message at 4096 characters, so anything longer comes from another channel (the
terminal, a forged webhook call) or a bug. It is refused before language detection, the intent
classifier or a relay look at it: 100,000 characters cost those about 0.3 s of CPU each time,
and a relay would otherwise be cut without the person knowing.
"""

from __future__ import annotations

from bot.core.answers import Invalid

MAX_TEXT_CHARS = 4096


def overlong(text: str, limit: int = MAX_TEXT_CHARS) -> Invalid | None:
    """The hint for a text over `limit` characters (the same one intake answers get), or None."""
    if len(text) <= limit:
        return None
    return Invalid("hint.text_too_long", {"max": limit, "length": len(text)})
