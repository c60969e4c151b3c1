"""Last line of defence: an error is logged (ids only) and the person gets a kind word.

In webhook mode a passing database failure is not swallowed: the turn was rolled back, so the
webhook answers with an error and Telegram delivers the update again, nothing lost."""

import logging

from aiogram import Bot, Router
from aiogram.types import ErrorEvent

from bot.i18n.catalogs import Catalogs
from bot.i18n.languages import pick_language
from bot.storage.database import is_transient

log = logging.getLogger(__name__)


async def on_error(
    event: ErrorEvent,
    bot: Bot,
    catalogs: Catalogs,
    languages: tuple[str, ...],
    fallback_language: str,
    redeliver_on_failure: bool = False,
) -> bool:
    update = event.update
    if redeliver_on_failure and is_transient(event.exception):
        log.warning(
            "update %s: the database is not reachable; Telegram will send it again (%s)",
            update.update_id,
            type(event.exception).__name__,
        )
        raise event.exception
    log.exception("update %s failed", update.update_id, exc_info=event.exception)
    message = update.message or (update.callback_query.message if update.callback_query else None)
    user = (
        update.message.from_user
        if update.message
        else (update.callback_query.from_user if update.callback_query else None)
    )
    if message is None or user is None or message.chat.type != "private":
        return True
    t = catalogs.get(pick_language(user.language_code, languages, fallback_language))
    try:
        await bot.send_message(message.chat.id, t("error.generic"))
    except Exception:  # Telegram itself may be the problem; the log line above is what counts
        log.warning("could not tell the person of update %s about the error", update.update_id)
    return True


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
