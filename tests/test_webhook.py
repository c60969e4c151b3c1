"""The webhook server: Telegram's secret header is required; updates handled before replying."""

from __future__ import annotations

import json

import pytest
from aiogram.methods import SendMessage
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Core
from bot.telegram.runner import build_webhook_app
from bot.telegram.setup import build_dispatcher
from tests.mocked_bot import MockedBot
from tests.telegram_updates import message_update

SECRET = "s3cret-Token_42"
PATH = "/telegram/webhook"


@pytest.fixture
async def client(core: Core):
    bot = MockedBot()
    app = build_webhook_app(
        build_dispatcher(core, core.advisor_desk()), bot, secret=SECRET, path=PATH
    )
    async with TestClient(TestServer(app)) as client:
        client.bot = bot  # type: ignore[attr-defined]
        yield client


def _body() -> str:
    return message_update("/start").model_dump_json(exclude_none=True)


async def test_update_with_the_right_secret_is_handled(client) -> None:
    response = await client.post(
        PATH,
        data=_body(),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    )
    assert response.status == 200
    sent = [r for r in client.bot.session.requests if isinstance(r, SendMessage)]
    assert len(sent) == 1 and "Freiwilligen-Agentur Leipzig" in sent[0].text


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": ""}],
)
async def test_update_without_the_right_secret_is_rejected(client, headers) -> None:
    response = await client.post(
        PATH, data=_body(), headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status == 401
    assert client.bot.session.requests == []


async def test_other_paths_are_not_served(client) -> None:
    response = await client.post(
        "/", data=json.dumps({}), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
    )
    assert response.status in (404, 405)


@pytest.mark.parametrize("webhook", [True, False])
async def test_a_passing_database_failure_is_redelivered_in_webhook_mode(
    core: Core, monkeypatch: pytest.MonkeyPatch, webhook: bool
) -> None:
    """The turn rolled back: in webhook mode Telegram gets an error and sends the update again;
    in polling mode (no redelivery) the person is asked to try again."""
    calls = 0
    real_handle = core.service.handle

    async def flaky_handle(ref, event):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionRefusedError("database restarting")
        return await real_handle(ref, event)

    monkeypatch.setattr(core.service, "handle", flaky_handle)
    bot = MockedBot()
    dispatcher = build_dispatcher(core, core.advisor_desk(), redeliver_on_failure=webhook)
    app = build_webhook_app(dispatcher, bot, secret=SECRET, path=PATH)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    body = _body()
    async with TestClient(TestServer(app)) as client:
        first = await client.post(PATH, data=body, headers=headers)
        if webhook:
            assert first.status >= 500  # Telegram retries it ...
            again = await client.post(PATH, data=body, headers=headers)
            assert again.status == 200  # ... and the second delivery is answered
            sent = [r for r in bot.session.requests if isinstance(r, SendMessage)]
            assert len(sent) == 1 and "Freiwilligen-Agentur Leipzig" in sent[0].text
        else:
            assert first.status == 200
            sent = [r for r in bot.session.requests if isinstance(r, SendMessage)]
            assert len(sent) == 1 and "something went wrong" in sent[0].text
