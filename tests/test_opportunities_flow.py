"""Suggestions after the intake, marks on the lead and its card, and browsing the catalogue."""

from __future__ import annotations

from bot.app import Core
from bot.core.events import Command, PersonRef, Press, Reply, Resume, Text

REF = PersonRef("telegram", "501", "en", display_name="Amal")

PROFILE = [
    "lang:en", "intake", "consent:yes", "s:first_name", "a:age_group:age_27_64", "a:languages:ar",
    "d:languages", "a:german_level:a_little", "a:interests:interpreting",
    "a:interests:homework_children", "a:interests:mentoring", "d:interests", "a:district:ost",
    "TEXT:4",
    "a:availability:weekday_afternoons", "d:availability", "a:contact_method:telegram",
    "s:anything_else",
]  # fmt: skip


async def fill(core: Core, steps: list[str], ref: PersonRef = REF) -> None:
    await core.service.handle(ref, Command("start"))
    for step in steps:
        event = Text(step[5:]) if step.startswith("TEXT:") else Press(step)
        await core.service.handle(ref, event)


def actions_of(reply: Reply) -> list[str]:
    return [button.action for row in reply.buttons for button in row]


async def test_three_suggestions_with_reasons_and_marks_reach_the_card(core: Core) -> None:
    await fill(core, PROFILE)
    sent, suggestions = await core.service.handle(REF, Press("confirm"))
    assert "#1" in sent.text
    text = suggestions.text
    assert text.startswith("<b>Opportunities that might suit you</b>")
    assert text.count("</b> ☆") == 3
    assert "✓ You speak Arabic" in text
    assert "Internationaler Bund" in text and "Johanniter" in text
    likes = [a for a in actions_of(suggestions) if a.startswith("like:")]
    assert len(likes) == 3

    marked = (await core.service.handle(REF, Press(likes[0])))[0]
    assert marked.edit and marked.text.count("</b> ⭐") == 1
    async with core.database.transaction() as repo:
        lead = await repo.leads.get(1)
        assert [r["interested"] for r in lead.suggestions] == [True, False, False]
        cards = [i for i in await repo.outbox.all() if i.kind in {"lead_card", "card_edit"}]
    assert "Vorschläge aus dem Katalog" in cards[0].text  # the first card already lists them
    assert "⭐ interessiert" not in cards[0].text
    assert "⭐ interessiert" in cards[-1].text and "Sie sprechen Arabisch" in cards[-1].text

    # After a restart the screen comes back from the lead, mark included.
    resumed = (await core.service.handle(REF, Resume()))[0]
    assert resumed.text.count("</b> ⭐") == 1 and resumed.text.count("</b> ☆") == 2

    unmarked = (await core.service.handle(REF, Press(likes[0])))[0]
    assert "</b> ⭐" not in unmarked.text
    # A mark for something not suggested, or from another screen, changes nothing.
    assert "older message" in (await core.service.handle(REF, Press("like:nope")))[0].text
    await core.service.handle(REF, Command("menu"))
    assert "older message" in (await core.service.handle(REF, Press(likes[1])))[0].text


async def test_no_good_match_is_said_honestly_and_the_lead_still_goes_out(core: Core) -> None:
    profile = [
        "lang:en", "intake", "consent:yes", "s:first_name", "a:age_group:age_27_64",
        "a:languages:de", "d:languages", "a:german_level:good", "a:interests:environment",
        "d:interests", "a:district:outside", "s:hours_per_week", "s:availability",
        "a:contact_method:telegram", "s:anything_else",
    ]  # fmt: skip
    await fill(core, profile)
    sent, suggestions = await core.service.handle(REF, Press("confirm"))
    assert "#1" in sent.text
    assert "I found nothing in our list that clearly suits your answers" in suggestions.text
    async with core.database.transaction() as repo:
        lead = await repo.leads.get(1)
        (card,) = [i for i in await repo.outbox.all() if i.kind == "lead_card"]
    assert lead.suggestions == [] and lead.handoff == "waiting"
    assert "Kein Angebot im Katalog passt eindeutig" in card.text


async def test_browsing_by_field_and_district_with_pages(core: Core) -> None:
    await core.service.handle(REF, Command("start"))
    await core.service.handle(REF, Press("lang:en"))
    menu = (await core.service.handle(REF, Command("menu")))[0]
    assert "browse" in actions_of(menu)
    fields = (await core.service.handle(REF, Press("browse")))[0]
    assert "brf:interpreting" in actions_of(fields) and "brf:all" in actions_of(fields)
    assert "brf:environment" not in actions_of(fields)  # no entry offers it
    districts = (await core.service.handle(REF, Press("brf:all")))[0]
    assert "brd:ost" in actions_of(districts)
    page = (await core.service.handle(REF, Press("brd:all")))[0]
    assert page.text.startswith(f"<b>Opportunities 1–3 of {len(core.service.catalogue.active())}")
    assert "brp:1" in actions_of(page) and "brp:0" not in actions_of(page)
    second = (await core.service.handle(REF, Press("brp:1")))[0]
    assert "Opportunities 4–6" in second.text and "brp:0" in actions_of(second)
    # Organisation names are escaped ("Integration & Bildung e.V." is among the entries).
    pages = [page.text, second.text]
    for number in range(2, len(core.service.catalogue.active()) // 3 + 1):
        pages.append((await core.service.handle(REF, Press(f"brp:{number}")))[0].text)
    assert any("Integration &amp; Bildung" in text for text in pages)
    assert not any("& Bildung" in text for text in pages)

    await core.service.handle(REF, Press("browse"))
    await core.service.handle(REF, Press("brf:interpreting"))
    found = (await core.service.handle(REF, Press("brd:ost")))[0]
    assert "Where:" in found.text and "Opportunities 1–" in found.text
    # A restart-safe filter: the screen comes back as it was.
    again = (await core.service.handle(REF, Resume()))[0]
    assert "Opportunities 1–" in again.text
    # Forged filters are not obeyed.
    assert "older message" in (await core.service.handle(REF, Press("brd:atlantis")))[0].text
