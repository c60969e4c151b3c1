"""`engagiert run` as a real process against a fake Bot API server on loopback (TELEGRAM_API_BASE):
long polling answers /start, and a lead queued while no advisors' chat was reachable goes out."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import open_core
from bot.core.events import Command, PersonRef, Press
from tests.conftest import make_settings

TOKEN = "123456:" + "T" * 35
ADVISORS = -100777


class FakeBotApi:
    """Answers the few Bot API methods the bot uses and records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._updates_served = False
        self.changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = dict(await request.post())
        self.calls.append((method, params))
        self.changed.set()
        if method == "getMe":
            result: Any = {"id": 42, "is_bot": True, "first_name": "Engagiert", "username": "t_bot"}
        elif method == "getUpdates":
            result = [] if self._updates_served else [_start_update()]
            if self._updates_served:
                await asyncio.sleep(0.2)
            self._updates_served = True
        elif method == "sendMessage":
            chat_id = int(str(params["chat_id"]))
            result = {
                "message_id": len(self.calls),
                "date": 0,
                "text": params.get("text"),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            }
        elif method == "getChat":  # the advisors' group, without forum topics
            gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
            result = {
                "id": int(str(params["chat_id"])),
                "type": "supergroup",
                "title": "Beratung",
                "accent_color_id": 0,
                "max_reaction_count": 0,
                "accepted_gift_types": dict.fromkeys((*gifts, "gifts_from_channels"), False),
            }
        else:
            result = True
        return web.json_response({"ok": True, "result": result})

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [
            p for m, p in self.calls if m == "sendMessage" and int(str(p["chat_id"])) == chat_id
        ]


async def start_fake_api() -> tuple[FakeBotApi, web.AppRunner, int]:
    """Serves a FakeBotApi on a free loopback port; the caller cleans the runner up."""
    api = FakeBotApi()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", api.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return api, runner, port


def _start_update() -> dict[str, Any]:
    user = {"id": 555, "is_bot": False, "first_name": "Olena", "language_code": "uk"}
    return {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 555, "type": "private"},
            "from": user,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def _wait_for(api: FakeBotApi, condition, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    async def loop() -> None:
        while not condition():
            api.changed.clear()
            await api.changed.wait()

    await asyncio.wait_for(loop(), timeout)


async def test_polling_process_answers_and_delivers_queued_leads(tmp_path: Path) -> None:
    # A lead created while the bot was down: stored with its card, not yet delivered.
    settings = make_settings(tmp_path)
    core = await open_core(settings)
    ref = PersonRef("telegram", "999", "en", display_name="Sami")
    await core.service.handle(ref, Command("start"))
    await core.service.handle(ref, Press("advisor"))
    await core.service.handle(ref, Press("advisor:yes"))
    await core.close()

    api, runner, port = await start_fake_api()

    env = {k: v for k, v in os.environ.items() if k != "WEBHOOK_URL"}
    env |= {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": f"http://127.0.0.1:{port}",
        "DATABASE_URL": settings.database_url,
        "ADVISOR_CHAT_ID": str(ADVISORS),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _wait_for(api, lambda: api.sent_to(555) and api.sent_to(ADVISORS))
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        await runner.cleanup()

    welcome = api.sent_to(555)[0]
    assert "Freiwilligen-Agentur Leipzig" in str(welcome["text"])
    keyboard = json.loads(str(welcome["reply_markup"]))["inline_keyboard"]
    # Telegram says the person uses Ukrainian: it is preselected.
    labels = [b["text"] for row in keyboard for b in row]
    assert [label for label in labels if label.startswith("✓")] == ["✓ Українська"]
    (card,) = api.sent_to(ADVISORS)
    assert "Neue Anfrage #1" in str(card["text"]) and "Beratungswunsch" in str(card["text"])
    registered = [
        p.get("language_code")
        for m, p in api.calls
        if m == "setMyCommands" and "chat_id" not in str(p.get("scope"))
    ]
    # Every language Telegram has a code for (easy German shares German's menu).
    assert sorted(map(str, registered)) == sorted(
        ["None", "de", "en", "ar", "fa", "uk", "ru", "tr", "fr", "es", "ps", "ku", "ti"]
    )
    # ... and the advisors' commands, in their chat only.
    (advisors,) = [
        p for m, p in api.calls if m == "setMyCommands" and "chat_id" in str(p.get("scope"))
    ]
    assert "/leads" not in str(advisors["commands"]) and '"leads"' in str(advisors["commands"])
    assert process.returncode == 0, err.decode()
    assert TOKEN not in err.decode()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_webhook_process_sets_the_webhook_and_checks_the_secret(tmp_path: Path) -> None:
    import aiohttp

    api, runner, api_port = await start_fake_api()
    hook_port = _free_port()
    secret = "hook-Secret_1"
    env = dict(os.environ) | {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": f"http://127.0.0.1:{api_port}",
        "DATABASE_URL": make_settings(tmp_path).database_url,
        "WEBHOOK_URL": "https://bot.example.org/telegram/webhook",
        "WEBHOOK_SECRET": secret,
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(hook_port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--webhook",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{hook_port}/telegram/webhook"
    try:
        await _wait_for(api, lambda: any(m == "setWebhook" for m, _ in api.calls))
        (hook,) = [p for m, p in api.calls if m == "setWebhook"]
        assert hook["url"] == "https://bot.example.org/telegram/webhook"
        assert hook["secret_token"] == secret
        async with aiohttp.ClientSession() as http:
            for headers, expected in (
                ({}, 401),
                ({"X-Telegram-Bot-Api-Secret-Token": "nope"}, 401),
                ({"X-Telegram-Bot-Api-Secret-Token": secret}, 200),
            ):
                async with http.post(url, json=_start_update(), headers=headers) as response:
                    assert response.status == expected
        assert len(api.sent_to(555)) == 1  # only the request with the secret was handled
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        await runner.cleanup()
    assert process.returncode == 0, err.decode()
