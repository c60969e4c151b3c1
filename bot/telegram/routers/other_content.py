"""Photos, stickers, voice notes, locations and everything else: a friendly word, never an error
(or, while an advisor is with the person, a copy for the advisor)."""

from aiogram import Bot, F, Router
from aiogram.types import Message

from bot.core.conversation import ConversationService
from bot.core.events import Unsupported
from bot.telegram.people import content_kind, person_ref
from bot.telegram.respond import respond
from bot.telegram.routers.private import PRIVATE_MESSAGE


async def on_other_content(message: Message, service: ConversationService, bot: Bot) -> None:
    assert message.from_user is not None
    ref = person_ref(message.from_user)
    source = {"chat_id": message.chat.id, "message_id": message.message_id}
    replies = await service.handle(ref, Unsupported(content_kind(message), source))
    await respond(bot, service, ref, message.chat.id, replies)


def create_router() -> Router:
    router = Router(name="other_content")
    router.message.filter(PRIVATE_MESSAGE, F.from_user)
    router.message.register(on_other_content)
    return router
