"""Telegram takes at most 4096 characters per message: longer texts go out in several parts.

Parts break at a paragraph, else a line, else a space, never inside an HTML tag or entity, and
tags open at a break are closed at the end of one part and opened again at the start of the next,
so every part is valid HTML on its own.
"""

from __future__ import annotations

import re

TELEGRAM_LIMIT = 4096
# Room kept free in each part for the closing tags added at its end.
_RESERVE = 64
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _cut(rest[: limit - _RESERVE])
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip(" \n")
        opened = _open_tags(head)
        parts.append(head + "".join(f"</{name}>" for name, _tag in reversed(opened)))
        rest = "".join(tag for _name, tag in opened) + rest
    parts.append(rest)
    return parts


def _safe(text: str, index: int) -> bool:
    """Whether cutting `text` before `index` leaves tags and entities whole."""
    before = text[:index]
    inside_tag = before.rfind("<") > before.rfind(">")
    inside_entity = before.rfind("&") > before.rfind(";") and not re.search(
        r"&[^;\s]*\s", before[before.rfind("&") :]
    )
    return not inside_tag and not inside_entity


def _cut(window: str) -> int:
    for separator in ("\n\n", "\n", " "):
        index = window.rfind(separator)
        while index > len(window) // 3:
            if _safe(window, index):
                return index
            index = window.rfind(separator, 0, index)
    index = len(window)
    while index > 1 and not _safe(window, index):
        index -= 1
    return index


def _open_tags(text: str) -> list[tuple[str, str]]:
    """(name, opening tag) of the tags still open at the end of `text`, outermost first."""
    stack: list[tuple[str, str]] = []
    for match in _TAG_RE.finditer(text):
        name = match.group(2).lower()
        if match.group(1):
            if stack and stack[-1][0] == name:
                stack.pop()
        else:
            stack.append((name, match.group(0)))
    return stack
