"""Delivers outbox items to the advisors' Telegram chat; Telegram errors become retries."""

from __future__ import annotations

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter

from bot.core.outbox import Delivered, DeliveryFailed, OutgoingMessage
from bot.telegram.render import NO_PREVIEW
from bot.telegram.split import split_message


class TelegramAdvisorChannel:
    def __init__(self, bot: Bot, chat_id: int | None) -> None:
        self._bot = bot
        self._chat_id = chat_id

    async def deliver(self, message: OutgoingMessage) -> Delivered:
        if self._chat_id is None:
            raise DeliveryFailed("ADVISOR_CHAT_ID is not set; the card stays queued")
        try:
            # A card longer than Telegram's limit goes out in parts; the first one is the card.
            first = None
            for part in split_message(message.text):
                sent = await self._bot.send_message(
                    chat_id=self._chat_id,
                    text=part,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                )
                first = first or sent
        except TelegramRetryAfter as exc:
            raise DeliveryFailed("Telegram asks to slow down", retry_after=exc.retry_after) from exc
        except TelegramNetworkError as exc:
            raise DeliveryFailed(f"network error: {exc.message}") from exc
        except TelegramAPIError as exc:
            # Wrong chat id, bot removed from the group, Telegram 5xx: keep it queued and retry.
            raise DeliveryFailed(f"{type(exc).__name__}: {exc.message}") from exc
        assert first is not None
        return Delivered(chat_id=first.chat.id, message_id=str(first.message_id))
