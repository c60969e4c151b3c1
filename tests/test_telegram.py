"""The Telegram adapter through a mocked Bot session and Dispatcher.feed_update."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram import Dispatcher
from aiogram.methods import EditMessageText, SendMessage, SetMyCommands

from bot.app import Core
from bot.core.outbox import Outbox
from bot.telegram.callbacks import PressData
from bot.telegram.delivery import TelegramDelivery
from bot.telegram.setup import build_bot, build_dispatcher, register_commands
from tests.conftest import make_settings
from tests.mocked_bot import MockedBot
from tests.telegram_updates import message_update, photo_update, press_update, user

ADVISORS = -1001234567890


class TelegramUser:
    """Talks to the dispatcher like a person in a private chat: types, presses buttons by label."""

    def __init__(
        self, dispatcher: Dispatcher, bot: MockedBot, user_id: int = 111, language_code: str = "en"
    ) -> None:
        self.dp = dispatcher
        self.bot = bot
        self.user = user(user_id, language_code)
        self.last_message_id = 500

    @property
    def requests(self) -> list[Any]:
        return self.bot.session.requests

    async def send(self, text: str) -> None:
        await self.dp.feed_update(self.bot, message_update(text, from_user=self.user))

    async def press(self, label: str) -> None:
        action = self.find_action(label)
        await self.dp.feed_update(
            self.bot, press_update(action, from_user=self.user, message_id=self.last_message_id)
        )

    def last_screen(self) -> SendMessage | EditMessageText:
        for request in reversed(self.requests):
            if (
                isinstance(request, SendMessage | EditMessageText)
                and request.chat_id == self.user.id
            ):
                return request
        raise AssertionError("the bot has not written to this person yet")

    def find_action(self, label: str) -> str:
        """The button with `label` on the newest message that has one (Telegram keeps the
        buttons of every message, so a person can press an older one)."""
        for request in reversed(self.requests):
            if not isinstance(request, SendMessage | EditMessageText):
                continue
            if request.chat_id != self.user.id or request.reply_markup is None:
                continue
            for row in request.reply_markup.inline_keyboard:
                for button in row:
                    if label in button.text:
                        return PressData.unpack(button.callback_data).action
        raise AssertionError(f"no button {label!r} in any message to this person")

    def texts(self) -> list[str]:
        return [
            r.text
            for r in self.requests
            if isinstance(r, SendMessage | EditMessageText) and r.chat_id == self.user.id
        ]


@pytest.fixture
def bot() -> MockedBot:
    return MockedBot()


@pytest.fixture
def dispatcher(core: Core) -> Dispatcher:
    return build_dispatcher(core, core.advisor_desk())


@pytest.fixture
def person(dispatcher: Dispatcher, bot: MockedBot) -> TelegramUser:
    return TelegramUser(dispatcher, bot)


async def test_start_greets_and_offers_languages_with_telegram_language_preselected(
    person: TelegramUser,
) -> None:
    await person.send("/start")
    screen = person.last_screen()
    assert isinstance(screen, SendMessage)
    assert "Freiwilligen-Agentur Leipzig" in screen.text
    labels = [b.text for row in screen.reply_markup.inline_keyboard for b in row]
    assert labels[:3] == ["Deutsch", "Einfaches Deutsch", "✓ English"]
    assert len(labels) == 13 and sum(label.startswith("✓") for label in labels) == 1
    assert screen.parse_mode == "HTML"


async def test_german_telegram_user_gets_german_preselected(dispatcher, bot) -> None:
    german = TelegramUser(dispatcher, bot, user_id=222, language_code="de-AT")
    await german.send("/start")
    labels = [b.text for row in german.last_screen().reply_markup.inline_keyboard for b in row]
    assert labels[:3] == ["✓ Deutsch", "Einfaches Deutsch", "English"]
    assert "Sprache" in german.last_screen().text


async def test_pressing_a_button_edits_the_pressed_message(person: TelegramUser) -> None:
    await person.send("/start")
    await person.press("Deutsch")
    edit = person.last_screen()
    assert isinstance(edit, EditMessageText)
    assert edit.message_id == person.last_message_id
    assert "Was möchten Sie tun?" in edit.text
    answered = person.bot.session.of_type("AnswerCallbackQuery")
    assert len(answered) == 1


async def test_not_modified_edit_is_ignored_and_refused_edit_falls_back(
    person: TelegramUser,
) -> None:
    await person.send("/start")
    person.bot.session.add_api_error(400, "Bad Request: message is not modified")
    await person.press("English")
    sends_after = [r for r in person.requests if isinstance(r, SendMessage)]
    assert len(sends_after) == 1  # only the /start answer: nothing piled up
    person.bot.session.add_api_error(400, "Bad Request: message to edit not found")
    await person.press("Find volunteering")
    fallback = person.last_screen()
    assert isinstance(fallback, SendMessage)
    assert "Before we start" in fallback.text


async def test_whole_intake_over_telegram_reaches_the_advisors_group(
    core: Core, person: TelegramUser, bot: MockedBot
) -> None:
    await person.send("/start")
    await person.press("English")
    await person.press("Find volunteering")
    await person.press("Yes, I agree")
    await person.send("Amal")
    await person.press("27–64")
    for label in ("Arabic", "English", "Done"):
        await person.press(label)
    await person.press("a little")
    for label in ("Interpreting", "Homework", "Done"):
        await person.press(label)
    await person.press("Ost")
    await person.send("4")
    await person.press("Skip")
    await person.press("Telegram")
    await person.send("أريد أن أساعد <أطفال> & عائلات")
    summary, offer = person.texts()[-2:]
    assert "Your answers" in summary
    assert "&lt;أطفال&gt; &amp;" in summary
    assert "العربية" in offer  # written in Arabic: the bot offers Arabic, it does not switch
    await person.press("Send to the team")
    sent, suggestions = person.texts()[-2:]
    assert "#1" in sent and "Opportunities that might suit you" in suggestions

    outbox = Outbox(core.database, TelegramDelivery(bot, ADVISORS))
    result = await outbox.flush()
    assert (result.sent, result.failed) == (2, 0)  # the topic (none: no forum) and the card
    card = [r for r in bot.session.requests if isinstance(r, SendMessage) and r.chat_id == ADVISORS]
    assert len(card) == 1
    text = card[0].text
    assert text.startswith("<b>Neue Anfrage #1")
    assert "Englisch" in text and "Arabisch, Englisch" in text
    assert "Dolmetschen" in text or "Sprachmittlung" in text
    assert "أريد أن أساعد &lt;أطفال&gt; &amp; عائلات" in text
    assert 'href="tg://user?id=111"' in text and "@amal_l" in text
    async with core.database.transaction() as repo:
        _topic, item = await repo.outbox.all()
        assert item.status == "sent" and item.external_chat == ADVISORS


async def test_photos_stickers_and_the_like_get_a_friendly_answer(person: TelegramUser) -> None:
    await person.send("/start")
    await person.dp.feed_update(person.bot, photo_update(person.user))
    reply = person.last_screen()
    assert "only read text" in reply.text
    assert reply.reply_markup is not None  # the current screen comes with it


async def test_forged_callback_data_is_answered_not_obeyed(person: TelegramUser) -> None:
    await person.send("/start")
    await person.press("English")
    await person.dp.feed_update(
        person.bot, press_update(raw_data="x:DROP TABLE", from_user=person.user)
    )
    assert "older message" in person.last_screen().text
    await person.dp.feed_update(person.bot, press_update("confirm", from_user=person.user))
    assert "older message" in person.last_screen().text


async def test_unknown_command_and_help(person: TelegramUser) -> None:
    await person.send("/start")
    await person.send("/frobnicate")
    assert "do not know this command" in person.last_screen().text
    await person.send("/help")
    assert "/privacy" in person.last_screen().text


async def test_group_messages_are_not_answered(dispatcher, bot) -> None:
    from aiogram.types import Chat

    group = Chat(id=ADVISORS, type="supergroup", title="Beratung")
    await dispatcher.feed_update(bot, message_update("hallo", chat=group))
    await dispatcher.feed_update(bot, message_update("/start", chat=group))
    assert bot.session.requests == []


async def test_lead_card_stays_queued_while_telegram_refuses_and_goes_out_later(
    core: Core, person: TelegramUser, bot: MockedBot, caplog: pytest.LogCaptureFixture
) -> None:
    await person.send("/start")
    await person.press("English")
    await person.press("Talk to an advisor")
    await person.press("Yes, please")
    assert "#1" in person.last_screen().text

    now = datetime.now(UTC)  # the card was queued just now, at the real time
    outbox = Outbox(core.database, TelegramDelivery(bot, ADVISORS), clock=lambda: now)
    bot.session.add_api_error(400, "Bad Request: chat not found")
    with caplog.at_level(logging.WARNING):
        assert (await outbox.flush()).failed == 1
    assert "chat not found" in caplog.text and "lead 1" in caplog.text
    async with core.database.transaction() as repo:
        item, card = await repo.outbox.pending()
        assert item.attempts == 1 and "chat not found" in (item.last_error or "")
        assert card.attempts == 0  # waits for the item before it

    now += timedelta(seconds=6)
    bot.session.add_api_error(429, "Too Many Requests: retry after 30", retry_after=30)
    assert (await outbox.flush()).failed == 1
    async with core.database.transaction() as repo:
        item, _card = await repo.outbox.pending()
        waited = item.next_attempt_at.replace(tzinfo=UTC) - now
        assert timedelta(seconds=29) <= waited <= timedelta(seconds=31)

    now += timedelta(seconds=10)
    assert (await outbox.flush()).sent == 0  # not due yet: Telegram asked for 30 s
    now += timedelta(seconds=25)
    assert (await outbox.flush()).sent == 2
    cards = [
        r for r in bot.session.requests if isinstance(r, SendMessage) and r.chat_id == ADVISORS
    ]
    assert len(bot.session.of_type("GetChat")) == 3  # refused, rate-limited, then it worked
    assert len(cards) == 1  # one card, never lost
    assert "Beratungswunsch" in cards[-1].text


async def test_missing_advisor_chat_keeps_the_card_queued(core: Core, person: TelegramUser, bot):
    await person.send("/start")
    await person.press("English")
    await person.press("Talk to an advisor")
    await person.press("Yes, please")
    outbox = Outbox(core.database, TelegramDelivery(bot, None))
    assert (await outbox.flush()).failed == 1
    async with core.database.transaction() as repo:
        item, _card = await repo.outbox.pending()
        assert "ADVISOR_CHAT_ID" in (item.last_error or "")


async def test_commands_are_registered_per_language_and_a_failure_is_not_fatal(
    core: Core, bot: MockedBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.session.add_result(SetMyCommands, True)
    bot.session.add_api_error(400, "Bad Request: language code is invalid")
    with caplog.at_level(logging.WARNING):
        done = await register_commands(bot, core.catalogs, ("de", "en"), "en")
    assert done == 2
    calls = bot.session.of_type("SetMyCommands")
    assert [c.language_code for c in calls] == [None, "de", "en"]
    assert [c.command for c in calls[-1].commands] == [
        "start",
        "menu",
        "language",
        "help",
        "privacy",
        "mydata",
        "delete",
        "cancel",
    ]
    assert calls[-1].commands[2].description == "Change the language"
    assert "could not register commands for language de" in caplog.text


def test_bot_uses_the_configured_api_server(tmp_path) -> None:
    settings = make_settings(
        tmp_path, BOT_TOKEN="123456:" + "A" * 35, TELEGRAM_API_BASE="http://127.0.0.1:8081/"
    )
    bot = build_bot(settings)
    assert bot.session.api.api_url(bot.token, "getMe") == (
        f"http://127.0.0.1:8081/bot{bot.token}/getMe"
    )


async def test_a_text_over_telegrams_limit_goes_out_in_parts_with_buttons_last(
    bot: MockedBot,
) -> None:
    from bot.core.events import Button, Reply
    from bot.telegram.render import send_replies

    long_text = "<b>Antwort</b>\n\n" + "\n".join("Zeile " + "ä" * 80 for _ in range(80))
    reply = Reply(long_text, ((Button("🏠 Menu", "menu"),),), edit=True)
    await send_replies(bot, 111, [reply], pressed_message_id=500)
    edits = bot.session.of_type("EditMessageText")
    sends = bot.session.of_type("SendMessage")
    assert len(edits) == 1 and len(sends) >= 1
    parts = [edits[0].text] + [s.text for s in sends]
    assert all(len(part) <= 4096 for part in parts)
    assert edits[0].reply_markup is None and sends[-1].reply_markup is not None
    assert sum(part.count("Zeile") for part in parts) == 80


async def test_mydata_sends_a_json_file_and_delete_erases(core: Core, person: TelegramUser) -> None:
    import json

    await person.send("/start")
    await person.press("English")
    await person.send("/mydata")
    (document,) = person.bot.session.of_type("SendDocument")
    assert document.chat_id == person.user.id
    assert document.document.filename == "my-data.json"
    exported = json.loads(document.document.data)
    assert exported["person"]["language"] == "en"
    await person.send("/delete")
    await person.press("Yes, delete everything")
    assert "Everything stored about you is deleted" in person.last_screen().text
    async with core.database.transaction() as repo:
        assert await repo.persons.find("telegram", str(person.user.id)) is None
