"""Advisors take over, through the mocked Bot session: topic, card, claim, relay both ways."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram import Dispatcher
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    CreateForumTopic,
    EditMessageText,
    SendMessage,
)

from bot.app import Core, open_core
from bot.core.advisor_desk import AdvisorDesk
from bot.core.outbox import Outbox
from bot.i18n.rtl import strip_bidi_controls
from bot.mt.translator import MachineTranslator
from bot.telegram.advisor_directory import TelegramAdvisorDirectory
from bot.telegram.delivery import TelegramDelivery
from bot.telegram.setup import build_dispatcher
from tests.conftest import make_settings
from tests.mocked_bot import MockedBot
from tests.telegram_updates import (
    group_message_update,
    group_press_update,
    message_update,
    photo_update,
    press_update,
    user,
)
from tests.test_handoff import FakeTranslator

GROUP = -1009876543210
LENA = user(7, "de", first_name="Lena")
MALLORY = user(99, "de", first_name="Mallory")
AMAL = user(111, "ar", first_name="Amal")

# The intake, pressed by action: Arabic labels need not be typed by the test.
INTAKE = [
    "lang:ar", "intake", "consent:yes", "TEXT:أمل", "a:age_group:age_27_64", "a:languages:ar",
    "a:languages:en", "d:languages", "a:german_level:a_little", "a:interests:interpreting",
    "d:interests", "a:district:ost", "s:hours_per_week", "s:availability",
    "a:contact_method:telegram", "s:anything_else", "confirm",
]  # fmt: skip


@dataclass
class Setup:
    core: Core
    bot: MockedBot
    dispatcher: Dispatcher
    desk: AdvisorDesk
    outbox: Outbox
    # How far the outbox's clock runs ahead of the real one (to let backoffs pass).
    offset: timedelta

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @property
    def requests(self) -> list[Any]:
        return self.bot.session.requests

    async def person(self, action_or_text: str) -> None:
        if action_or_text.startswith("TEXT:"):
            update = message_update(action_or_text[5:], from_user=AMAL)
        else:
            update = press_update(action_or_text, from_user=AMAL)
        await self.dispatcher.feed_update(self.bot, update)

    async def advisor_writes(self, text: str, who=LENA, topic_id: int | None = None) -> None:  # type: ignore[no-untyped-def]
        await self.dispatcher.feed_update(
            self.bot,
            group_message_update(text, GROUP, from_user=who, topic_id=topic_id, forum=True),
        )

    async def advisor_presses(self, action: str, who=LENA, message_id: int = 1) -> None:  # type: ignore[no-untyped-def]
        await self.dispatcher.feed_update(
            self.bot, group_press_update(action, GROUP, from_user=who, message_id=message_id)
        )

    async def flush(self) -> None:
        await self.outbox.flush()

    def to(self, chat_id: int, kind: type = SendMessage) -> list[Any]:
        return [r for r in self.requests if isinstance(r, kind) and r.chat_id == chat_id]


async def make_setup(
    tmp_path, translator: MachineTranslator | None = None, core: Core | None = None
) -> Setup:
    core = core or await open_core(make_settings(tmp_path, ADVISOR_CHAT_ID=str(GROUP)))
    if translator is not None:
        core.translator = translator
    bot = MockedBot()
    bot.session.forum = True
    bot.session.members = {LENA.id}
    directory = TelegramAdvisorDirectory(bot, GROUP, frozenset())
    desk = core.advisor_desk(directory)
    setup = Setup(core, bot, build_dispatcher(core, desk), desk, None, timedelta(0))  # type: ignore[arg-type]
    setup.outbox = core.outbox(TelegramDelivery(bot, GROUP), desk, clock=setup.now)
    return setup


@pytest.fixture
async def fake(tmp_path) -> AsyncIterator[Setup]:
    setup = await make_setup(tmp_path, FakeTranslator())
    yield setup
    await setup.core.close()


async def intake_to_topic(s: Setup) -> tuple[int, int]:
    """Runs the Arabic intake; returns the topic id and the card's message id."""
    for step in INTAKE:
        await s.person(step)
    await s.flush()
    (topic,) = [r for r in s.requests if isinstance(r, CreateForumTopic)]
    assert topic.chat_id == GROUP and topic.name == "#1 · Arabisch"
    (card,) = s.to(GROUP)
    assert card.message_thread_id is not None
    assert card.text.startswith("<b>Neue Anfrage #1 · Interessenprofil</b>")
    assert "Arabisch" in card.text and "Dolmetschen" in card.text
    buttons = [b.text for row in card.reply_markup.inline_keyboard for b in row]
    assert buttons == ["Übernehmen"]
    async with s.core.database.transaction() as repo:
        lead = await repo.leads.get(1)
        return int(lead.topic_id), int(lead.card_message_id)


