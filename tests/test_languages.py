"""Every language on every screen, and the choice of language (Telegram's, the picker, the offer
to switch when a person writes in another language)."""

from __future__ import annotations

import re

import pytest

from bot.app import Core
from bot.config import load_settings
from bot.core.events import Command, PersonRef, Press, Reply, Resume, Text, Unsupported
from bot.i18n.rtl import LRI, PDI, RLM, strip_bidi_controls

ENABLED = load_settings(environ={}).languages
TAG_RE = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    return strip_bidi_controls(TAG_RE.sub("", text))


async def visit_every_screen(core: Core, lang: str) -> list[str]:
    """Walks through every screen and hint of the bot in `lang`; returns all texts and labels."""
    ref = PersonRef("test", f"all-{lang}", platform_language=None)
    seen: list[Reply] = []

    async def send(event) -> None:  # type: ignore[no-untyped-def]
        seen.extend(await core.service.handle(ref, event))

    await send(Resume(language=lang))
    await send(Command("start"))
    await send(Press(f"lang:{lang}"))
    await send(Command("help"))
    await send(Command("frobnicate"))
    await send(Command("cancel"))
    await send(Text("?"))
    await send(Unsupported("sticker"))
    await send(Press("faq"))
    for topic in core.content.faq_topics:
        await send(Press(f"q:{topic}"))
    await send(Press("privacy"))
    await send(Press("advisor"))
    await send(Press("menu"))
    await send(Press("intake"))
    await send(Press("consent:full"))
    await send(Press("consent:no"))
    await send(Press("intake"))
    await send(Press("consent:yes"))
    await send(Text("x" * 61))  # first name too long
    await send(Text("Amal"))
    await send(Text("zzz"))  # not an option
    await send(Press("a:age_group:age_27_64"))
    await send(Press("d:languages"))  # nothing chosen
    await send(Press("a:languages:ar"))
    await send(Press("a:languages:other"))  # asks which
    await send(Text("Tigrinya"))
    await send(Press("d:languages"))
    await send(Press("b:german_level"))  # back
    await send(Press("d:languages"))
    await send(Press("a:german_level:a_little"))
    await send(Press("a:interests:sport"))
    await send(Press("d:interests"))
    await send(Press("a:district:ost"))
    await send(Text("99"))  # out of range
    await send(Press("a:hours_per_week:4"))
    await send(Press("s:availability"))
    await send(Press("a:contact_method:email"))
    await send(Text("not-an-address"))
    await send(Text("amal@example.org"))
    await send(Text(""))  # empty notes
    await send(Press("s:anything_else"))
    await send(Press("e:contact_method"))
    await send(Press("a:contact_method:phone"))
    await send(Text("12"))
    await send(Text("0341 1234567"))
    await send(Text("<b>"))  # a typed text on the summary
    await send(Press("x:forged"))
    await send(Press("confirm"))
    await send(Press("advisor"))
    await send(Press("advisor:yes"))
    await send(Press("like:nope"))  # not a suggestion: stale
    await send(Command("cancel"))
    await send(Press("browse"))
    await send(Press("brf:all"))
    await send(Press("brd:all"))
    await send(Press("brp:1"))
    await send(Press("browse"))
    await send(Press("brf:sport"))
    await send(Press("brd:nord"))
    await send(Command("mydata"))
    await send(Press("privacy"))
    await send(Press("privacy:delete"))
    await send(Press("privacy:delete:yes"))  # last: the person is gone afterwards
    texts = [plain(reply.text) for reply in seen]
    texts += [plain(button.label) for reply in seen for row in reply.buttons for button in row]
    return texts


def source_sentences(core: Core, lang: str) -> set[str]:
    """Lines of the English texts that are clearly sentences: any of them showing up in another
    language is a leftover."""
    # Easy German may keep a line of standard German that is already simple ("Wie alt sind
    # Sie?"); whole messages identical to standard German are caught by `engagiert i18n check`.
    found = _sentence_lines(core, "en")
    # Lines that are the same in the person's language (an address, a name) are not leftovers.
    return found - _sentence_lines(core, lang)


