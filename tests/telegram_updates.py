"""Builders of Telegram updates as the Bot API sends them, for feeding the Dispatcher."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from aiogram.types import CallbackQuery, Chat, Message, MessageEntity, PhotoSize, Update, User

from bot.telegram.callbacks import PressData

_ids = itertools.count(1)
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def user(user_id: int = 111, language_code: str | None = "en", first_name: str = "Amal") -> User:
    return User(
        id=user_id,
        is_bot=False,
        first_name=first_name,
        language_code=language_code,
        username="amal_l",
    )


def private_chat(user_id: int = 111) -> Chat:
    return Chat(id=user_id, type="private")


def message_update(
    text: str | None = None,
    *,
    from_user: User | None = None,
    chat: Chat | None = None,
    **content: Any,
) -> Update:
    sender = from_user or user()
    entities = None
    if text and text.startswith("/"):
        entities = [MessageEntity(type="bot_command", offset=0, length=len(text.split()[0]))]
    message = Message(
        message_id=next(_ids),
        date=NOW,
        chat=chat or private_chat(sender.id),
        from_user=sender,
        text=text,
        entities=entities,
        **content,
    )
    return Update(update_id=next(_ids), message=message)


def photo_update(from_user: User | None = None) -> Update:
    return message_update(
        None,
        from_user=from_user,
        photo=[PhotoSize(file_id="f", file_unique_id="u", width=10, height=10)],
    )


def press_update(
    action: str | None = None,
    *,
    raw_data: str | None = None,
    from_user: User | None = None,
    message_id: int = 500,
) -> Update:
    sender = from_user or user()
    data = raw_data if raw_data is not None else PressData(action=action or "").pack()
    message = Message(
        message_id=message_id, date=NOW, chat=private_chat(sender.id), text="(previous message)"
    )
    query = CallbackQuery(
        id=str(next(_ids)), from_user=sender, chat_instance="ci", message=message, data=data
    )
    return Update(update_id=next(_ids), callback_query=query)