async def test_arabic_intake_becomes_a_topic_claimed_and_relayed_both_ways(
    fake: Setup,
) -> None:
    s = fake
    topic, card_id = await intake_to_topic(s)
    person_texts_before = len(s.to(AMAL.id)) + len(s.to(AMAL.id, EditMessageText))

    # A stranger in the group cannot claim; nothing changes.
    await s.advisor_presses("adv:claim:1", who=MALLORY, message_id=card_id)
    refusal = s.bot.session.of_type("AnswerCallbackQuery")[-1]
    assert refusal.show_alert and "Nur Beraterinnen" in refusal.text
    async with s.core.database.transaction() as repo:
        assert (await repo.leads.get(1)).handoff == "waiting"

    await s.advisor_presses("adv:claim:1", message_id=card_id)
    answer = s.bot.session.of_type("AnswerCallbackQuery")[-1]
    assert not answer.show_alert and "übernommen" in answer.text
    await s.flush()
    (edit,) = s.to(GROUP, EditMessageText)
    assert edit.message_id == card_id and "übernommen von Lena" in edit.text
    notice = s.to(AMAL.id)[-1].text
    assert "Lena" in notice and "\u200f" in notice  # Arabic, right to left

    # Lena writes German in the topic; Amal reads the translation with the German beside it.
    await s.advisor_writes("Hallo Amal, wann hast du Zeit?", topic_id=topic)
    await s.flush()
    relayed = strip_bidi_controls(s.to(AMAL.id)[-1].text)
    assert "[de→ar] Hallo Amal, wann hast du Zeit?" in relayed
    assert relayed.rstrip().endswith("Hallo Amal, wann hast du Zeit?")

    # Amal answers in Arabic: the advisors read the original and the German translation.
    await s.person("TEXT:يوم الثلاثاء بعد الظهر")
    await s.flush()
    into_topic = [r for r in s.to(GROUP) if r.message_thread_id == topic]
    assert "يوم الثلاثاء بعد الظهر" in into_topic[-1].text
    assert "[ar→de]" in into_topic[-1].text
    # The bot did not answer Amal's message itself.
    assert len(s.to(AMAL.id)) + len(s.to(AMAL.id, EditMessageText)) == person_texts_before + 2

    # A photo from Amal is copied into the topic, with a note.
    await s.dispatcher.feed_update(s.bot, photo_update(AMAL))
    await s.flush()
    (copy,) = [r for r in s.requests if isinstance(r, CopyMessage)]
    assert copy.chat_id == GROUP and copy.from_chat_id == AMAL.id
    assert copy.message_thread_id == topic

    # Commands in the advisors' chat.
    await s.advisor_writes("/note 1 Möchte lieber vormittags", topic_id=topic)
    await s.advisor_writes("/leads", topic_id=topic)
    assert "#1 · Arabisch · in Beratung (Lena)" in s.to(GROUP)[-1].text
    await s.advisor_writes("/lead 1", topic_id=topic)
    assert "Möchte lieber vormittags" in s.to(GROUP)[-1].text
    await s.advisor_writes("/stats")
    assert "insgesamt: 1" in s.to(GROUP)[-1].text
    assert all("vormittags" not in r.text for r in s.to(AMAL.id))  # notes stay internal

    await s.advisor_presses("adv:status:1:placed", message_id=card_id)
    await s.advisor_presses("adv:close:1", message_id=card_id)
    await s.flush()
    async with s.core.database.transaction() as repo:
        lead = await repo.leads.get(1)
        assert (lead.handoff, lead.status) == ("closed", "placed")
    assert "#1" in s.to(AMAL.id)[-1].text


