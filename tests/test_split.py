"""Messages over Telegram's 4096 characters go out in parts that are each valid HTML."""

from __future__ import annotations

import pytest

from bot.i18n.check import html_problems
from bot.telegram.split import TELEGRAM_LIMIT, split_message


def test_short_text_is_one_part() -> None:
    assert split_message("<b>Hallo</b>") == ["<b>Hallo</b>"]


def test_parts_break_at_paragraphs_and_reopen_open_tags() -> None:
    text = "<b>Title</b>\n\n" + "<i>" + "word " * 60 + "</i>\n\nend &amp; more"
    parts = split_message(text, limit=200)
    assert len(parts) > 1
    assert all(len(part) <= 200 for part in parts)
    assert all(html_problems(part) == [] for part in parts)
    assert parts[0].startswith("<b>Title</b>")
    assert parts[1].startswith("<i>")  # the italic text goes on in italics
    assert parts[-1].endswith("end &amp; more")
    joined = " ".join(parts)
    assert joined.count("word") == 60


@pytest.mark.parametrize("limit", [120, 150, 333])
def test_entities_and_links_are_never_cut(limit: int) -> None:
    text = ('<a href="tg://user?id=12345">Amal &amp; Sami</a> &lt;3 ' * 40).strip()
    for part in split_message(text, limit=limit):
        assert len(part) <= limit
        assert html_problems(part) == []


def test_a_lead_card_of_any_length_fits_telegram() -> None:
    card = "<b>Neue Anfrage #1</b>\n" + "\n".join(
        f"<b>Feld {n}:</b> " + "ä" * 300 for n in range(30)
    )
    parts = split_message(card)
    assert all(len(part) <= TELEGRAM_LIMIT for part in parts)
    assert sum(part.count("<b>Feld") for part in parts) == 30
