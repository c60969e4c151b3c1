"""Answers a person's update; if Telegram fails mid-way, the rest waits in the outbox.

The core has already committed the turn, so its replies must not vanish with a 429, a 5xx or a
network error: whatever was not sent is queued for the person and delivered by the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError

from bot.core.conversation import ConversationService
from bot.core.events import PersonRef, Reply
from bot.telegram.render import RepliesInterrupted, send_replies

log = logging.getLogger(__name__)


async def respond(
    bot: Bot,
    service: ConversationService,
    ref: PersonRef,
    chat_id: int,
    replies: Sequence[Reply],
    pressed_message_id: int | None = None,
) -> None:
    try:
        await send_replies(bot, chat_id, replies, pressed_message_id)
    except RepliesInterrupted as exc:
        if isinstance(exc.cause, TelegramForbiddenError):
            log.info("a person blocked the bot; the replies to their message are dropped")
            return
        # Telegram ids stay out of the logs; the core logs persons by internal id.
        log.warning(
            "%d repl(ies) not sent (%s); queued in the outbox",
            len(exc.remaining),
            type(exc.cause).__name__,
        )
        await service.queue_replies(ref, exc.remaining)
