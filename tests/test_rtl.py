"""Right-to-left rendering on exact strings: what Telegram receives for Arabic, Farsi, Pashto."""

from __future__ import annotations

import pytest

from bot.core.events import Button, Reply
from bot.i18n.presentation import present
from bot.i18n.rtl import LRI, PDI, RLM, isolate_ltr, rtl_paragraphs, strip_bidi_controls


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A German city name inside Arabic.
        ("أريد التطوع في Leipzig.", f"أريد التطوع في {LRI}Leipzig{PDI}."),
        # A phone number with its plus sign and spaces stays one left-to-right unit.
        ("هاتف: +49 176 12345678", f"هاتف: {LRI}+49 176 12345678{PDI}"),
        ("📞 0341 / 149 47 28", f"📞 {LRI}0341 / 149 47 28{PDI}"),
        # A paragraph sign stays with its number.
        ("حماية وفق § 24 أيضًا", f"حماية وفق {LRI}§ 24{PDI} أيضًا"),
        # An e-mail address.
        ("راسلنا: integration@fwal.de", f"راسلنا: {LRI}integration@fwal.de{PDI}"),
        # Several Latin words in a row form one run; the bracket stays with the Arabic.
        ("شهادة (erweitertes Führungszeugnis)", f"شهادة ({LRI}erweitertes Führungszeugnis{PDI})"),
        # Farsi with a Latin programme name; Persian digits are numbers too (bidi class EN).
        (
            "برنامه Integration durch Sport برای ۲ سال",
            f"برنامه {LRI}Integration durch Sport{PDI} برای {LRI}۲{PDI} سال",
        ),
        # Pure right-to-left text is left alone.
        ("مرحبا بك", "مرحبا بك"),
    ],
)
def test_left_to_right_runs_are_isolated(text: str, expected: str) -> None:
    assert isolate_ltr(text) == expected


def test_html_tags_and_entities_are_never_split() -> None:
    # Isolates never cross a tag, so they nest properly with the HTML; entities stay whole.
    text = '<b>العنوان:</b> Dorotheenplatz 2 &amp; <a href="tg://user?id=5">Amal</a>'
    assert isolate_ltr(text) == (
        f'<b>العنوان:</b> {LRI}Dorotheenplatz 2{PDI} &amp; <a href="tg://user?id=5">{LRI}Amal{PDI}</a>'
    )
    entity_only = "نص &lt;b&gt; نص"
    assert isolate_ltr(entity_only) == f"نص &lt;{LRI}b{PDI}&gt; نص"


def test_every_line_starts_right_to_left_so_lists_read_from_the_right() -> None:
    text = "الخيارات:\n• Patenschaft\n• Sport\n\nLeipzig"
    assert rtl_paragraphs(text) == (
        f"{RLM}الخيارات:\n{RLM}• {LRI}Patenschaft{PDI}\n{RLM}• {LRI}Sport{PDI}\n\n"
        f"{RLM}{LRI}Leipzig{PDI}"
    )


def test_present_applies_rtl_to_text_and_buttons_only_for_rtl_languages() -> None:
    reply = Reply("اختر: Ost", ((Button("Ost", "a:district:ost"),),))
    arabic = present(reply, "ar")
    assert arabic.text == f"{RLM}اختر: {LRI}Ost{PDI}"
    assert arabic.buttons[0][0].label == f"{RLM}{LRI}Ost{PDI}"
    assert arabic.buttons[0][0].action == "a:district:ost"
    assert present(reply, "en") == reply
    # A reply in another language than the person's (an offer to switch) follows its own.
    offer = Reply("هل تكتب بالعربية؟", language="ar")
    assert present(offer, "en").text.startswith(RLM)


def test_bidi_controls_can_be_removed_again() -> None:
    assert strip_bidi_controls(rtl_paragraphs("في Leipzig")) == "في Leipzig"


def test_a_variation_selector_stays_with_its_emoji() -> None:
    assert isolate_ltr("ℹ️ مثال") == "\u2066ℹ️\u2069 مثال"
