"""aiogram's testing pattern: a Bot whose session records requests, returns prepared results."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import (
    UNSET_PARSE_MODE,
    Chat,
    ChatFullInfo,
    ChatMemberLeft,
    ChatMemberMember,
    ForumTopic,
    Message,
    MessageId,
    ResponseParameters,
    User,
)

BOT_TOKEN = "42:TEST-TOKEN-0123456789abcdefghijklmnopqrstu"


class MockedSession(BaseSession):
    """Records every request. Without a prepared result, send/edit calls succeed with a fake
    message and everything else returns True, so a test only prepares what it cares about."""

    def __init__(self) -> None:
        super().__init__()
        self.responses: deque[Response[Any] | Exception] = deque()
        self.requests: list[TelegramMethod[Any]] = []
        self._message_id = 1000
        self._topic_id = 70
        # What getChat says of group chats, and who getChatMember says is a member.
        self.forum = False
        self.members: set[int] = set()

    def add_result(self, method: type[TelegramMethod[Any]], result: Any) -> None:
        self.responses.append(Response[method.__returning__](ok=True, result=result))  # type: ignore[name-defined]

    def add_error(self, error: Exception) -> None:
        self.responses.append(error)

    def add_api_error(self, code: int, description: str, retry_after: int | None = None) -> None:
        self.responses.append(
            Response[bool](
                ok=False,
                error_code=code,
                description=description,
                parameters=ResponseParameters(retry_after=retry_after) if retry_after else None,
            )
        )

    async def close(self) -> None:
        pass

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = UNSET_PARSE_MODE
    ) -> TelegramType:
        self.requests.append(method)
        if self.responses:
            prepared = self.responses.popleft()
            if isinstance(prepared, Exception):
                raise prepared
            response = self.check_response(
                bot=bot,
                method=method,
                status_code=prepared.error_code or 200,
                content=prepared.model_dump_json(),
            )
            return response.result  # type: ignore[return-value]
        return self._default(method)

    def _default(self, method: TelegramMethod[Any]) -> Any:
        name = type(method).__name__
        if name in {"SendMessage", "EditMessageText"}:
            self._message_id += 1
            chat_id = int(getattr(method, "chat_id", 0) or 0)
            chat_type = "private" if chat_id > 0 else "supergroup"
            return Message(
                message_id=getattr(method, "message_id", None) or self._message_id,
                date=0,
                chat=Chat(id=chat_id, type=chat_type),
                text=getattr(method, "text", ""),
            )
        if name == "GetChat":
            chat_id = int(method.chat_id)
            return ChatFullInfo(
                id=chat_id,
                type="supergroup" if chat_id < 0 else "private",
                is_forum=self.forum or None,
                accent_color_id=0,
                max_reaction_count=0,
                accepted_gift_types={
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            )
        if name == "CreateForumTopic":
            self._topic_id += 1
            return ForumTopic(message_thread_id=self._topic_id, name=method.name, icon_color=0)
        if name == "CopyMessage":
            self._message_id += 1
            return MessageId(message_id=self._message_id)
        if name == "GetChatMember":
            member = User(id=int(method.user_id), is_bot=False, first_name="X")
            if int(method.user_id) in self.members:
                return ChatMemberMember(user=member)
            return ChatMemberLeft(user=member)
        return True

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        yield b""

    def of_type(self, name: str) -> list[TelegramMethod[Any]]:
        return [r for r in self.requests if type(r).__name__ == name]


class MockedBot(Bot):
    session: MockedSession

    def __init__(self) -> None:
        super().__init__(BOT_TOKEN, session=MockedSession())
