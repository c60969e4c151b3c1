"""Builds the Bot (with its configurable API server) and the Dispatcher with all routers."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat

from bot.app import Core
from bot.config import Settings
from bot.core.advisor_desk import AdvisorDesk
from bot.core.conversation import COMMANDS
from bot.core.rate_limit import RateLimiter
from bot.i18n.catalogs import Catalogs
from bot.i18n.languages import telegram_code
from bot.telegram.middlewares import InFlightUpdates, RateLimitMiddleware, register_rate_limit
from bot.telegram.routers import advisors, buttons, commands, errors, other_content, text

log = logging.getLogger(__name__)


def build_bot(settings: Settings) -> Bot:
    assert settings.telegram.token, "checked by the CLI"
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram.api_base))
    return Bot(
        token=settings.telegram.token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def build_dispatcher(
    core: Core,
    advisor_desk: AdvisorDesk,
    *,
    limiter: RateLimiter | None = None,
    in_flight: InFlightUpdates | None = None,
    redeliver_on_failure: bool = False,
) -> Dispatcher:
    """Dependencies reach handlers as keyword arguments through the dispatcher's context.
    `redeliver_on_failure` (webhook mode): an update whose turn failed for a passing database
    problem is answered with an error, so Telegram sends it again."""
    dispatcher = Dispatcher(
        service=core.service,
        advisor_desk=advisor_desk,
        catalogs=core.catalogs,
        languages=core.settings.languages,
        fallback_language=core.settings.fallback_language,
        redeliver_on_failure=redeliver_on_failure,
    )
    if in_flight is not None:
        dispatcher.update.outer_middleware(in_flight)
    if limiter is not None:
        settings = core.settings
        register_rate_limit(
            dispatcher,
            RateLimitMiddleware(
                limiter, core.catalogs, settings.languages, settings.fallback_language
            ),
        )
    dispatcher.include_router(errors.create_router())
    dispatcher.include_router(advisors.create_router(core.settings.telegram.advisor_chat_id))
    for module in (commands, buttons, text, other_content):
        dispatcher.include_router(module.create_router())
    return dispatcher


async def register_advisor_commands(bot: Bot, catalogs: Catalogs, chat_id: int | None) -> bool:
    """The advisors' commands, in German, shown only in the advisors' chat."""
    if chat_id is None:
        return False
    t = catalogs.get("de")
    bot_commands = [
        BotCommand(command=name, description=t(f"desk.command.{name}"))
        for name in advisors.ADVISOR_COMMANDS
    ]
    try:
        await bot.set_my_commands(bot_commands, scope=BotCommandScopeChat(chat_id=chat_id))
    except TelegramAPIError as exc:
        log.warning("could not register the advisors' commands: %s", exc.message)
        return False
    return True


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
