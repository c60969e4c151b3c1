"""Builds the Bot (with its configurable API server) and the Dispatcher with all routers."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

from bot.app import Core
from bot.config import Settings
from bot.core.conversation import COMMANDS
from bot.i18n.catalogs import Catalogs
from bot.i18n.languages import telegram_code
from bot.telegram.routers import buttons, commands, errors, other_content, text

log = logging.getLogger(__name__)


def build_bot(settings: Settings) -> Bot:
    assert settings.telegram.token, "checked by the CLI"
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram.api_base))
    return Bot(
        token=settings.telegram.token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def build_dispatcher(core: Core) -> Dispatcher:
    """Dependencies reach handlers as keyword arguments through the dispatcher's context."""
    dispatcher = Dispatcher(
        service=core.service,
        catalogs=core.catalogs,
        languages=core.settings.languages,
        fallback_language=core.settings.fallback_language,
    )
    for module in (errors, commands, buttons, text, other_content):
        dispatcher.include_router(module.create_router())
    return dispatcher


async def register_commands(
    bot: Bot, catalogs: Catalogs, languages: tuple[str, ...], fallback: str
) -> int:
    """Sets the command menu per language; a failure is logged, never fatal. Returns successes."""
    done = 0
    # Telegram takes ISO 639-1 codes only: Easy German shares German's menu.
    codes = [code for code in languages if telegram_code(code)]
    for code in (None, *codes):
        t = catalogs.get(code or fallback)
        bot_commands = [
            BotCommand(command=name, description=t(f"command.{name}")) for name in COMMANDS
        ]
        try:
            await bot.set_my_commands(
                bot_commands, scope=BotCommandScopeAllPrivateChats(), language_code=code
            )
            done += 1
        except TelegramAPIError as exc:
            log.warning(
                "could not register commands for language %s: %s", code or "default", exc.message
            )
    return done
