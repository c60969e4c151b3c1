"""/start, /menu, /language, /help, /privacy, /cancel and unknown commands in private chats."""

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.core.conversation import COMMANDS, ConversationService
from bot.core.events import Command as CoreCommand
from bot.telegram.people import person_ref
from bot.telegram.respond import respond
from bot.telegram.routers.private import PRIVATE_MESSAGE


async def on_command(
    message: Message, command: CommandObject, service: ConversationService, bot: Bot
) -> None:
    assert message.from_user is not None
    ref = person_ref(message.from_user)
    replies = await service.handle(ref, CoreCommand(command.command.lower()))
    await respond(bot, service, ref, message.chat.id, replies)


async def on_unknown_command(message: Message, service: ConversationService, bot: Bot) -> None:
    assert message.from_user is not None and message.text is not None
    name = message.text[1:].split(maxsplit=1)[0].split("@")[0].lower() if message.text[1:] else ""
    ref = person_ref(message.from_user)
    replies = await service.handle(ref, CoreCommand(name))
    await respond(bot, service, ref, message.chat.id, replies)


def create_router() -> Router:
    router = Router(name="commands")
    router.message.filter(PRIVATE_MESSAGE, F.from_user)
    router.message.register(on_command, Command(*COMMANDS, ignore_case=True))
    router.message.register(on_unknown_command, F.text.startswith("/"))
    return router
