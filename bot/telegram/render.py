"""Renders the core's plain replies as Telegram messages, editing the pressed message when asked."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
)

from bot.core.events import Button, Reply
from bot.telegram.callbacks import PressData
from bot.telegram.split import split_message

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def markup_for(buttons: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=button.label, callback_data=PressData(action=button.action).pack()
                )
                for button in row
            ]
            for row in buttons
        ]
    )


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    return markup_for(reply.buttons)


class RepliesInterrupted(Exception):
    """Telegram failed while sending; `remaining` are the replies not (completely) sent."""

    def __init__(self, remaining: Sequence[Reply], cause: TelegramAPIError) -> None:
        super().__init__(str(cause))
        self.remaining = list(remaining)
        self.cause = cause


async def send_replies(
    bot: Bot, chat_id: int, replies: Sequence[Reply], pressed_message_id: int | None = None
) -> None:
    """Sends the replies in order. A reply marked `edit` replaces the pressed message; if Telegram
    refuses the edit (message too old, deleted), it is sent as a new message instead. A text
    over Telegram's limit goes out in parts, the buttons under the last one."""
    for index, reply in enumerate(replies):
        try:
            await _send_reply(bot, chat_id, reply, pressed_message_id)
        except TelegramBadRequest:
            raise  # our own mistake (bad HTML...): retrying cannot help, the error handler logs it
        except TelegramAPIError as exc:
            # A reply cut mid-way is sent again whole, as a new message.
            remaining = [replace(r, edit=False) for r in replies[index:]]
            raise RepliesInterrupted(remaining, exc) from exc


async def _send_reply(bot: Bot, chat_id: int, reply: Reply, pressed_message_id: int | None) -> None:
    parts = split_message(reply.text)
    markup = keyboard(reply)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        editable = index == 0 and reply.edit and pressed_message_id is not None
        if editable and await _edit(
            bot, chat_id, pressed_message_id, part, markup if last else None
        ):
            continue
        await bot.send_message(
            chat_id=chat_id,
            text=part,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if last else None,
            link_preview_options=NO_PREVIEW,
        )
    if reply.attachment is not None:
        attachment = reply.attachment
        await bot.send_document(
            chat_id=chat_id,
            document=BufferedInputFile(attachment.data, filename=attachment.filename),
            caption=attachment.caption or None,
        )


async def _edit(
    bot: Bot, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> bool:
    """True when the message now shows `text` (edited, or it already did)."""
    try:
        await bot.edit_message_text(
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=NO_PREVIEW,
        )
        return True
    except TelegramBadRequest as exc:
        if "message is not modified" in exc.message:
            return True
        log.info("edit refused (%s); sending a new message", exc.message)
        return False
