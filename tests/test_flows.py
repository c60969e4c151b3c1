"""The dialog engine end to end, without a transport: events in, replies and database rows out."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import Core, open_core
from bot.config import Settings
from bot.core.advisor_desk import AdvisorRef, ConfiguredAdvisors
from bot.core.events import (
    Button,
    Command,
    Event,
    PersonRef,
    Press,
    Reply,
    Resume,
    Text,
    Unsupported,
)
from bot.storage.models import Lead, OutboxItem

EN = PersonRef("test", "p1", platform_language="en")

STALE = "This button belongs to an older message. Here is where we are now:"
PAUSED = "⏸ Paused. Your answers are saved – tap “Find volunteering for me” to continue."

QUESTIONS = {
    "first_name": "What is your first name? (You can skip this.)",
    "age_group": "How old are you?",
    "languages": "Which languages do you speak?",
    "german_level": "How good is your German?",
    "interests": "What would you like to do?",
    "district": "In which part of Leipzig do you live?",
    "hours_per_week": "How many hours a week could you volunteer?",
    "availability": "When do you have time?",
    "contact_method": "How should we contact you?",
    "phone": "What is your phone number?",
    "email": "What is your e-mail address?",
    "anything_else": "Is there anything else you want to tell us?",
}
STEP_ORDER = list(QUESTIONS)
REQUIRED = ["age_group", "languages", "german_level", "interests", "district", "contact_method"]
OPTIONAL = ["first_name", "hours_per_week", "availability", "anything_else"]


def labels(reply: Reply) -> list[str]:
    return [button.label for row in reply.buttons for button in row]


def picker(reply: Reply) -> str:
    """The one preselected language of a picker, checking every offered language is there."""
    names = labels(reply)
    assert {"Deutsch", "English", "العربية", "Türkçe"} <= {n.removeprefix("✓ ") for n in names}
    (marked,) = [name for name in names if name.startswith("✓ ")]
    return marked.removeprefix("✓ ")


def find_button(reply: Reply, text: str) -> Button:
    """The one button whose label contains `text`; an exact label (ignoring a ✓/✅ mark) wins."""
    found = [button for row in reply.buttons for button in row if text in button.label]
    if len(found) > 1:
        found = [b for b in found if b.label.removeprefix("✓ ").removeprefix("✅ ") == text]
    assert len(found) == 1, f"no single button {text!r} in {labels(reply)}"
    return found[0]


@dataclass
class State:
    screen: str
    step: str | None
    answers: dict[str, Any]
    pending: dict[str, Any]
    history: list[Any]
    editing: bool
    language: str | None
    consent_version: int | None
    profile: dict[str, Any] | None


class Chat:
    """One person talking to the core; remembers the last reply so buttons can be pressed."""

    def __init__(self, core: Core, ref: PersonRef = EN) -> None:
        self.core = core
        self.ref = ref
        self.last: Reply | None = None
        self.replies: list[Reply] = []

    async def send(self, event: Event) -> Reply:
        """The reply to `event`; after the intake, the first of the two (sent + suggestions)."""
        replies = await self.core.service.handle(self.ref, event)
        assert len(replies) == 1 or (len(replies) == 2 and event == Press("confirm"))
        self.replies = replies
        self.last = replies[-1]
        return replies[0]

    async def command(self, name: str) -> Reply:
        return await self.send(Command(name))

    async def say(self, text: str) -> Reply:
        return await self.send(Text(text))

    async def press(self, label: str) -> Reply:
        assert self.last is not None
        return await self.send(Press(find_button(self.last, label).action))

    async def state(self) -> State:
        async with self.core.database.transaction() as repo:
            person = await repo.persons.find(self.ref.channel, self.ref.external_id)
            assert person is not None
            conv = await repo.conversations.get_or_create(person.id)
            profile = await repo.profiles.get(person.id)
            return State(
                screen=conv.screen,
                step=conv.step,
                answers=dict(conv.answers),
                pending=dict(conv.pending),
                history=list(conv.history),
                editing=conv.editing,
                language=person.language,
                consent_version=person.consent_version,
                profile=dict(profile.answers) if profile else None,
            )


async def leads_of_repo(repo):  # type: ignore[no-untyped-def]
    return list(await repo.session.scalars(select(Lead).order_by(Lead.id)))


async def leads_of(core: Core) -> list[Lead]:
    async with core.database.transaction() as repo:
        return list(await repo.session.scalars(select(Lead).order_by(Lead.id)))


async def count(core: Core, model: type) -> int:
    async with core.database.transaction() as repo:
        return int(await repo.session.scalar(select(func.count()).select_from(model)) or 0)


async def to_menu(chat: Chat) -> Reply:
    await chat.command("start")
    return await chat.press("English")


async def begin_intake(chat: Chat) -> Reply:
    await to_menu(chat)
    await chat.press("Find volunteering for me")
    return await chat.press("Yes, I agree")


# How the standard person answers each step (contact method chosen per test).
async def answer_step(chat: Chat, step: str, contact: str) -> None:
    if step == "first_name":
        await chat.say("Amira")
    elif step == "age_group":
        await chat.press("27–64")
    elif step == "languages":
        await chat.press("Arabic")
        await chat.press("Done")
    elif step == "german_level":
        await chat.press("a little")
    elif step == "interests":
        await chat.press("Sport")
        await chat.press("Done")
    elif step == "district":
        await chat.press("Mitte")
    elif step == "hours_per_week":
        await chat.say("4")
    elif step == "availability":
        await chat.press("weekends")
        await chat.press("Done")
    elif step == "contact_method":
        await chat.press(contact)
    elif step == "phone":
        await chat.say("0341 1234567")
    elif step == "email":
        await chat.say("amira@example.de")
    elif step == "anything_else":
        await chat.say("Thanks")
    else:  # pragma: no cover
        raise AssertionError(step)


async def go_to(chat: Chat, target: str, contact: str = "Phone") -> Reply:
    """Consents and answers every question up to `target` ("summary" for the summary)."""
    await begin_intake(chat)
    for _ in range(20):
        state = await chat.state()
        if state.screen == "summary" and target == "summary":
            break
        assert state.screen == "intake", state
        if state.step == target:
            break
        await answer_step(chat, state.step, contact)
    assert chat.last is not None
    return chat.last


def assert_question(reply: Reply, step: str) -> None:
    assert f"<b>{QUESTIONS[step]}" in reply.text, reply.text


# -- welcome and language --------------------------------------------------------------------


async def test_start_shows_welcome_and_picker_with_platform_language_preselected(core: Core):
    chat = Chat(core)
    reply = await chat.command("start")
    assert "Freiwilligen-Agentur Leipzig" in reply.text
    assert "Please choose your language" in reply.text
    assert picker(reply) == "English"
    assert [b.action for b in (find_button(reply, "Deutsch"), find_button(reply, "English"))] == [
        "lang:de",
        "lang:en",
    ]
    assert (await chat.state()).screen == "language"


async def test_start_preselects_german_for_a_german_platform(core: Core):
    chat = Chat(core, PersonRef("test", "p2", platform_language="de-AT"))
    reply = await chat.command("start")
    assert picker(reply) == "Deutsch"
    assert reply.text.startswith(core.catalogs.get("de")("welcome.text"))


async def test_unknown_platform_language_falls_back(core: Core):
    chat = Chat(core, PersonRef("test", "p3", platform_language="pt-br"))
    reply = await chat.command("start")
    # config.yml: fallback "en"
    assert picker(reply) == "English"
    assert "Please choose your language" in reply.text


async def test_choosing_german_switches_texts_to_german(core: Core):
    de = core.catalogs.get("de")
    chat = Chat(core)
    await chat.command("start")
    reply = await chat.press("Deutsch")
    assert de("menu.text") == "Was möchten Sie tun?"
    assert reply.text == f"{de('language.changed')}\n\n{de('menu.text')}"
    assert de("menu.find") in labels(reply)
    assert "🔎 Find volunteering for me" not in labels(reply)
    state = await chat.state()
    assert (state.language, state.screen) == ("de", "menu")
    # later replies stay German even though the platform says English
    reply = await chat.press(de("menu.find"))
    assert reply.text == de("privacy.short")


async def test_text_before_choosing_a_language_shows_the_welcome_again(core: Core):
    chat = Chat(core)
    reply = await chat.say("hello")
    assert "Freiwilligen-Agentur Leipzig" in reply.text
    assert "✓ English" in labels(reply)


# -- the whole intake --------------------------------------------------------------------------


async def test_happy_path_creates_lead_card_and_profile(core: Core):
    created: list[int] = []
    core.service.on_lead_created = created.append
    chat = Chat(core)
    await to_menu(chat)
    reply = await chat.press("Find volunteering for me")
    assert "Before we start" in reply.text
    assert (await chat.state()).answers == {}

    reply = await chat.press("Yes, I agree")
    assert "Question 1 of 10" in reply.text
    assert_question(reply, "first_name")
    assert (await chat.state()).consent_version == core.content.privacy_version

    reply = await chat.say("Amira")
    assert "Question 2 of 10" in reply.text
    assert_question(reply, "age_group")
    reply = await chat.press("27–64")
    assert_question(reply, "languages")

    await chat.press("Arabic")
    await chat.press("English")
    reply = await chat.press("Other")
    assert "Which other language? Please write it." in reply.text
    reply = await chat.say("Somali")
    assert {"✅ Arabic", "✅ English", "✅ Other"} <= set(labels(reply))
    assert "Farsi/Dari" in labels(reply)  # not selected
    reply = await chat.press("Done")
    assert_question(reply, "german_level")

    reply = await chat.press("a little")
    assert_question(reply, "interests")
    await chat.press("German / language support")
    await chat.press("Sport")
    reply = await chat.press("Done")
    assert_question(reply, "district")

    reply = await chat.press("Südost")
    assert_question(reply, "hours_per_week")
    assert labels(reply)[:5] == ["1", "2", "4", "6", "10"]
    reply = await chat.say("4")
    assert_question(reply, "availability")

    await chat.press("weekends")
    await chat.press("flexible")
    reply = await chat.press("Done")
    assert_question(reply, "contact_method")

    reply = await chat.press("Phone")
    assert "Question 10 of 11" in reply.text
    assert_question(reply, "phone")
    reply = await chat.say("0341 1234567")
    assert_question(reply, "anything_else")

    reply = await chat.say("a < b & c")
    summary = reply.text
    for line in [
        "<b>📋 Your answers</b>",
        "<b>First name:</b> Amira",
        "<b>Age:</b> 27–64",
        "<b>Languages:</b> Arabic, English, Other: Somali",
        "<b>German:</b> a little",
        "<b>Interests:</b> German / language support, Sport",
        "<b>District:</b> Südost",
        "<b>Hours per week:</b> 4",
        "<b>Time:</b> weekends, flexible",
        "<b>Contact:</b> Phone",
        "<b>Phone:</b> +49 341 1234567",
        "<b>Notes:</b> a &lt; b &amp; c",
    ]:
        assert line in summary.splitlines(), (line, summary)
    assert "E-mail" not in summary
    assert "✅ Send to the team" in labels(reply)
    assert "✏️ Contact" in labels(reply)

    expected = {
        "first_name": "Amira",
        "age_group": "age_27_64",
        "languages": ["ar", "en", "other"],
        "languages_other": "Somali",
        "german_level": "a_little",
        "interests": ["language_support", "sport"],
        "district": "suedost",
        "hours_per_week": 4,
        "availability": ["weekends", "flexible"],
        "contact_method": "phone",
        "phone": "+49 341 1234567",
        "anything_else": "a < b & c",
    }
    assert (await chat.state()).answers == expected
    assert await leads_of(core) == []

    reply = await chat.press("Send to the team")
    leads = await leads_of(core)
    assert len(leads) == 1
    lead = leads[0]
    assert f"Your request <b>#{lead.id}</b> has been sent" in reply.text
    assert "(Phone)" in reply.text
    assert created == [lead.id]
    assert lead.kind == "intake"
    assert lead.language == "en"
    assert lead.answers == expected
    assert lead.contact["channel"] == "test"
    assert lead.contact["id"] == "p1"

    async with core.database.transaction() as repo:
        items = await repo.outbox.all()
    assert [item.kind for item in items] == ["open_topic", "lead_card"]
    card = items[1]
    assert (card.kind, card.status, card.destination, card.lead_id) == (
        "lead_card",
        "pending",
        "advisors",
        lead.id,
    )
    de = core.catalogs.get("de")
    assert card.text.startswith(f"<b>Neue Anfrage #{lead.id}")
    assert f"<b>{de('intake.anything_else.label')}:</b> a &lt; b &amp; c" in card.text
    assert "a < b & c" not in card.text
    assert f"<b>{de('intake.district.label')}:</b> {de('intake.district.suedost')}" in card.text
    assert "+49 341 1234567" in card.text
    assert "Somali" in card.text

    state = await chat.state()
    assert state.profile == expected
    assert state.answers == {}
    assert state.step is None

    # A second press of the (old) confirm button sends nothing more.
    reply = await chat.send(Press("confirm"))
    assert reply.text.startswith(STALE)
    assert await count(core, Lead) == 1
    assert await count(core, OutboxItem) == 2  # the topic and the card, once

    # Coming back later starts from the saved profile's summary.
    reply = await chat.command("menu")
    reply = await chat.press("Find volunteering for me")
    assert "<b>First name:</b> Amira" in reply.text
    assert (await chat.state()).screen == "summary"


# -- consent -----------------------------------------------------------------------------------


async def test_nothing_personal_is_stored_before_consent(core: Core):
    chat = Chat(core)
    await to_menu(chat)
    reply = await chat.press("Find volunteering for me")
    assert "Do you agree?" in reply.text
    assert labels(reply) == [
        "✅ Yes, I agree",
        "No, thanks",
        "📄 Read the full privacy notice",
    ]
    reply = await chat.say("My name is Amira")
    assert "Did you mean" in reply.text  # not taken as an answer: no question is open
    state = await chat.state()
    assert state.answers == {}
    assert state.pending == {}
    assert state.consent_version is None
    assert state.profile is None
    # A forged answer press before consent is refused, too.
    reply = await chat.send(Press("a:age_group:age_18_26"))
    assert reply.text.startswith(STALE)
    assert (await chat.state()).answers == {}


async def test_declining_consent_returns_to_menu(core: Core):
    chat = Chat(core)
    await to_menu(chat)
    await chat.press("Find volunteering for me")
    reply = await chat.press("No, thanks")
    assert reply.text.startswith("No problem. Without your consent I do not save any answers.")
    assert reply.text.endswith("What would you like to do?")
    assert "🔎 Find volunteering for me" in labels(reply)
    state = await chat.state()
    assert (state.screen, state.consent_version, state.answers) == ("menu", None, {})
    # Asked again next time.
    reply = await chat.press("Find volunteering for me")
    assert "Do you agree?" in reply.text


async def test_full_privacy_notice_then_consent(core: Core):
    chat = Chat(core)
    await to_menu(chat)
    await chat.press("Find volunteering for me")
    reply = await chat.press("Read the full privacy notice")
    assert "Privacy notice" in reply.text
    assert "Freiwilligen-Agentur Leipzig e.V." in reply.text  # agency placeholder filled in
    assert "Read the full privacy notice" not in " ".join(labels(reply))
    reply = await chat.press("Yes, I agree")
    assert_question(reply, "first_name")


async def test_advisor_without_consent_creates_contact_lead(core: Core):
    chat = Chat(core, PersonRef("test", "p1", "en", display_name="Amira <A>", username="amira"))
    await to_menu(chat)
    reply = await chat.press("Talk to an advisor")
    assert "Shall I do that?" in reply.text
    reply = await chat.press("Yes, please")
    leads = await leads_of(core)
    assert len(leads) == 1
    lead = leads[0]
    assert f"Your request has the number <b>#{lead.id}</b>" in reply.text
    assert (lead.kind, lead.language, lead.answers) == ("contact", "en", {})
    assert lead.contact == {"channel": "test", "id": "p1", "name": "Amira <A>", "username": "amira"}
    async with core.database.transaction() as repo:
        _topic, card = await repo.outbox.all()
    de = core.catalogs.get("de")
    assert card.text.startswith(f"<b>Neue Anfrage #{lead.id} · Beratungswunsch</b>")
    assert de("card.no_profile") in card.text
    assert "Amira &lt;A&gt;" in card.text
    state = await chat.state()
    assert (state.consent_version, state.answers, state.profile) == (None, {}, None)
    # The old "Yes, please" button does not create a second lead: the request is under way.
    reply = await chat.send(Press("advisor:yes"))
    assert f"Your request #{lead.id} is already with the agency" in reply.text
    assert await count(core, Lead) == 1


async def test_advisor_after_a_confirmed_profile_carries_the_answers(core: Core):
    chat = Chat(core)
    await go_to(chat, "summary")
    await chat.press("Send to the team")
    # The advisors close the first request; later the person asks to talk to someone again.
    desk = core.advisor_desk(ConfiguredAdvisors(frozenset({1})))
    assert (await desk.close(AdvisorRef(1, "Lena"), 1)).ok
    await chat.command("menu")
    await chat.press("Talk to an advisor")
    await chat.press("Yes, please")
    leads = await leads_of(core)
    assert [lead.kind for lead in leads] == ["intake", "contact"]
    assert leads[1].answers == leads[0].answers
    assert leads[1].answers["first_name"] == "Amira"


# -- navigation: back, skip ----------------------------------------------------------------------


async def test_back_returns_to_previous_question_with_its_answer_kept(core: Core):
    chat = Chat(core)
    await begin_intake(chat)
    await chat.say("Amira")
    reply = await chat.press("Back")
    assert_question(reply, "first_name")
    assert "Your answer so far: Amira" in reply.text
    state = await chat.state()
    assert (state.step, state.answers) == ("first_name", {"first_name": "Amira"})

    await chat.say("Amira")
    await chat.press("18–26")
    reply = await chat.press("Back")
    assert_question(reply, "age_group")
    assert "✓ 18–26" in labels(reply)
    assert "✓ 27–64" not in labels(reply)
    state = await chat.state()
    assert state.answers["age_group"] == "age_18_26"
    # the kept answer can be changed
    reply = await chat.press("65 or older")
    assert_question(reply, "languages")
    assert (await chat.state()).answers["age_group"] == "age_65_plus"


async def test_back_on_a_multi_step_keeps_the_selection(core: Core):
    chat = Chat(core)
    await go_to(chat, "german_level")
    reply = await chat.press("Back")
    assert_question(reply, "languages")
    assert "✅ Arabic" in labels(reply)


async def test_back_from_the_other_prompt_unselects_other(core: Core):
    chat = Chat(core)
    await go_to(chat, "languages")
    await chat.press("Other")
    reply = await chat.press("Back")
    assert_question(reply, "languages")
    assert "Other" in labels(reply)
    assert "✅ Other" not in labels(reply)
    state = await chat.state()
    assert state.pending["selected"] == []
    assert state.step == "languages"


async def test_back_on_the_first_question_pauses_to_the_menu(core: Core):
    chat = Chat(core)
    await begin_intake(chat)
    reply = await chat.press("Back")
    assert reply.text == f"{PAUSED}\n\nWhat would you like to do?"
    state = await chat.state()
    assert state.screen == "menu"
    reply = await chat.press("Find volunteering for me")
    assert_question(reply, "first_name")


async def test_skip_stores_none_and_summary_shows_dash(core: Core):
    chat = Chat(core)
    reply = await begin_intake(chat)
    assert "⏭ Skip" in labels(reply)
    reply = await chat.press("Skip")
    assert_question(reply, "age_group")
    assert (await chat.state()).answers == {"first_name": None}

    await go_to_from_current(chat, "hours_per_week")
    reply = await chat.press("Skip")
    assert_question(reply, "availability")
    reply = await chat.press("Done")  # nothing selected on an optional multi: skipped
    assert_question(reply, "contact_method")
    await chat.press("Telegram")
    reply = await chat.press("Skip")
    state = await chat.state()
    assert state.screen == "summary"
    for step in OPTIONAL:
        assert step in state.answers
        assert state.answers[step] is None
    for label in ["First name", "Hours per week", "Time", "Notes"]:
        assert f"<b>{label}:</b> —" in reply.text.splitlines()
    assert "<b>Age:</b> 27–64" in reply.text


async def go_to_from_current(chat: Chat, target: str, contact: str = "Phone") -> None:
    for _ in range(20):
        state = await chat.state()
        if state.step == target:
            return
        await answer_step(chat, state.step, contact)
    raise AssertionError(target)  # pragma: no cover


@pytest.mark.parametrize("step", [*REQUIRED, "phone", "email"])
async def test_skip_is_not_offered_on_required_steps(core: Core, step: str):
    chat = Chat(core)
    reply = await go_to(chat, step, contact="E-mail" if step == "email" else "Phone")
    assert_question(reply, step)
    assert not any("Skip" in label for label in labels(reply))
    before = await chat.state()
    reply = await chat.send(Press(f"s:{step}"))
    assert reply.text.startswith(STALE)
    assert await chat.state() == before


async def test_done_without_selection_on_a_required_multi_asks_again(core: Core):
    chat = Chat(core)
    await go_to(chat, "languages")
    reply = await chat.press("Done")
    assert reply.text.startswith("⚠️ Please choose at least one option, then tap “Done”.")
    assert_question(reply, "languages")
    state = await chat.state()
    assert state.step == "languages"
    assert "languages" not in state.answers


# -- invalid input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "text", "hint"),
    [
        ("phone", "12345", "That does not look like a phone number."),
        ("phone", "call me", "That does not look like a phone number."),
        ("email", "foo@", "That does not look like an e-mail address."),
        ("email", "foo@bar", "That does not look like an e-mail address."),
        ("hours_per_week", "99", "Please write a number from 1 to 40, for example 3."),
        ("hours_per_week", "0", "Please write a number from 1 to 40, for example 3."),
        ("hours_per_week", "abc", "Please write a number from 1 to 40, for example 3."),
        ("first_name", "   ", "Please write a few words."),
        ("first_name", "\u200b\u202e", "Please write a few words."),
        ("anything_else", " \t ", "Please write a few words."),
        ("first_name", "A" * 61, "That is too long: 61 characters. Please use at most 60."),
        ("district", "Atlantis", "Please choose one of the buttons."),
        ("age_group", "I am old", "Please choose one of the buttons."),
        ("contact_method", "pigeon", "Please choose one of the buttons."),
        ("languages", "Klingon", "Please choose one of the buttons."),
    ],
)
async def test_invalid_input_is_asked_again_with_a_hint(
    core: Core, step: str, text: str, hint: str
):
    chat = Chat(core)
    await go_to(chat, step, contact="E-mail" if step == "email" else "Phone")
    before = await chat.state()
    reply = await chat.say(text)
    first_line = reply.text.split("\n", 1)[0]
    assert first_line.startswith(f"⚠️ {hint}"), reply.text
    assert_question(reply, step)
    after = await chat.state()
    assert after == before
    assert step not in after.answers


async def test_first_name_of_exactly_60_characters_is_accepted(core: Core):
    chat = Chat(core)
    await begin_intake(chat)
    reply = await chat.say("A" * 60)
    assert_question(reply, "age_group")
    assert (await chat.state()).answers["first_name"] == "A" * 60


async def test_empty_text_for_the_other_language_is_asked_again(core: Core):
    chat = Chat(core)
    await go_to(chat, "languages")
    await chat.press("Other")
    reply = await chat.say("  ")
    assert reply.text.startswith("⚠️ Please write a few words.")
    assert "Which other language? Please write it." in reply.text
    assert (await chat.state()).pending["awaiting_other"] is True


@pytest.mark.parametrize("typed", ["Südost", "südost", "  SÜDOST ", "suedost", "✓ Südost"])
async def test_typing_an_option_label_on_a_choice_step(core: Core, typed: str):
    chat = Chat(core)
    await go_to(chat, "district")
    reply = await chat.say(typed)
    assert_question(reply, "hours_per_week")
    assert (await chat.state()).answers["district"] == "suedost"


async def test_typing_an_option_label_on_a_multi_step_toggles_it(core: Core):
    chat = Chat(core)
    await go_to(chat, "languages")
    reply = await chat.say("arabic")
    assert "✅ Arabic" in labels(reply)
    reply = await chat.say("Ukrainian")
    assert "✅ Ukrainian" in labels(reply)
    assert (await chat.state()).pending["selected"] == ["ar", "uk"]
    reply = await chat.say("Arabic")
    assert "✅ Arabic" not in labels(reply)
    reply = await chat.press("Done")
    assert_question(reply, "german_level")
    assert (await chat.state()).answers["languages"] == ["uk"]


async def test_number_step_accepts_suggestion_buttons(core: Core):
    chat = Chat(core)
    reply = await go_to(chat, "hours_per_week")
    reply = await chat.press("10")
    assert_question(reply, "availability")
    assert (await chat.state()).answers["hours_per_week"] == 10


async def test_text_on_the_summary_asks_for_buttons(core: Core):
    chat = Chat(core)
    await go_to(chat, "summary")
    before = await chat.state()
    reply = await chat.say("looks good")
    assert reply.text.startswith("Please choose one of the buttons.\n\n<b>📋 Your answers</b>")
    assert await chat.state() == before


# -- cancel, pause and resume --------------------------------------------------------------------


async def test_cancel_mid_intake_pauses_and_find_resumes_at_the_same_question(core: Core):
    chat = Chat(core)
    await go_to(chat, "district")
    before = await chat.state()
    reply = await chat.press("Cancel")
    assert reply.text == f"{PAUSED}\n\nWhat would you like to do?"
    state = await chat.state()
    assert state.screen == "menu"
    assert state.answers == before.answers
    reply = await chat.press("Find volunteering for me")
    assert_question(reply, "district")
    assert "Do you agree?" not in reply.text
    reply = await chat.press("Mitte")
    assert_question(reply, "hours_per_week")


async def test_cancel_command_mid_intake_pauses(core: Core):
    chat = Chat(core)
    await go_to(chat, "german_level")
    reply = await chat.command("cancel")
    assert reply.text.startswith(PAUSED)
    reply = await chat.press("Find volunteering for me")
    assert_question(reply, "german_level")


@pytest.mark.parametrize("how", ["fresh", "after_start", "in_menu"])
async def test_cancel_with_nothing_running(core: Core, how: str):
    chat = Chat(core)
    if how == "after_start":
        await chat.command("start")
    elif how == "in_menu":
        await to_menu(chat)
    reply = await chat.command("cancel")
    assert reply.text == "There is nothing to cancel.\n\nWhat would you like to do?"
    assert (await chat.state()).answers == {}


async def test_cancel_on_the_consent_screen_before_any_answer(core: Core):
    chat = Chat(core)
    await to_menu(chat)
    await chat.press("Find volunteering for me")
    reply = await chat.command("cancel")
    assert reply.text == "OK, cancelled.\n\nWhat would you like to do?"
    state = await chat.state()
    assert (state.screen, state.answers, state.consent_version) == ("menu", {}, None)


async def test_restart_resumes_at_the_open_question(settings: Settings):
    first = await open_core(settings)
    try:
        chat = Chat(first)
        await go_to(chat, "district")
        before = await chat.state()
    finally:
        await first.close()

    second = await open_core(settings)
    try:
        chat = Chat(second)
        reply = await chat.send(Resume())
        assert reply.text.startswith("👋 Welcome back! Let us continue where you stopped.\n\n")
        assert_question(reply, "district")
        assert "Question 6 of 10" in reply.text
        assert "Mitte" in labels(reply)
        assert await chat.state() == before
        assert before.answers["first_name"] == "Amira"
        reply = await chat.press("Mitte")
        assert_question(reply, "hours_per_week")
    finally:
        await second.close()


async def test_resume_of_a_new_person_shows_the_welcome(core: Core):
    chat = Chat(core)
    reply = await chat.send(Resume())
    assert "Freiwilligen-Agentur Leipzig" in reply.text
    assert "Welcome back" not in reply.text


# -- edit from the summary -----------------------------------------------------------------------


async def test_edit_contact_from_phone_to_email(core: Core):
    chat = Chat(core)
    reply = await go_to(chat, "summary")
    assert "<b>Phone:</b> +49 341 1234567" in reply.text
    reply = await chat.press("✏️ Contact")
    assert_question(reply, "contact_method")
    assert "✓ Phone" in labels(reply)
    assert (await chat.state()).editing is True

    reply = await chat.press("E-mail")
    assert_question(reply, "email")
    state = await chat.state()
    assert "phone" not in state.answers
    assert state.answers["contact_method"] == "email"

    reply = await chat.say("Amira@Example.DE")
    assert reply.text.startswith("<b>📋 Your answers</b>")
    assert "<b>E-mail:</b> Amira@example.de" in reply.text
    assert "<b>Contact:</b> E-mail" in reply.text
    assert "Phone:" not in reply.text
    state = await chat.state()
    assert (state.screen, state.editing) == ("summary", False)
    assert "phone" not in state.answers
    assert state.answers["email"] == "Amira@example.de"
    assert state.answers["anything_else"] == "Thanks"  # later answers untouched

    reply = await chat.press("Send to the team")
    assert "(E-mail)" in reply.text
    (lead,) = await leads_of(core)
    assert "phone" not in lead.answers
    assert lead.answers["email"] == "Amira@example.de"


async def test_edit_a_simple_answer_returns_to_the_summary(core: Core):
    chat = Chat(core)
    await go_to(chat, "summary")
    reply = await chat.press("✏️ District")
    assert_question(reply, "district")
    assert "✓ Mitte" in labels(reply)
    reply = await chat.press("West")
    assert reply.text.startswith("<b>📋 Your answers</b>")
    assert "<b>District:</b> West" in reply.text


async def test_back_while_editing_returns_to_the_summary_unchanged(core: Core):
    chat = Chat(core)
    await go_to(chat, "summary")
    before = (await chat.state()).answers
    await chat.press("✏️ Age")
    reply = await chat.press("Back")
    assert reply.text.startswith("<b>📋 Your answers</b>")
    assert (await chat.state()).answers == before


async def test_back_after_switching_contact_method_cannot_lose_the_address(core: Core):
    chat = Chat(core)
    await go_to(chat, "summary")
    await chat.press("✏️ Contact")
    await chat.press("E-mail")  # phone answer is dropped, e-mail now required
    reply = await chat.press("Back")
    if "Send to the team" in " ".join(labels(reply)):
        await chat.press("Send to the team")
    for lead in await leads_of(core):
        method = lead.answers.get("contact_method")
        assert method not in ("email", "phone") or lead.answers.get(method), lead.answers


# -- stale and forged buttons --------------------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        "a:age_group:age_18_26",  # a step that is not the current one
        "b:age_group",
        "d:languages",
        "zzz",
        "a:district:" + "x" * 60,  # longer than Telegram's 64 bytes
        "a:district:atlantis",
        "s:district",  # skip on a required step
        "e:district",  # edit outside the summary
        "lang:xx",
        "q:nope",
        "confirm",
        "consent:yes",
        "advisor:yes",
        "",
        "a:",
        "a:district",
    ],
)
async def test_stale_or_forged_buttons_change_nothing(core: Core, action: str):
    chat = Chat(core)
    await go_to(chat, "district")
    before = await chat.state()
    reply = await chat.send(Press(action))
    assert reply.text.startswith(STALE + "\n\n"), reply.text
    assert_question(reply, "district")
    assert await chat.state() == before
    assert await count(core, Lead) == 0


async def test_unsupported_content_answers_friendly_and_keeps_state(core: Core):
    chat = Chat(core)
    await go_to(chat, "district")
    before = await chat.state()
    reply = await chat.send(Unsupported("photo"))
    assert reply.text.startswith("🙂 I can only read text and button presses")
    assert_question(reply, "district")
    assert reply.edit is False
    assert await chat.state() == before
    # the question's buttons still work
    reply = await chat.press("Mitte")
    assert_question(reply, "hours_per_week")


async def test_unknown_command_shows_the_menu(core: Core):
    chat = Chat(core)
    await to_menu(chat)
    reply = await chat.command("frobnicate")
    assert reply.text == "I do not know this command.\n\nWhat would you like to do?"


# -- language change and privacy -----------------------------------------------------------------


async def test_language_change_mid_intake_keeps_the_answers(core: Core):
    de = core.catalogs.get("de")
    chat = Chat(core)
    await go_to(chat, "district")
    before = await chat.state()
    reply = await chat.command("language")
    assert picker(reply) == "English"
    reply = await chat.press("Deutsch")
    assert reply.text.startswith(de("language.changed"))
    state = await chat.state()
    assert state.language == "de"
    assert state.answers == before.answers
    assert state.step == "district"
    reply = await chat.press(de("menu.find"))
    assert f"<b>{de('intake.district.question')}</b>" in reply.text
    assert de("intake.district.question") != QUESTIONS["district"]
    reply = await chat.press(de("intake.district.suedost"))
    assert f"<b>{de('intake.hours_per_week.question')}</b>" in reply.text
    assert (await chat.state()).answers == {**before.answers, "district": "suedost"}


async def test_privacy_delete_erases_the_person_and_blanks_their_lead(core: Core):
    chat = Chat(core)
    await go_to(chat, "summary")
    await chat.press("Send to the team")
    await chat.command("menu")
    await chat.press("Find volunteering for me")  # answers restored from the profile
    state = await chat.state()
    assert state.answers["first_name"] == "Amira"
    assert state.profile is not None

    reply = await chat.command("privacy")
    assert "✅ You have agreed that your answers are saved." in reply.text
    reply = await chat.press("Show my data")
    assert reply.attachment is not None and b"Amira" in reply.attachment.data
    await chat.command("privacy")
    reply = await chat.press("Delete all my data")
    assert "Do you really want to delete all your data?" in reply.text
    reply = await chat.press("Yes, delete everything")
    assert reply.text.startswith("🗑 Everything stored about you is deleted.")

    async with core.database.transaction() as repo:
        assert await repo.persons.find("test", "p1") is None
        (lead,) = await leads_of_repo(repo)
        assert lead.person_id is None and lead.answers == {} and lead.handoff == "closed"
        assert "Amira" not in str(lead.contact)
    assert await count(core, Lead) == 1  # an anonymous count remains for the statistics

    # Writing again starts from the beginning, as a new person.
    reply = await chat.command("start")
    assert "Please choose your language" in reply.text


async def test_privacy_without_consent_still_offers_export_and_deletion(core: Core):
    """Even without consent the language and the Telegram id are stored: both can be seen
    and deleted."""
    chat = Chat(core)
    await to_menu(chat)
    reply = await chat.press("Privacy and my data")
    assert "You have not agreed to saving your answers." in reply.text
    assert labels(reply) == ["📄 Show my data", "🗑 Delete all my data", "🏠 Menu"]
    reply = await chat.press("Show my data")
    assert b'"consent": null' in reply.attachment.data


# -- known defects ---------------------------------------------------------------------------------


async def test_double_tap_on_other_does_not_leave_the_prompt_open(core: Core):
    chat = Chat(core)
    await go_to(chat, "languages")
    await chat.press("Arabic")
    await chat.send(Press("a:languages:other"))
    await chat.send(Press("a:languages:other"))  # second tap on the same (old) button
    state = await chat.state()
    assert state.pending["selected"] == ["ar"]
    assert state.pending.get("awaiting_other") is False


async def test_text_after_the_open_step_was_removed_from_the_content(
    settings: Settings, tmp_path: Path
):
    first = await open_core(settings)
    try:
        await go_to(Chat(first), "anything_else")
    finally:
        await first.close()

    # The last question is dropped from the content (the catalogue needs none of it).
    dialogs = tmp_path / "dialogs"
    shutil.copytree(settings.dialogs_dir, dialogs)
    intake = dialogs / "intake.yml"
    text = intake.read_text(encoding="utf-8")
    intake.write_text(text[: text.index("  - id: anything_else")], encoding="utf-8")

    second = await open_core(replace(settings, dialogs_dir=dialogs))
    try:
        assert not second.content.intake.has_step("anything_else")
        replies = await second.service.handle(EN, Text("I can cook"))
        assert len(replies) == 1
    finally:
        await second.close()


async def test_a_new_privacy_notice_version_asks_for_consent_again(core: Core):
    chat = Chat(core)
    await begin_intake(chat)
    await chat.say("Amira")
    async with core.database.transaction() as repo:  # agreed to the previous notice
        person = await repo.persons.find(chat.ref.channel, chat.ref.external_id)
        person.consent_version = core.content.privacy_version - 1
    await chat.command("menu")
    reply = await chat.press("Find volunteering for me")
    assert "Do you agree?" in reply.text
    reply = await chat.press("Yes, I agree")
    assert (await chat.state()).consent_version == core.content.privacy_version
    assert "Question 2 of" in reply.text  # the intake resumes where it was
