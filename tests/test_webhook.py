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
