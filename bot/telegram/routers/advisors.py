"""The advisors' chat: card buttons, /leads /lead /note /stats, and replies to a person.

In a forum group every message in a lead's topic goes to that person; in a plain group, a reply
to the lead's card (or to a relayed message) does. Anything else is the team's own talk and is
left alone. The desk decides who may act; this module only translates updates.
"""

from __future__ import annotations

import re
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message, User

from bot.core.advisor_desk import AdvisorDesk, AdvisorRef, DeskAnswer
from bot.telegram.callbacks import PressData
from bot.telegram.people import content_kind
from bot.telegram.render import NO_PREVIEW, markup_for
from bot.telegram.split import split_message

ADVISOR_COMMANDS = ("leads", "lead", "note", "stats")
COPYABLE = frozenset({"photo", "document", "voice", "audio", "video", "video_note"})
_NUMBER = re.compile(r"#?(\d{1,12})")


def advisor_of(user: User) -> AdvisorRef:
    return AdvisorRef(id=user.id, name=user.first_name or user.full_name)


async def on_card_button(
    query: CallbackQuery, callback_data: PressData, advisor_desk: AdvisorDesk
) -> None:
    answer = await advisor_desk.press(advisor_of(query.from_user), callback_data.action)
    await query.answer(text=answer.text[:200], show_alert=not answer.ok)


async def on_leads(message: Message, advisor_desk: AdvisorDesk, bot: Bot) -> None:
    assert message.from_user is not None
    await _answer(bot, message, await advisor_desk.open_leads(advisor_of(message.from_user)))


async def on_stats(message: Message, advisor_desk: AdvisorDesk, bot: Bot) -> None:
    assert message.from_user is not None
    await _answer(bot, message, await advisor_desk.stats(advisor_of(message.from_user)))


async def on_lead(
    message: Message, command: CommandObject, advisor_desk: AdvisorDesk, bot: Bot
) -> None:
    assert message.from_user is not None
    number = _NUMBER.fullmatch((command.args or "").strip())
    if number is None:
        await _answer(bot, message, DeskAnswer(advisor_desk.t("desk.lead_usage"), ok=False))
        return
    answer = await advisor_desk.lead_details(advisor_of(message.from_user), int(number[1]))
    await _answer(bot, message, answer)


async def on_note(
    message: Message, command: CommandObject, advisor_desk: AdvisorDesk, bot: Bot
) -> None:
    assert message.from_user is not None
    head, _, text = (command.args or "").strip().partition(" ")
    number = _NUMBER.fullmatch(head)
    if number is None:
        await _answer(bot, message, DeskAnswer(advisor_desk.t("desk.note_usage", number=12)))
        return
    answer = await advisor_desk.note(advisor_of(message.from_user), int(number[1]), text)
    await _answer(bot, message, answer)


async def on_thread_message(message: Message, advisor_desk: AdvisorDesk, bot: Bot) -> None:
    """A message in a lead's topic, or a reply to one of its messages, is for the person."""
    assert message.from_user is not None
    reply_to = message.reply_to_message
    lead_id = await advisor_desk.lead_of_thread(
        message.chat.id,
        topic_id=message.message_thread_id if message.is_topic_message else None,
        reply_to=reply_to.message_id if reply_to is not None else None,
    )
    if lead_id is None:
        return  # the team talking among themselves
    advisor = advisor_of(message.from_user)
    kind = content_kind(message)
    if message.text is not None:
        answer = await advisor_desk.reply(advisor, lead_id, message.text)
    elif kind in COPYABLE:
        source = {"chat_id": message.chat.id, "message_id": message.message_id}
        answer = await advisor_desk.forward(advisor, lead_id, kind, source)
    else:
        answer = DeskAnswer(advisor_desk.t("desk.not_relayable"), ok=False)
    if answer.text:
        await _answer(bot, message, answer)


async def _answer(bot: Bot, message: Message, answer: DeskAnswer) -> None:
    """Answers in the same topic as the command, buttons under the last part."""
    where: dict[str, Any] = {}
    if message.is_topic_message and message.message_thread_id:
        where["message_thread_id"] = message.message_thread_id
    parts = split_message(answer.text)
    for index, part in enumerate(parts):
        await bot.send_message(
            chat_id=message.chat.id,
            text=part,
            reply_markup=markup_for(answer.buttons) if index == len(parts) - 1 else None,
            link_preview_options=NO_PREVIEW,
            **where,
        )


def create_router(advisor_chat_id: int | None) -> Router:
    router = Router(name="advisors")
    in_chat = F.chat.id == advisor_chat_id
    router.message.filter(in_chat, F.from_user, ~F.from_user.is_bot)
    router.callback_query.filter(F.message.chat.id == advisor_chat_id)
    router.callback_query.register(on_card_button, PressData.filter(F.action.startswith("adv:")))
    router.message.register(on_leads, Command("leads", ignore_case=True))
    router.message.register(on_lead, Command("lead", ignore_case=True))
    router.message.register(on_note, Command("note", ignore_case=True))
    router.message.register(on_stats, Command("stats", ignore_case=True))
    router.message.register(on_thread_message, ~F.text.startswith("/"))
    return router
