"""The terminal channel: the same core and database as Telegram, in a shell.

The bot's messages print with numbered buttons; typing a number presses that button, a line
starting with / is a command, anything else is text. What the advisors' chat would show prints
with an ``[advisors]`` prefix, and a line starting with ``@advisor`` plays the advisor, so the
whole handoff and relay can be tried offline:

    @advisor leads | lead N | stats | claim N | status N STATUS | close N
    @advisor note N TEXT      an internal note
    @advisor N TEXT           a message to the person of lead N (translated for them)

Works with piped input (one line per message, ends at end of input).
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.core import actions
from bot.core.advisor_desk import AdvisorDesk, AdvisorRef, DeskAnswer
from bot.core.conversation import ConversationService
from bot.core.events import Button, Command, Event, PersonRef, Press, Reply, Resume, Text
from bot.core.handoff import buttons_from_payload
from bot.core.outbox import ADVISORS, Delivered, Kind, Outbox, OutgoingMessage

CHANNEL = "console"
ADVISORS_PREFIX = "[advisors] "
ADVISOR_PREFIX = "@advisor"
# The console's advisor: allowed by the console's own directory, shown to the person by name.
CONSOLE_ADVISOR_ID = 0
_TAG_RE = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^>]*)?>")
_ADVISOR_HELP = (
    "@advisor leads | lead N | stats | claim N | status N "
    + "|".join(actions.ADVISOR_STATUSES)
    + " | close N | note N TEXT | N TEXT (message to the person)"
)


def html_to_plain(text: str) -> str:
    """Drops Telegram's HTML tags and unescapes entities for a terminal."""
    return html.unescape(_TAG_RE.sub("", text))


def console_command(action: str) -> str | None:
    """The ``@advisor`` line that does what a card button does."""
    parsed = actions.parse_advisor(action)
    if parsed is None:
        return None
    if parsed.verb == "status":
        return f"{ADVISOR_PREFIX} status {parsed.lead_id} {parsed.status}"
    return f"{ADVISOR_PREFIX} {parsed.verb} {parsed.lead_id}"


class ConsoleChat:
    """One person (``--user``) and the advisors' side, in one terminal. It is also the outbox's
    delivery channel for console persons: queued messages print here."""

    name = CHANNEL

    def __init__(
        self,
        service: ConversationService,
        desk: AdvisorDesk | None = None,
        *,
        user: str = "local",
        advisor_name: str = "Lena",
        out: TextIO = sys.stdout,
        echo_input: bool = False,
    ) -> None:
        self._service = service
        self._desk = desk
        self._outbox: Outbox | None = None
        self._out = out
        self._echo = echo_input
        self._person = PersonRef(CHANNEL, user, display_name=user)
        self._advisor = AdvisorRef(CONSOLE_ADVISOR_ID, advisor_name)
        self._buttons: list[Button] = []

    def attach(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def start(self, language: str | None = None) -> None:
        """Shows where the person is: the welcome for a new one, the open question otherwise."""
        await self._send(Resume(language=language))

    async def handle_line(self, line: str) -> None:
        line = line.rstrip("\r\n")
        if self._echo:
            self._out.write(f"you> {line}\n")
        stripped = line.strip()
        if stripped.startswith(ADVISOR_PREFIX) and self._desk is not None:
            await self._as_advisor(stripped[len(ADVISOR_PREFIX) :].strip())
            return
        event = self._event_for(stripped)
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
                await self._flush()
                return
            await self.handle_line(line)

    # -- the outbox's channel -------------------------------------------------------------------
    async def deliver(self, message: OutgoingMessage) -> Delivered:
        if message.kind == Kind.OPEN_TOPIC:
            return Delivered()  # the terminal is a plain group: the card is the thread
        if message.destination == ADVISORS:
            self._print_advisors(message)
        elif message.address == self._person.external_id:
            text = message.text
            if message.kind == Kind.COPY:
                text = f"{text}\n(a file from the advisor: shown in Telegram, not here)"
            if text:
                self._print([Reply(text, buttons_from_payload(message.payload))])
        else:
            self._out.write(f"[to {message.address}] {html_to_plain(message.text)}\n")
        return Delivered(chat_id=None, message_id=f"console-{message.id}")

    def _print_advisors(self, message: OutgoingMessage) -> None:
        text = message.text
        if message.kind == Kind.CARD_EDIT:
            text = f"(card updated)\n{text}"
        elif message.kind == Kind.COPY:
            text = f"{text}\n(the file itself is shown in Telegram, not here)"
        self._advisors_lines(text, buttons_from_payload(message.payload))

    def _advisors_lines(self, text: str, buttons: Sequence[Sequence[Button]] = ()) -> None:
        lines = html_to_plain(text).splitlines() or [""]
        for row in buttons:
            for button in row:
                command = console_command(button.action)
                if command:
                    lines.append(f"  [{button.label}] -> {command}")
        self._out.write("".join(f"{ADVISORS_PREFIX}{line}\n" for line in lines))
        self._out.flush()

    # -- the advisor --------------------------------------------------------------------------
    async def _as_advisor(self, line: str) -> None:
        assert self._desk is not None
        desk, advisor = self._desk, self._advisor
        words = line.split(maxsplit=2)
        verb = words[0].lower() if words else ""
        number = None
        if len(words) > 1 and words[1].lstrip("#").isdigit():
            number = int(words[1].lstrip("#"))
        answer: DeskAnswer | None = None
        if verb == "leads":
            answer = await desk.open_leads(advisor)
        elif verb == "stats":
            answer = await desk.stats(advisor)
        elif verb == "lead" and number is not None:
            answer = await desk.lead_details(advisor, number)
        elif verb == "claim" and number is not None:
            answer = await desk.claim(advisor, number)
        elif verb == "close" and number is not None:
            answer = await desk.close(advisor, number)
        elif verb == "status" and number is not None and len(words) == 3:
            answer = await desk.set_status(advisor, number, words[2].strip())
        elif verb == "note" and number is not None:
            answer = await desk.note(advisor, number, words[2] if len(words) == 3 else "")
        elif verb.lstrip("#").isdigit():
            _number, _, text = line.partition(" ")
            answer = await desk.reply(advisor, int(verb.lstrip("#")), text)
        else:
            answer = DeskAnswer(_ADVISOR_HELP, ok=False)
        if answer.text:
            self._advisors_lines(answer.text, answer.buttons)
        await self._flush()

    # -- the person ---------------------------------------------------------------------------
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
        await self._flush()

    async def _flush(self) -> None:
        if self._outbox is not None:
            await self._outbox.flush()

    def _print(self, replies: Sequence[Reply]) -> None:
        """Numbers buttons across all replies of one turn, as Telegram shows them all at once."""
        numbered: list[Button] = []
        for reply in replies:
            self._out.write("\n" + html_to_plain(reply.text) + "\n")
            if reply.attachment is not None:
                attachment = reply.attachment
                self._out.write(f"[file {attachment.filename}: {attachment.caption}]\n")
                self._out.write(attachment.data.decode("utf-8", errors="replace") + "\n")
            for row in reply.buttons:
                cells = []
                for button in row:
                    numbered.append(button)
                    cells.append(f"[{len(numbered)}] {button.label}")
                self._out.write("  " + "   ".join(cells) + "\n")
        if numbered:
            self._buttons = numbered
        self._out.flush()
