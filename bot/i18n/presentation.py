"""Last touch before a reply leaves the core: right-to-left languages get their marks."""

from __future__ import annotations

from dataclasses import replace

from bot.core.events import Button, Reply
from bot.i18n.languages import is_rtl
from bot.i18n.rtl import rtl_paragraphs


def present(reply: Reply, person_language: str) -> Reply:
    """Applies right-to-left layout when the reply's language needs it; others pass unchanged."""
    if not is_rtl(reply.language or person_language):
        return reply
    buttons = tuple(
        tuple(Button(rtl_paragraphs(button.label), button.action) for button in row)
        for row in reply.buttons
    )
    return replace(reply, text=rtl_paragraphs(reply.text), buttons=buttons)


def rtl_text(text: str, language: str) -> str:
    """A text in `language` laid out for reading, outside a Reply (queued notices, relays)."""
    return rtl_paragraphs(text) if is_rtl(language) else text
