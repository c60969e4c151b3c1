"""Telegram failing under the bot: 5xx, timeouts, 429, "message is not modified" and 403, while
answering a person and while the outbox delivers. Nothing committed is lost, nothing is sent
twice, and the dispatcher keeps handling the next update."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from aiogram import Dispatcher
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import SendMessage

from bot.app import Core
from bot.core.advisor_desk import AdvisorRef, ConfiguredAdvisors
from bot.core.events import Button, Command, PersonRef, Press, Reply
from bot.core.outbox import Outbox
from bot.telegram.delivery import TelegramDelivery
from bot.telegram.respond import respond
from bot.telegram.setup import build_dispatcher
from tests.mocked_bot import MockedBot
from tests.telegram_updates import message_update, press_update, user

ADVISORS = -1001234567890
PERSON = 111


def timeout_error() -> TelegramNetworkError:
    return TelegramNetworkError(
        method=SendMessage(chat_id=PERSON, text="x"), message="Request timeout error"
    )


def sent_to(bot: MockedBot, chat_id: int) -> list[SendMessage]:
    return [r for r in bot.session.of_type("SendMessage") if r.chat_id == chat_id]


@pytest.fixture
def bot() -> MockedBot:
    return MockedBot()


@pytest.fixture
def dispatcher(core: Core) -> Dispatcher:
    return build_dispatcher(core, core.advisor_desk())


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


async def pending(core: Core) -> list[str]:
    async with core.database.transaction() as repo:
        return [item.text for item in await repo.outbox.pending()]


# -- answering a person -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    ["5xx", "timeout", "429"],
)
async def test_a_reply_telegram_fails_to_take_waits_in_the_outbox_and_arrives_once(
    core: Core, dispatcher: Dispatcher, bot: MockedBot, failure: str
) -> None:
    if failure == "5xx":
        bot.session.add_api_error(502, "Bad Gateway")
    elif failure == "timeout":
        bot.session.add_error(timeout_error())
    else:
        bot.session.add_api_error(429, "Too Many Requests: retry after 3", retry_after=3)
    await dispatcher.feed_update(bot, message_update("/start", from_user=user(PERSON)))
    assert len(sent_to(bot, PERSON)) == 1  # the failed try
    (queued,) = await pending(core)
    assert "Freiwilligen-Agentur Leipzig" in queued

    # The conversation went on: the welcome was committed, the language picker is live.
    await dispatcher.feed_update(bot, press_update("lang:en", from_user=user(PERSON)))
    assert "What would you like to do?" in bot.session.of_type("EditMessageText")[-1].text

    outbox = Outbox(core.database, TelegramDelivery(bot, ADVISORS), clock=lambda: later(1))
    assert (await outbox.flush()).sent == 1
    welcome = [r for r in sent_to(bot, PERSON) if "Freiwilligen-Agentur" in r.text]
    assert len(welcome) == 2  # the failed try, then the delivery: the person reads it once
    assert welcome[-1].reply_markup is not None  # with its buttons
    assert await pending(core) == []
    assert (await outbox.flush()).sent == 0


async def test_replies_cut_off_mid_way_queue_only_what_was_not_sent(
    core: Core, bot: MockedBot
) -> None:
    ref = PersonRef("telegram", str(PERSON), "en")
    replies = [
        Reply("first"),
        Reply("second", ((Button("Menu", "menu"),),)),
        Reply("third", edit=True),
    ]
    bot.session.add_result(SendMessage, message_update("first").message)
    bot.session.add_api_error(500, "Internal Server Error")
    await respond(bot, core.service, ref, PERSON, replies, pressed_message_id=500)
    assert [r.text for r in sent_to(bot, PERSON)] == ["first", "second"]
    async with core.database.transaction() as repo:
        queued = await repo.outbox.pending()
        assert [item.text for item in queued] == ["second", "third"]
        assert queued[0].payload["buttons"]  # buttons kept; order kept by the person's key
        assert queued[0].ordering_key == queued[1].ordering_key


async def test_a_person_who_blocked_the_bot_costs_one_log_line(
    core: Core, dispatcher: Dispatcher, bot: MockedBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.session.add_api_error(403, "Forbidden: bot was blocked by the user")
    with caplog.at_level(logging.INFO):
        await dispatcher.feed_update(bot, message_update("/start", from_user=user(PERSON)))
    assert "blocked the bot" in caplog.text
    assert await pending(core) == []  # nothing to retry for someone who cannot receive it
    await dispatcher.feed_update(bot, message_update("/menu", from_user=user(PERSON)))
    assert len(sent_to(bot, PERSON)) == 2  # and the next update is handled as usual


async def test_a_handler_error_is_answered_and_the_dispatcher_goes_on(
    dispatcher: Dispatcher, bot: MockedBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.session.add_api_error(400, "Bad Request: can't parse entities")
    with caplog.at_level(logging.ERROR):
        await dispatcher.feed_update(bot, message_update("/start", from_user=user(PERSON)))
    assert "failed" in caplog.text
    assert "went wrong" in sent_to(bot, PERSON)[-1].text  # a kind word, not silence
    await dispatcher.feed_update(bot, message_update("/start", from_user=user(PERSON)))
    assert "Freiwilligen-Agentur Leipzig" in sent_to(bot, PERSON)[-1].text


async def test_an_edit_that_changes_nothing_is_not_an_error(
    dispatcher: Dispatcher, bot: MockedBot
) -> None:
    await dispatcher.feed_update(bot, message_update("/start", from_user=user(PERSON)))
    bot.session.add_api_error(400, "Bad Request: message is not modified")
    await dispatcher.feed_update(bot, press_update("lang:en", from_user=user(PERSON)))
    assert len(sent_to(bot, PERSON)) == 1  # no new message, no error message
    assert len(bot.session.of_type("AnswerCallbackQuery")) == 1


# -- the outbox ---------------------------------------------------------------------------------


async def lead_with_card(core: Core) -> int:
    ref = PersonRef("telegram", str(PERSON), "en", display_name="Amal")
    for event in ("start", "lang:en", "advisor", "advisor:yes"):
        await core.service.handle(ref, Command(event) if event == "start" else Press(event))
    async with core.database.transaction() as repo:
        person = await repo.persons.find("telegram", str(PERSON))
        assert person is not None and person.active_lead_id is not None
        return person.active_lead_id


@pytest.mark.parametrize("failure", ["5xx", "timeout"])
async def test_outbox_items_survive_5xx_and_timeouts_and_go_out_once(
    core: Core, bot: MockedBot, failure: str
) -> None:
    await lead_with_card(core)
    now = datetime.now(UTC) + timedelta(seconds=1)
    outbox = Outbox(core.database, TelegramDelivery(bot, ADVISORS), clock=lambda: now)
    if failure == "5xx":
        bot.session.add_api_error(503, "Service Unavailable")
    else:
        bot.session.add_error(timeout_error())
    result = await outbox.flush()
    assert (result.sent, result.failed) == (0, 1)  # the lead's first item; the card waits for it
    async with core.database.transaction() as repo:
        first, card = await repo.outbox.pending()
        assert first.attempts == 1 and first.last_error and card.attempts == 0
        waits = first.next_attempt_at.replace(tzinfo=UTC) - now
        assert timedelta(seconds=4) <= waits <= timedelta(seconds=6)  # first backoff: 5 s
    assert (await outbox.flush()).sent == 0  # backing off, not hammering Telegram
    now += timedelta(seconds=6)
    assert (await outbox.flush()).sent == 2
    cards = [r for r in sent_to(bot, ADVISORS) if "Neue Anfrage" in r.text]
    assert len(cards) == 1  # never lost, never twice
    assert await pending(core) == []


async def test_a_card_edit_that_changes_nothing_counts_as_delivered(
    core: Core, bot: MockedBot
) -> None:
    lead_id = await lead_with_card(core)
    outbox = Outbox(core.database, TelegramDelivery(bot, ADVISORS), clock=lambda: later(1))
    await outbox.flush()
    desk = core.advisor_desk(ConfiguredAdvisors(frozenset({9})))
    assert (await desk.claim(AdvisorRef(9, "Lena"), lead_id)).ok
    bot.session.requests.clear()
    bot.session.add_api_error(400, "Bad Request: message is not modified")
    result = await outbox.flush()
    assert result.failed == 0 and result.sent >= 1
    assert len(bot.session.of_type("EditMessageText")) == 1
    assert not [r for r in sent_to(bot, ADVISORS) if "Neue Anfrage" in r.text]  # not re-posted
    assert await pending(core) == []


# -- graceful shutdown --------------------------------------------------------------------------


async def test_shutdown_waits_for_updates_in_flight(core: Core, bot: MockedBot) -> None:
    """SIGTERM while a person's update is being handled: the update finishes (its turn commits,
    its reply goes out) before the bot stops; a stuck one is given up after the timeout."""
    import asyncio

    from bot.telegram.middlewares import InFlightUpdates

    dispatcher = build_dispatcher(core, core.advisor_desk())
    in_flight = InFlightUpdates()
    dispatcher.update.outer_middleware(in_flight)
    release = asyncio.Event()
    original = core.service.handle

    async def slow_handle(ref, event):  # type: ignore[no-untyped-def]
        await release.wait()  # the database or Telegram being slow
        return await original(ref, event)

    core.service.handle = slow_handle  # type: ignore[method-assign]
    update = asyncio.create_task(
        dispatcher.feed_update(bot, message_update("/start", from_user=user(PERSON)))
    )
    while in_flight.count == 0:
        await asyncio.sleep(0.01)
    assert await in_flight.drain(timeout=0.05) is False  # still running: not given up silently
    drained = asyncio.create_task(in_flight.drain(timeout=5))
    await asyncio.sleep(0.05)
    assert not drained.done()
    release.set()
    assert await drained is True
    await update
    assert "Freiwilligen-Agentur Leipzig" in sent_to(bot, PERSON)[-1].text
    assert in_flight.count == 0 and await in_flight.drain(timeout=0) is True


async def test_a_turn_that_loses_the_database_midway_is_run_again_whole(
    core, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The first attempt fails after it changed things; the rollback undoes them, the second
    attempt does the turn once: one lead, not two, and the person gets their answer."""
    from bot.core.events import Command, PersonRef, Press
    from bot.core.handoff import Handoff

    monkeypatch.setattr("bot.core.conversation.TURN_RETRY_SECONDS", 0.01)
    ref = PersonRef("test", "flaky", "en")
    await core.service.handle(ref, Command("start"))
    await core.service.handle(ref, Press("lang:en"))
    await core.service.handle(ref, Press("advisor"))
    real_open = Handoff.open
    failures = []

    async def open_then_lose_the_connection(self, lead, person):  # type: ignore[no-untyped-def]
        await real_open(self, lead, person)
        if not failures:
            failures.append(lead.id)
            raise ConnectionResetError("server closed the connection unexpectedly")

    monkeypatch.setattr(Handoff, "open", open_then_lose_the_connection)
    replies = await core.service.handle(ref, Press("advisor:yes"))
    assert failures and "Your request has the number" in replies[0].text
    async with core.database.transaction() as repo:
        assert len(await repo.leads.open()) == 1
        cards = [i for i in await repo.outbox.all() if i.kind == "lead_card"]
        assert len(cards) == 1


async def test_a_programming_error_is_not_retried(core, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from bot.core.events import Command, PersonRef

    calls = []

    async def broken(self):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise KeyError("bug")

    monkeypatch.setattr("bot.core.conversation._Turn.run", broken)
    with pytest.raises(KeyError):
        await core.service.handle(PersonRef("test", "bug", "en"), Command("start"))
    assert calls == [1]