SAMPLE_PARAMETERS = {
    "number": 1,
    "max": 60,
    "length": 61,
    "min": 1,
    "current": 1,
    "total": 2,
    "answer": "x",
    "contact": "x",
    "language": "x",
    "when": "x",
    "count": 2,
    "date": "x",
    "version": 2,
    "first": 1,
    "last": 3,
    "places": "x",
    "name": "x",
    "kind": "x",
}


def _sentence_lines(core: Core, lang: str) -> set[str]:
    t = core.catalogs.get(lang)
    lines: set[str] = set()
    for key in core.catalogs.source_keys:
        if key.startswith("card."):
            continue
        for line in plain(t(key, **SAMPLE_PARAMETERS)).splitlines():
            if len(re.findall(r"[^\W\d_]{2,}", line)) >= 4:
                lines.add(line.strip())
    return lines


@pytest.mark.parametrize("lang", [code for code in ENABLED if code != "en"])
async def test_every_screen_is_in_the_persons_language(core: Core, lang: str) -> None:
    texts = await visit_every_screen(core, lang)
    assert any("Leipzig" in text for text in texts)
    leftovers = {
        sentence for sentence in source_sentences(core, lang) for text in texts if sentence in text
    }
    assert leftovers == set(), f"{lang} shows untranslated text: {sorted(leftovers)[:5]}"


async def test_the_english_walk_reaches_every_kind_of_screen(core: Core) -> None:
    joined = "\n".join(await visit_every_screen(core, "en"))
    for expected in (
        "Please choose your language",
        "I do not know this command",
        "only read text",
        "Before we start",
        "Privacy notice",
        "Question 1 of",
        "That is too long",
        "Please choose one of the buttons",
        "Please choose at least one option",
        "Which other language",
        "Please write a number from 1 to 40",
        "does not look like an e-mail",
        "Please write a few words",
        "does not look like a phone number",
        "older message",
        "Your answers",
        "has been sent to the team",
        "A person from our integration team",
        "Everything stored about you is deleted",
        "There is nothing to cancel",
        "Opportunities that might suit you",
        "Which kind of volunteering interests you?",
        "Opportunities 1–3 of",
        "What is stored about you",
    ):
        assert expected in joined, expected


def test_every_language_is_named_in_itself(core: Core) -> None:
    names = core.service.language_names
    assert list(names) == list(ENABLED)
    expected = {
        "de": "Deutsch",
        "en": "English",
        "ar": "العربية",
        "uk": "Українська",
        "ru": "Русский",
        "tr": "Türkçe",
        "fr": "Français",
        "es": "Español",
    }
    for code, name in expected.items():
        if code in names:
            assert names[code] == name
    assert len(set(names.values())) == len(names)


@pytest.mark.parametrize(
    ("telegram", "preselected"), [("ar", "ar"), ("uk-UA", "uk"), ("fa", "fa"), ("pt-br", "en")]
)
async def test_telegrams_language_preselects(core: Core, telegram: str, preselected: str) -> None:
    if preselected not in ENABLED:
        pytest.skip(f"{preselected} not enabled")
    (reply,) = await core.service.handle(PersonRef("test", telegram, telegram), Command("start"))
    marked = [b for row in reply.buttons for b in row if "✓" in b.label]
    assert [b.action for b in marked] == [f"lang:{preselected}"]


