"""Who wrote: a Telegram user as the core's PersonRef."""

from aiogram.types import Message, User

from bot.core.events import PersonRef

CHANNEL = "telegram"


def person_ref(user: User) -> PersonRef:
    return PersonRef(
        channel=CHANNEL,
        external_id=str(user.id),
        platform_language=user.language_code,
        display_name=user.full_name,
        username=user.username,
    )


def content_kind(message: Message) -> str:
    """ "photo", "voice", ...: the plain value, not the enum's repr."""
    kind = message.content_type
    return str(getattr(kind, "value", kind))