async def test_in_a_plain_group_the_card_is_the_thread(tmp_path) -> None:
    s = await make_setup(tmp_path, FakeTranslator())
    s.bot.session.forum = False
    for step in INTAKE:
        await s.person(step)
    await s.flush()
    assert not [r for r in s.requests if isinstance(r, CreateForumTopic)]
    assert len(s.to(GROUP)) == 1  # the card
    async with s.core.database.transaction() as repo:
        card_id = (await repo.leads.get(1)).card_message_id
    # A message in the group that replies to nothing is the team's own talk.
    before, requests_before = len(s.to(AMAL.id)), len(s.requests)
    await s.dispatcher.feed_update(
        s.bot, group_message_update("Kaffee, jemand?", GROUP, from_user=LENA)
    )
    await s.flush()
    assert len(s.requests) == requests_before  # nothing sent, nothing answered
    # A reply to the card claims the lead and goes to the person.
    await s.dispatcher.feed_update(
        s.bot,
        group_message_update("Willkommen!", GROUP, from_user=LENA, reply_to=card_id),
    )
    await s.flush()
    person_messages = s.to(AMAL.id)[before:]
    assert any("Lena" in m.text for m in person_messages)
    assert "[de→ar] Willkommen!" in strip_bidi_controls(person_messages[-1].text)
    relayed_into_group = [r for r in s.to(GROUP) if r.reply_parameters is not None]
    assert relayed_into_group == []  # the advisor's own message is not echoed back
    await s.core.close()


async def test_telegram_429_and_403_are_handled_without_losing_anything(fake: Setup) -> None:
    s = fake
    _topic, card_id = await intake_to_topic(s)
    await s.advisor_presses("adv:claim:1", message_id=card_id)
    s.bot.session.add_api_error(429, "Too Many Requests: retry after 20", retry_after=20)
    result = await s.outbox.flush()
    assert result.failed >= 1
    s.offset += timedelta(seconds=21)
    await s.flush()
    assert "Lena" in s.to(AMAL.id)[-1].text  # delivered after the wait

    await s.advisor_writes("Bist du noch da?", topic_id=_topic)
    s.bot.session.add_api_error(403, "Forbidden: bot was blocked by the user")
    await s.flush()
    edits = s.to(GROUP, EditMessageText)
    assert "nicht erreichbar" in edits[-1].text
    assert any("blockiert" in r.text for r in s.to(GROUP))
    async with s.core.database.transaction() as repo:
        person = await repo.persons.find("telegram", str(AMAL.id))
        assert person.unreachable_at is not None


async def test_a_restart_while_waiting_keeps_the_lead_and_the_reminder(tmp_path) -> None:
    s = await make_setup(tmp_path, FakeTranslator())
    topic, _card = await intake_to_topic(s)
    await s.core.close()

    # Another process, 25 hours later: the lead still waits, and the reminder comes once.
    settings = make_settings(tmp_path, ADVISOR_CHAT_ID=str(GROUP))
    restarted = await make_setup(tmp_path, FakeTranslator(), await open_core(settings))
    restarted.offset = timedelta(hours=25)
    restarted.desk.clock = restarted.now
    assert await restarted.desk.reannounce_due() == 1
    await restarted.flush()
    (reminder,) = restarted.to(GROUP)
    assert reminder.message_thread_id == topic and "wartet seit 25 Std." in reminder.text
    await restarted.dispatcher.feed_update(
        restarted.bot, group_message_update("/leads", GROUP, from_user=LENA)
    )
    assert "#1 · Arabisch · wartet" in restarted.to(GROUP)[-1].text
    await restarted.core.close()


