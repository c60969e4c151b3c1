"""Photos, stickers, voice notes, locations and everything else: a friendly word, never an error."""

from aiogram import Bot, F, Router
from aiogram.types import Message

from bot.core.conversation import ConversationService
from bot.core.events import Unsupported
from bot.telegram.people import person_ref
from bot.telegram.render import send_replies
from bot.telegram.routers.private import PRIVATE_MESSAGE


async def on_other_content(message: Message, service: ConversationService, bot: Bot) -> None:
    assert message.from_user is not None
    replies = await service.handle(
        person_ref(message.from_user), Unsupported(str(message.content_type))
    )
    await send_replies(bot, message.chat.id, replies)


def create_router() -> Router:
    router = Router(name="other_content")
    router.message.filter(PRIVATE_MESSAGE, F.from_user)
    router.message.register(on_other_content)
    return router
