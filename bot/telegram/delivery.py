"""Delivers outbox items through the Bot API: to the advisors' chat (topics, cards, relays) and
to persons. Telegram's errors become the outbox's retry decisions.

- 429: retry after Telegram's `retry_after`; network errors and 5xx: back off and retry.
- 403 from a person (they blocked the bot): permanent, the core marks them unreachable.
- 403/400 from the advisors' chat (bot removed, wrong id): retried, so no lead is lost while an
  operator fixes it.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import Message, ReplyParameters

from bot.core.handoff import buttons_from_payload
from bot.core.outbox import PERSON, Delivered, DeliveryFailed, Kind, LeadThread, OutgoingMessage
from bot.telegram.render import NO_PREVIEW, markup_for
from bot.telegram.split import split_message

log = logging.getLogger(__name__)

CHANNEL = "telegram"
TOPIC_NAME_LIMIT = 128


class TelegramDelivery:
    name = CHANNEL

    def __init__(self, bot: Bot, advisor_chat_id: int | None) -> None:
        self._bot = bot
        self._chat_id = advisor_chat_id
        self._is_forum: bool | None = None

    async def deliver(self, message: OutgoingMessage) -> Delivered:
        try:
            if message.destination == PERSON:
                return await self._to_person(message)
            return await self._to_advisors(message)
        except TelegramRetryAfter as exc:
            raise DeliveryFailed("Telegram asks to slow down", retry_after=exc.retry_after) from exc
        except TelegramForbiddenError as exc:
            permanent = message.destination == PERSON
            raise DeliveryFailed(f"forbidden: {exc.message}", permanent=permanent) from exc
        except TelegramNetworkError as exc:
            raise DeliveryFailed(f"network error: {exc.message}") from exc
        except TelegramAPIError as exc:
            # Wrong chat id, Telegram 5xx and the like: keep it queued and retry.
            raise DeliveryFailed(f"{type(exc).__name__}: {exc.message}") from exc

    # -- persons ------------------------------------------------------------------------------
    async def _to_person(self, message: OutgoingMessage) -> Delivered:
        if message.address is None or not message.address.lstrip("-").isdigit():
            log.info("outbox item %s: the person no longer exists; dropped", message.id)
            return Delivered()
        chat_id = int(message.address)
        if message.kind == Kind.COPY:
            await self._send(chat_id, message.text, None)
            copied = await self._copy(chat_id, message.payload, None)
            return Delivered(chat_id=chat_id, message_id=str(copied))
        if not message.text:  # a relay whose text was erased before it went out
            return Delivered()
        sent = await self._send(chat_id, message.text, message.payload)
        return Delivered(chat_id=chat_id, message_id=str(sent.message_id))

    # -- advisors -----------------------------------------------------------------------------
    async def _to_advisors(self, message: OutgoingMessage) -> Delivered:
        if self._chat_id is None:
            raise DeliveryFailed("ADVISOR_CHAT_ID is not set; the message stays queued")
        chat_id = self._chat_id
        thread = message.thread
        if message.kind == Kind.OPEN_TOPIC:
            if not await self._forum(chat_id):
                return Delivered(chat_id=chat_id)
            topic = await self._bot.create_forum_topic(
                chat_id=chat_id, name=message.text[:TOPIC_NAME_LIMIT]
            )
            return Delivered(chat_id=chat_id, topic_id=topic.message_thread_id)
        if message.kind == Kind.LEAD_CARD:
            sent = await self._send(chat_id, message.text, message.payload, _in_topic(thread))
            return Delivered(chat_id=chat_id, message_id=str(sent.message_id))
        if message.kind == Kind.CARD_EDIT:
            return await self._edit_card(chat_id, message)
        if not message.text and message.kind == Kind.RELAY:
            return Delivered()
        where = _in_thread(thread)
        if message.kind == Kind.COPY:
            await self._send(chat_id, message.text, None, where)
            copied = await self._copy(chat_id, message.payload, where)
            return Delivered(chat_id=chat_id, message_id=str(copied))
        sent = await self._send(chat_id, message.text, message.payload, where)
        return Delivered(chat_id=chat_id, message_id=str(sent.message_id))

    async def _edit_card(self, chat_id: int, message: OutgoingMessage) -> Delivered:
        """Edits the card; a card that is gone (deleted by someone) is posted again."""
        thread = message.thread
        text = split_message(message.text)[0]
        markup = markup_for(buttons_from_payload(message.payload))
        if thread is not None and thread.card_message_id is not None:
            try:
                await self._bot.edit_message_text(
                    chat_id=thread.card_chat_id or chat_id,
                    message_id=thread.card_message_id,
                    text=text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                )
                return Delivered(chat_id=thread.card_chat_id or chat_id)
            except TelegramBadRequest as exc:
                if "message is not modified" in exc.message:
                    return Delivered(chat_id=thread.card_chat_id or chat_id)
                log.info("lead %s: card not editable (%s); posting it again", thread.lead_id, exc)
        sent = await self._send(chat_id, message.text, message.payload, _in_topic(thread))
        return Delivered(chat_id=chat_id, message_id=str(sent.message_id))

    async def _forum(self, chat_id: int) -> bool:
        if self._is_forum is None:
            chat = await self._bot.get_chat(chat_id)
            self._is_forum = bool(chat.is_forum)
        return self._is_forum

    # -- sending ------------------------------------------------------------------------------
    async def _send(
        self,
        chat_id: int,
        text: str,
        payload: dict[str, Any] | None,
        where: dict[str, Any] | None = None,
    ) -> Message:
        """Sends `text` in parts if needed, the buttons under the last; returns the first part."""
        markup = markup_for(buttons_from_payload(payload or {}))
        parts = split_message(text) or [""]
        first: Message | None = None
        for index, part in enumerate(parts):
            sent = await self._bot.send_message(
                chat_id=chat_id,
                text=part,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if index == len(parts) - 1 else None,
                link_preview_options=NO_PREVIEW,
                **(where or {}),
            )
            first = first or sent
        assert first is not None
        return first

    async def _copy(
        self, chat_id: int, payload: dict[str, Any], where: dict[str, Any] | None
    ) -> int:
        source = payload.get("source") or {}
        copied = await self._bot.copy_message(
            chat_id=chat_id,
            from_chat_id=int(source["chat_id"]),
            message_id=int(source["message_id"]),
            **(where or {}),
        )
        return copied.message_id


def _in_topic(thread: LeadThread | None) -> dict[str, Any]:
    return {"message_thread_id": thread.topic_id} if thread and thread.topic_id else {}


def _in_thread(thread: LeadThread | None) -> dict[str, Any]:
    """In the lead's topic, or as a reply to its card where the chat has no topics."""
    if thread is None:
        return {}
    if thread.topic_id:
        return {"message_thread_id": thread.topic_id}
    if thread.card_message_id:
        return {
            "reply_parameters": ReplyParameters(
                message_id=thread.card_message_id, allow_sending_without_reply=True
            )
        }
    return {}