async def test_answers_a_failed_reply_later_through_the_outbox(fake: Setup) -> None:
    """A 429 while answering a person's own message: the answer is queued, not lost."""
    s = fake
    s.bot.session.add_api_error(429, "Too Many Requests: retry after 1", retry_after=1)
    await s.dispatcher.feed_update(s.bot, message_update("/start", from_user=AMAL))
    assert len(s.to(AMAL.id)) == 1  # the refused try
    s.offset += timedelta(seconds=6)  # past the first backoff
    await s.flush()
    assert len(s.to(AMAL.id)) >= 2 and "Freiwilligen-Agentur" in s.to(AMAL.id)[-1].text
    assert not [r for r in s.requests if isinstance(r, AnswerCallbackQuery) and r.show_alert]


@pytest.fixture(scope="module")
def arabic_models(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Tiny real argostranslate packages ar->de and de->ar (random weights, real pipeline)."""
    pytest.importorskip("argostranslate", reason="needs the [mt] extra")
    import zipfile

    from tests.argos_tiny_model import build_parts, write_package

    out = tmp_path_factory.mktemp("argos-ar")
    parts = build_parts(out / "parts")
    packages = out / "packages"
    for source, target in (("ar", "de"), ("de", "ar")):
        with zipfile.ZipFile(write_package(parts, out, source, target)) as archive:
            archive.extractall(packages)
    return packages


async def test_the_real_argos_path_translates_both_ways(
    tmp_path, arabic_models, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    from bot.mt.argos import ArgosTranslator

    argos = ArgosTranslator(arabic_models, timeout_seconds=60)
    s = await make_setup(tmp_path, argos)
    try:
        topic, card_id = await intake_to_topic(s)
        await s.advisor_presses("adv:claim:1", message_id=card_id)
        await s.advisor_writes("Hallo Amal, wann hast du Zeit?", topic_id=topic)
        await s.flush()
        to_amal = strip_bidi_controls(s.to(AMAL.id)[-1].text)
        await s.person("TEXT:يوم الثلاثاء بعد الظهر")
        await s.flush()
        async with s.core.database.transaction() as repo:
            to_person, to_advisors = await repo.relay.for_lead(1)
        for message in (to_person, to_advisors):
            assert message.translation and message.translation != message.original
            assert message.translation_note is None
        # Amal: the (tiny model's) Arabic first, labelled, then Lena's German original.
        lines = to_amal.splitlines()
        assert lines[0] == "<b>Lena (Freiwilligen-Agentur):</b>"
        assert to_amal.index("ترجمة آلية") < to_amal.index("Hallo Amal, wann hast du Zeit?")
        assert lines[-1] == "Hallo Amal, wann hast du Zeit?"
        # The advisors: the Arabic original and the German machine translation, labelled.
        into_topic = s.to(GROUP)[-1].text
        assert "يوم الثلاثاء بعد الظهر" in into_topic
        assert "Maschinelle Übersetzung (Ausgangssprache Arabisch)" in into_topic
        assert "Hallo Amal" not in caplog.text and "الثلاثاء" not in caplog.text  # no texts in logs
    finally:
        argos.close()
        await s.core.close()


async def test_a_missing_model_still_relays_with_a_note(tmp_path, arabic_models) -> None:
    from bot.mt.argos import ArgosTranslator

    argos = ArgosTranslator(tmp_path / "no-models", timeout_seconds=5)
    s = await make_setup(tmp_path, argos)
    try:
        topic, card_id = await intake_to_topic(s)
        await s.advisor_presses("adv:claim:1", message_id=card_id)
        await s.advisor_writes("Bis morgen!", topic_id=topic)
        await s.person("TEXT:شكرا جزيلا لك")
        await s.flush()
        assert "Bis morgen!" in s.to(AMAL.id)[-1].text
        into_topic = s.to(GROUP)[-1].text
        assert "شكرا جزيلا لك" in into_topic and "Keine maschinelle Übersetzung" in into_topic
    finally:
        argos.close()
        await s.core.close()
