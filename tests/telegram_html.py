"""A strict checker for the HTML the bot sends with parse_mode=HTML, for tests.

Stricter than Telegram on purpose: only the tags the bot uses (b, i, u, s, a with an href, code,
pre), properly nested and closed; every `&` starts one of the four named entities or a numeric
one; no bare `<`. Whatever passes here Telegram parses, so a person's `<b>` or `&` in a reply
can only mean it was not escaped.
"""

from __future__ import annotations

import re

ALLOWED_TAGS = frozenset({"b", "i", "u", "s", "a", "code", "pre"})
_TAG = re.compile(r'<(/?)([a-z]+)((?:\s+href="[^"<>]*")?)\s*>')
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
TELEGRAM_LIMIT = 4096


class InvalidHtml(AssertionError):
    pass


def check_html(text: str) -> None:
    """Raises InvalidHtml naming the first problem and where it is."""
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            match = _TAG.match(text, i)
            if match is None:
                raise InvalidHtml(f"bare '<' or unsupported tag at {i}: {text[i : i + 30]!r}")
            closing, name, attrs = match.groups()
            if name not in ALLOWED_TAGS:
                raise InvalidHtml(f"tag <{name}> is not one Telegram's HTML or the bot uses")
            if closing:
                if attrs or not stack or stack[-1] != name:
                    raise InvalidHtml(f"</{name}> at {i} closes nothing open ({stack})")
                stack.pop()
            else:
                if (name == "a") != bool(attrs):
                    raise InvalidHtml(f"<{name}{attrs}> at {i}: only <a> has (and needs) href")
                if name in stack and name != "pre":
                    raise InvalidHtml(f"<{name}> at {i} nested in itself")
                stack.append(name)
            i = match.end()
        elif ch == "&":
            match = _ENTITY.match(text, i)
            if match is None:
                raise InvalidHtml(f"bare '&' at {i}: {text[i : i + 12]!r}")
            i = match.end()
        else:
            i += 1
    if stack:
        raise InvalidHtml(f"tags left open at the end: {stack}")


def visible_text(text: str) -> str:
    """The text a person sees: tags dropped, entities resolved."""
    import html

    return html.unescape(_TAG.sub("", text))


def check_message(text: str) -> None:
    """One Telegram message: valid HTML, not empty, at most 4096 visible characters."""
    check_html(text)
    shown = visible_text(text)
    if not shown.strip():
        raise InvalidHtml(f"empty message: {text!r}")
    if len(shown) > TELEGRAM_LIMIT:
        raise InvalidHtml(f"{len(shown)} characters, over Telegram's {TELEGRAM_LIMIT}")
