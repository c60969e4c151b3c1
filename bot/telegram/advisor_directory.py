"""Who is an advisor on Telegram: ids from the configuration, or members of the advisors' chat
(asked through the Bot API and cached, so a busy thread does not cost a request per message)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramAPIError

log = logging.getLogger(__name__)

MEMBER_STATUSES = frozenset(
    {ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
)


class TelegramAdvisorDirectory:
    def __init__(
        self,
        bot: Bot,
        advisor_chat_id: int | None,
        configured_ids: frozenset[int],
        *,
        cache_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bot = bot
        self._chat_id = advisor_chat_id
        self._ids = configured_ids
        self._ttl = cache_seconds
        self._clock = clock
        self._cache: dict[int, tuple[bool, float]] = {}

    async def is_advisor(self, advisor_id: int) -> bool:
        if advisor_id in self._ids:
            return True
        if self._chat_id is None:
            return False
        cached = self._cache.get(advisor_id)
        now = self._clock()
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            member = await self._bot.get_chat_member(chat_id=self._chat_id, user_id=advisor_id)
        except TelegramAPIError as exc:
            # Not cached: the next action asks again. Refusing is the safe answer meanwhile.
            log.warning("membership in the advisors' chat not checkable: %s", exc.message)
            return False
        status = member.status
        allowed = status in MEMBER_STATUSES or (
            status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False))
        )
        self._cache[advisor_id] = (allowed, now + self._ttl)
        return allowed
