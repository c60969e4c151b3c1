"""Inline button presses: the pressed message is edited in place with the core's answer."""

from aiogram import Bot, Router
from aiogram.types import CallbackQuery

from bot.core.conversation import ConversationService
from bot.core.events import Press
from bot.telegram.callbacks import PressData
from bot.telegram.people import person_ref
from bot.telegram.respond import respond
from bot.telegram.routers.private import PRIVATE_CALLBACK


async def on_press(
    query: CallbackQuery, callback_data: PressData, service: ConversationService, bot: Bot
) -> None:
    await _handle(query, callback_data.action, service, bot)


async def on_foreign_button(query: CallbackQuery, service: ConversationService, bot: Bot) -> None:
    """Data the bot never made (old buttons, or forged): the core shows where we are."""
    await _handle(query, "", service, bot)


async def _handle(
    query: CallbackQuery, action: str, service: ConversationService, bot: Bot
) -> None:
    try:
        ref = person_ref(query.from_user)
        replies = await service.handle(ref, Press(action))
        message = query.message
        chat_id = message.chat.id if message else query.from_user.id
        await respond(bot, service, ref, chat_id, replies, message.message_id if message else None)
    finally:
        # Stops the button's spinner even if something above failed.
        await query.answer()


def create_router() -> Router:
    router = Router(name="buttons")
    router.callback_query.filter(PRIVATE_CALLBACK)
    router.callback_query.register(on_press, PressData.filter())
    router.callback_query.register(on_foreign_button)
    return router