async def test_arabic_arrives_right_to_left(core: Core) -> None:
    if "ar" not in ENABLED:
        pytest.skip("ar not enabled")
    ref = PersonRef("test", "rtl", "ar")
    (welcome,) = await core.service.handle(ref, Command("start"))
    assert all(line.startswith(RLM) for line in welcome.text.split("\n") if line)
    assert f"{LRI}Freiwilligen-Agentur Leipzig{PDI}" in welcome.text
    await core.service.handle(ref, Press("lang:ar"))
    (answer,) = await core.service.handle(ref, Press("q:contact_office"))
    assert f"{LRI}integration@fwal.de{PDI}" in answer.text
    assert f"{LRI}0341 / 149 47 28{PDI}" in answer.text


async def test_a_first_message_in_a_language_picks_it(core: Core) -> None:
    if "fa" not in ENABLED:
        pytest.skip("fa not enabled")
    ref = PersonRef("test", "first-fa", "en")
    (reply,) = await core.service.handle(ref, Text("سلام، من می‌خواهم داوطلب شوم"))
    marked = [b.action for row in reply.buttons for b in row if "✓" in b.label]
    assert marked == ["lang:fa"]
    assert reply.text.startswith(RLM)


async def test_writing_in_another_language_offers_to_switch_once(core: Core) -> None:
    if "ar" not in ENABLED:
        pytest.skip("ar not enabled")
    ref = PersonRef("test", "offer", "en")
    for event in (Command("start"), Press("lang:en"), Press("intake"), Press("consent:yes")):
        await core.service.handle(ref, event)
    # A name says nothing about a language: no offer.
    replies = await core.service.handle(ref, Text("محمد علي"))
    assert len(replies) == 1 and "How old" in replies[0].text
    await core.service.handle(ref, Press("a:age_group:age_18_26"))
    # A sentence in Arabic that answers nothing while a choice is open: re-asked in English,
    # plus one offer in Arabic.
    replies = await core.service.handle(ref, Text("أنا من حلب وأعيش هنا منذ سنتين مع عائلتي"))
    assert len(replies) == 2
    question, offer = replies
    assert "Which languages do you speak?" in question.text
    assert offer.text.startswith(RLM) and "العربية" in offer.text
    assert [b.action for row in offer.buttons for b in row] == ["sw:ar", "keep:ar"]
    assert "English" in strip_bidi_controls(offer.buttons[1][0].label)
    # Nothing switched silently.
    async with core.database.transaction() as repo:
        person = await repo.persons.find("test", "offer")
        assert person.language == "en" and person.language_offers == ["ar"]
    # Offered once only.
    again = await core.service.handle(ref, Text("أنا من حلب وأعيش هنا منذ سنتين مع عائلتي"))
    assert len(again) == 1
    # Accepting continues the same question, now in Arabic.
    (switched,) = await core.service.handle(ref, Press("sw:ar"))
    assert switched.edit and "العربية" in switched.text
    assert "a:languages:ar" in [b.action for row in switched.buttons for b in row]


async def test_declining_the_offer_keeps_the_language(core: Core) -> None:
    if "uk" not in ENABLED:
        pytest.skip("uk not enabled")
    ref = PersonRef("test", "decline", "de")
    for event in (Command("start"), Press("lang:de")):
        await core.service.handle(ref, event)
    replies = await core.service.handle(ref, Text("Я хочу допомагати дітям з домашнім завданням"))
    offer = replies[-1]
    assert [b.action for row in offer.buttons for b in row] == ["sw:uk", "keep:uk"]
    (kept,) = await core.service.handle(ref, Press("keep:uk"))
    assert kept.edit and "Deutsch" in kept.text
    async with core.database.transaction() as repo:
        assert (await repo.persons.find("test", "decline")).language == "de"


async def test_easy_and_standard_german_do_not_offer_each_other(core: Core) -> None:
    if "de_simple" not in ENABLED:
        pytest.skip("de_simple not enabled")
    ref = PersonRef("test", "easy", "de")
    for event in (Command("start"), Press("lang:de_simple")):
        await core.service.handle(ref, event)
    replies = await core.service.handle(
        ref, Text("Ich möchte gerne Kindern bei den Hausaufgaben helfen")
    )
    assert len(replies) == 1
