"""Security checks across the adapter: forged card buttons, entity tricks in relayed text, and the
bot token, which must never reach a log line, an error message or a traceback."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.methods import EditMessageText
from aiogram.types import MessageEntity
from aiohttp import web

from bot.cli import main
from bot.config import load_settings
from bot.telegram.setup import build_dispatcher
from tests.mocked_bot import BOT_TOKEN, MockedBot
from tests.telegram_updates import group_press_update, message_update, press_update, user
from tests.test_telegram_handoff import AMAL, GROUP, LENA, MALLORY, Setup, make_setup

TOKEN = "123456:" + "Q" * 35
SECRET = "hook-Secret_77"


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Setup]:
    setup = await make_setup(tmp_path)
    yield setup
    await setup.core.close()


async def waiting_lead(s: Setup) -> None:
    for step in ("lang:en", "advisor", "advisor:yes"):
        await s.person(step)
    await s.flush()


async def lead_state(s: Setup) -> tuple[str, int | None]:
    async with s.core.database.transaction() as repo:
        lead = await repo.leads.get(1)
        assert lead is not None
        return lead.handoff, lead.advisor_id


# -- forged card buttons ------------------------------------------------------------------------


async def test_a_card_button_forged_in_a_private_chat_does_nothing(desk: Setup) -> None:
    await waiting_lead(desk)
    for action in ("adv:claim:1", "adv:close:1", "adv:status:1:placed"):
        await desk.dispatcher.feed_update(desk.bot, press_update(action, from_user=AMAL))
    assert await lead_state(desk) == ("waiting", None)
    screens = desk.to(AMAL.id, EditMessageText)[-3:]
    assert len(screens) == 3 and all("older message" in r.text for r in screens)


async def test_a_non_advisor_in_the_group_is_refused_and_audited(desk: Setup) -> None:
    await waiting_lead(desk)
    await desk.advisor_presses("adv:claim:1", who=MALLORY)
    await desk.advisor_presses("adv:close:1", who=MALLORY)
    assert await lead_state(desk) == ("waiting", None)
    async with desk.core.database.transaction() as repo:
        events = [(e.action, e.actor_id) for e in await repo.lead_events.for_lead(1)]
    assert events.count(("refused", MALLORY.id)) == 2
    await desk.advisor_presses("adv:claim:1", who=LENA)  # a member of the chat may
    assert await lead_state(desk) == ("with_advisor", LENA.id)


async def test_buttons_for_a_lead_that_does_not_exist_or_in_another_chat_change_nothing(
    desk: Setup,
) -> None:
    await waiting_lead(desk)
    await desk.advisor_presses("adv:claim:999999999999", who=LENA)
    await desk.advisor_presses("adv:status:1:hacked", who=LENA)
    assert await lead_state(desk) == ("waiting", None)
    # A group that is not the advisors' chat: the advisors' router does not even look.
    other = group_press_update("adv:claim:1", -100555, from_user=LENA, message_id=1)
    await desk.dispatcher.feed_update(desk.bot, other)
    assert await lead_state(desk) == ("waiting", None)


# -- entity tricks ------------------------------------------------------------------------------


async def test_formatting_a_person_sends_is_relayed_as_plain_escaped_text(desk: Setup) -> None:
    await waiting_lead(desk)
    await desk.advisor_presses("adv:claim:1", who=LENA)
    await desk.flush()
    text = 'click <b>here</b> & "win"'
    entities = [
        MessageEntity(type="text_link", offset=0, length=5, url="https://evil.example/"),
        MessageEntity(type="bold", offset=6, length=3),
    ]
    update = message_update(text, from_user=AMAL)
    update.message.__dict__["entities"] = entities  # as Telegram sends them
    await desk.dispatcher.feed_update(desk.bot, update)
    await desk.flush()
    relayed = desk.to(GROUP)[-1].text
    assert "evil.example" not in relayed and "<a" not in relayed
    assert 'click &lt;b&gt;here&lt;/b&gt; &amp; "win"' in relayed


# -- the token ----------------------------------------------------------------------------------


def test_settings_never_show_the_token_or_the_secret() -> None:
    settings = load_settings(environ={"BOT_TOKEN": TOKEN, "WEBHOOK_SECRET": SECRET})
    assert settings.telegram.token == TOKEN
    shown = repr(settings) + str(settings)
    assert TOKEN not in shown and "Q" * 35 not in shown and SECRET not in shown


def _quick_config(tmp_path: Path) -> Path:
    """No NLU model to load and one database attempt: the start-up paths, quickly."""
    path = tmp_path / "config.yml"
    path.write_text(
        f"database:\n  url: sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}\n"
        f"nlu:\n  data_dir: {tmp_path / 'no-nlu-data'}\n"
        "mt:\n  engine: none\n"
    )
    return path


def _assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text and "Q" * 35 not in text


async def _api_answering(status: int, description: str) -> tuple[web.AppRunner, int]:
    async def handle(_request: web.Request) -> web.Response:
        body = {"ok": False, "error_code": status, "description": description}
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", handle)
    runner = web.AppRunner(app, access_log=None)  # the fake server's own log shows the URL
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("api", ["unreachable", "401", "500"])
async def test_start_up_failures_say_what_is_wrong_and_never_show_the_token(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    api: str,
) -> None:
    runner = None
    if api == "unreachable":
        port = _closed_port()
    else:
        description = "Unauthorized" if api == "401" else "Internal Server Error"
        runner, port = await _api_answering(int(api), description)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE", f"http://127.0.0.1:{port}")
    try:
        with caplog.at_level(logging.DEBUG):
            # main() runs its own event loop: give it a thread of its own.
            code = await asyncio.to_thread(main, ["--config", str(_quick_config(tmp_path)), "run"])
    finally:
        if runner is not None:
            await runner.cleanup()
    captured = capsys.readouterr()
    assert code == 2 and "Traceback" not in captured.err
    expected = "refused BOT_TOKEN" if api == "401" else "did not answer at start"
    assert "engagiert: error: " in captured.err and expected in captured.err
    _assert_no_token(caplog.text, captured.out, captured.err)


async def test_the_error_path_of_an_update_never_shows_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    setup = await make_setup(tmp_path)
    try:
        bot = MockedBot()
        dispatcher = build_dispatcher(setup.core, setup.desk)
        bot.session.add_api_error(400, "Bad Request: can't parse entities")
        with caplog.at_level(logging.DEBUG):
            await dispatcher.feed_update(bot, message_update("/start", from_user=user(5)))
    finally:
        await setup.core.close()
    assert "update" in caplog.text and "failed" in caplog.text  # the error was logged ...
    assert BOT_TOKEN not in caplog.text and BOT_TOKEN.split(":")[1] not in caplog.text
