"""The terminal channel: the same core and database as Telegram, in a shell.

The bot's messages print with numbered buttons; typing a number presses that button, a line
starting with / is a command, anything else is text. Lead cards for the advisors print with an
``[advisors]`` prefix. Works with piped input (one line per message, ends at end of input).
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.core.conversation import ConversationService
from bot.core.events import Button, Command, Event, PersonRef, Press, Reply, Resume, Text
from bot.core.outbox import Delivered, Outbox, OutgoingMessage

CHANNEL = "console"
ADVISORS_PREFIX = "[advisors] "
_TAG_RE = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^>]*)?>")


def html_to_plain(text: str) -> str:
    """Drops Telegram's HTML tags and unescapes entities for a terminal."""
    return html.unescape(_TAG_RE.sub("", text))


class ConsoleAdvisorChannel:
    """Prints lead cards as the advisors' chat would show them."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    async def deliver(self, message: OutgoingMessage) -> Delivered:
        lines = html_to_plain(message.text).splitlines() or [""]
        self._out.write("".join(f"{ADVISORS_PREFIX}{line}\n" for line in lines))
        self._out.flush()
        return Delivered(chat_id=None, message_id=f"console-{message.id}")


class ConsoleChat:
    def __init__(
        self,
        service: ConversationService,
        outbox: Outbox,
        *,
        user: str = "local",
        out: TextIO = sys.stdout,
        echo_input: bool = False,
    ) -> None:
        self._service = service
        self._outbox = outbox
        self._out = out
        self._echo = echo_input
        self._person = PersonRef(CHANNEL, user, display_name=user)
        self._buttons: list[Button] = []

    async def start(self, language: str | None = None) -> None:
        """Shows where the person is: the welcome for a new one, the open question otherwise."""
        await self._send(Resume(language=language))

    async def handle_line(self, line: str) -> None:
        line = line.rstrip("\r\n")
        if self._echo:
            self._out.write(f"you> {line}\n")
        event = self._event_for(line.strip())
        if event is not None:
            await self._send(event)

    async def run(self, stream: TextIO, language: str | None = None) -> None:
        await self.start(language)
        interactive = stream.isatty()
        while True:
            if interactive:
                self._out.write("> ")
                self._out.flush()
            line = await asyncio.to_thread(stream.readline)
            if not line:
                return
            await self.handle_line(line)

    def _event_for(self, line: str) -> Event | None:
        if not line:
            return None
        if line.isdigit():
            index = int(line) - 1
            if 0 <= index < len(self._buttons):
                return Press(self._buttons[index].action)
            return Text(line)
        if line.startswith("/") and len(line) > 1:
            return Command(line[1:].split()[0].split("@")[0].lower())
        return Text(line)

    async def _send(self, event: Event) -> None:
        replies = await self._service.handle(self._person, event)
        self._print(replies)
        await self._outbox.flush()

    def _print(self, replies: Sequence[Reply]) -> None:
        """Numbers buttons across all replies of one turn, as Telegram shows them all at once."""
        numbered: list[Button] = []
        for reply in replies:
            self._out.write("\n" + html_to_plain(reply.text) + "\n")
            for row in reply.buttons:
                cells = []
                for button in row:
                    numbered.append(button)
                    cells.append(f"[{len(numbered)}] {button.label}")
                self._out.write("  " + "   ".join(cells) + "\n")
        if numbered:
            self._buttons = numbered
        self._out.flush()
