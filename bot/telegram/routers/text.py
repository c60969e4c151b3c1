"""Typed text in private chats: an answer to the open question, or a hint towards the buttons."""

from aiogram import Bot, F, Router
from aiogram.types import Message

from bot.core.conversation import ConversationService
from bot.core.events import Text
from bot.telegram.people import person_ref
from bot.telegram.respond import respond
from bot.telegram.routers.private import PRIVATE_MESSAGE


async def on_text(message: Message, service: ConversationService, bot: Bot) -> None:
    assert message.from_user is not None and message.text is not None
    ref = person_ref(message.from_user)
    replies = await service.handle(ref, Text(message.text))
    await respond(bot, service, ref, message.chat.id, replies)


def create_router() -> Router:
    router = Router(name="text")
    router.message.filter(PRIVATE_MESSAGE, F.from_user)
    router.message.register(on_text, F.text)
    return router
