"""Dispatcher middlewares: the per-person rate limit, checked before any handler runs, and the
count of updates in flight, which a graceful shutdown waits for.

The rate limit is registered as an outer middleware (`register_rate_limit`), so a flood costs one
counter update per update and never reaches the core or the database. Only private chats are
counted: the advisors' group is the team's own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.core.rate_limit import RateLimiter, Verdict
from bot.i18n.catalogs import Catalogs
from bot.i18n.languages import pick_language

log = logging.getLogger(__name__)

NOTICE_KEY = "rate_limit.notice"
ALERT_LIMIT = 200  # Telegram's limit for the text of a callback answer

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def rate_limit_key(user_id: int) -> str:
    return f"telegram:{user_id}"


class RateLimitMiddleware(BaseMiddleware):
    """Lets a person's update through while they are within the limit. The first refused update
    of a window gets one notice in the person's Telegram language (a message, or an alert on the
    pressed button); the rest are dropped, a pressed button's spinner still stopped."""

    def __init__(
        self,
        limiter: RateLimiter,
        catalogs: Catalogs,
        languages: tuple[str, ...],
        fallback_language: str,
    ) -> None:
        self.limiter = limiter
        self.catalogs = catalogs
        self.languages = languages
        self.fallback_language = fallback_language

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = _person(event)
        if user is None:
            return await handler(event, data)
        verdict = await self.limiter.hit(rate_limit_key(user.id))
        if verdict.allowed:
            return await handler(event, data)
        log.info("a person is over the rate limit (%s)", verdict.value)  # no Telegram ids
        notice = self._notice(user) if verdict is Verdict.NOTIFY else None
        try:
            await _refuse(event, notice)
        except TelegramAPIError as exc:  # the notice is a courtesy; its failure changes nothing
            log.warning("rate-limit notice not sent (%s)", exc.message)
        return None

    def _notice(self, user: User) -> str:
        lang = pick_language(user.language_code, self.languages, self.fallback_language)
        return self.catalogs.get(lang)(NOTICE_KEY)


def _person(event: TelegramObject) -> User | None:
    """The sender when the update comes from a person's private chat, else None."""
    if isinstance(event, Message):
        private = event.chat.type == ChatType.PRIVATE
        user = event.from_user
    elif isinstance(event, CallbackQuery):
        private = event.message is not None and event.message.chat.type == ChatType.PRIVATE
        user = event.from_user
    else:
        return None
    if not private or user is None or user.is_bot:
        return None
    return user


async def _refuse(event: TelegramObject, notice: str | None) -> None:
    if isinstance(event, CallbackQuery):
        if notice is None:
            await event.answer()
        else:
            await event.answer(text=notice[:ALERT_LIMIT], show_alert=True)
    elif isinstance(event, Message) and notice is not None:
        await event.answer(notice)


def register_rate_limit(dispatcher: Dispatcher, middleware: RateLimitMiddleware) -> None:
    """Counts typed messages and button presses alike: both cost the bot an answer."""
    dispatcher.message.outer_middleware(middleware)
    dispatcher.callback_query.outer_middleware(middleware)


class InFlightUpdates(BaseMiddleware):
    """Counts the updates being handled, so that on SIGTERM the bot can let them finish (their
    transaction commits and their replies go out or into the outbox) before it stops. Register
    with `dispatcher.update.outer_middleware(...)`; await `drain()` in the shutdown hook."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Waits until no update is being handled; False (and a warning) after `timeout`."""
        if self._idle.is_set():
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("shutdown: %d update(s) still running after %.0f s", self._count, timeout)
            return False
        return True
