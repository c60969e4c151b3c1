"""Renders the core's plain replies as Telegram messages, editing the pressed message when asked."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from bot.core.events import Reply
from bot.telegram.callbacks import PressData

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=button.label, callback_data=PressData(action=button.action).pack()
                )
                for button in row
            ]
            for row in reply.buttons
        ]
    )


async def send_replies(
    bot: Bot, chat_id: int, replies: Sequence[Reply], pressed_message_id: int | None = None
) -> None:
    """Sends the replies in order. A reply marked `edit` replaces the pressed message; if Telegram
    refuses the edit (message too old, deleted), it is sent as a new message instead."""
    for reply in replies:
        markup = keyboard(reply)
        if reply.edit and pressed_message_id is not None:
            try:
                await bot.edit_message_text(
                    chat_id=chat_id,
                    message_id=pressed_message_id,
                    text=reply.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                )
                continue
            except TelegramBadRequest as exc:
                if "message is not modified" in exc.message:
                    continue
                log.info("chat %s: edit refused (%s); sending a new message", chat_id, exc.message)
        await bot.send_message(
            chat_id=chat_id,
            text=reply.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=NO_PREVIEW,
        )
