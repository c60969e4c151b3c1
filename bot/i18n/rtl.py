"""Right-to-left text that stays readable: left-to-right runs (Latin words, numbers, phone numbers,
e-mail addresses, "Leipzig") are wrapped in Unicode isolates, and each line starts with a
right-to-left mark so that lists and lines read from the right even when they begin with Latin.

Telegram's HTML is respected: tags and entities are never split, marks only go into text.
"""

from __future__ import annotations

import re
import unicodedata

LRI = "\u2066"  # LEFT-TO-RIGHT ISOLATE
PDI = "\u2069"  # POP DIRECTIONAL ISOLATE
RLM = "\u200f"  # RIGHT-TO-LEFT MARK

_TOKEN_RE = re.compile(r"<[^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);|\n|.", re.DOTALL)
# Bidi classes that start or continue a left-to-right run.
_STRONG_LTR = frozenset({"L", "EN"})
# Classes allowed inside a run when another strong LTR character follows on the same line.
_INNER = frozenset({"L", "EN", "ES", "ET", "CS", "WS", "ON", "NSM", "BN", "AN"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def _kind(token: str) -> str:
    """'tag', 'newline', 'ltr' (strong left-to-right), 'inner' (may sit inside a run) or 'rtl'."""
    if token.startswith("<") and len(token) > 1:
        return "tag"
    if token.startswith("&") and len(token) > 1:
        return "inner"  # an entity is a neutral character such as & or <
    if token == "\n":
        return "newline"
    if token in _BIDI_CONTROLS:
        return "rtl"  # never extend a run over existing controls
    bidi = unicodedata.bidirectional(token)
    if bidi in _STRONG_LTR:
        return "ltr"
    if bidi in _INNER:
        return "inner"
    return "rtl"


_SECTION_SIGNS = frozenset("§№")


def _starts_number(tokens: list[str], kinds: list[str], i: int) -> bool:
    """A sign right before a number belongs to its run: "+49 ...", "-5", "§ 24"."""
    token = tokens[i]
    if kinds[i] != "inner" or len(token) != 1 or i + 1 >= len(tokens):
        return False
    if unicodedata.bidirectional(token) in {"ES", "ET"} and kinds[i + 1] == "ltr":
        return True
    if token in _SECTION_SIGNS:
        following = tokens[i + 1 : i + 3]
        return kinds[i + 1] == "ltr" or (
            following[:1] == [" "] and len(following) == 2 and following[1].isdigit()
        )
    return False


def isolate_ltr(text: str) -> str:
    """Wraps each maximal left-to-right run in LRI ... PDI. Runs begin and end with a strong
    left-to-right character or digit, so spaces and punctuation around them stay outside."""
    tokens = _TOKEN_RE.findall(text)
    kinds = [_kind(token) for token in tokens]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        signed = _starts_number(tokens, kinds, i)
        if kinds[i] != "ltr" and not signed:
            out.append(tokens[i])
            i += 1
            continue
        end = i  # index of the last strong character of the run
        j = i + 1
        while j < len(tokens) and kinds[j] in ("ltr", "inner"):
            if kinds[j] == "ltr":
                end = j
            j += 1
        # Combining marks and variation selectors belong to the character before them (ℹ️).
        while end + 1 < len(tokens) and _combines(tokens[end + 1]):
            end += 1
        run = "".join(tokens[i : end + 1])
        out.append(f"{LRI}{run}{PDI}")
        i = end + 1
    return "".join(out)


def _combines(token: str) -> bool:
    return len(token) == 1 and (
        unicodedata.bidirectional(token) == "NSM" or "\ufe00" <= token <= "\ufe0f"
    )


def rtl_paragraphs(text: str) -> str:
    """Isolates left-to-right runs and starts every line with a right-to-left mark."""
    isolated = isolate_ltr(text)
    return "\n".join(RLM + line if line else line for line in isolated.split("\n"))


def strip_bidi_controls(text: str) -> str:
    """Removes directional controls, e.g. from user text before it is stored or compared."""
    return "".join(ch for ch in text if ch not in _BIDI_CONTROLS)
