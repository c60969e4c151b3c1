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


def group_chat(chat_id: int, *, forum: bool = False) -> Chat:
    return Chat(id=chat_id, type="supergroup", title="Beratung", is_forum=forum or None)


def group_message_update(
    text: str | None,
    chat_id: int,
    *,
    from_user: User,
    topic_id: int | None = None,
    reply_to: int | None = None,
    forum: bool = False,
    **content: Any,
) -> Update:
    """A message in the advisors' group: in a forum topic, or replying to a message there."""
    chat = group_chat(chat_id, forum=forum)
    entities = None
    if text and text.startswith("/"):
        entities = [MessageEntity(type="bot_command", offset=0, length=len(text.split()[0]))]
    replied = None
    if reply_to is not None:
        replied = Message(message_id=reply_to, date=NOW, chat=chat, text="(card)")
    message = Message(
        message_id=next(_ids),
        date=NOW,
        chat=chat,
        from_user=from_user,
        text=text,
        entities=entities,
        message_thread_id=topic_id,
        is_topic_message=True if topic_id is not None else None,
        reply_to_message=replied,
        **content,
    )
    return Update(update_id=next(_ids), message=message)


def group_press_update(action: str, chat_id: int, *, from_user: User, message_id: int) -> Update:
    """A press on a button of a message in the advisors' group (the lead card)."""
    message = Message(message_id=message_id, date=NOW, chat=group_chat(chat_id), text="(card)")
    query = CallbackQuery(
        id=str(next(_ids)),
        from_user=from_user,
        chat_instance="group",
        message=message,
        data=PressData(action=action).pack(),
    )
    return Update(update_id=next(_ids), callback_query=query)
