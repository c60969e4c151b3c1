"""What a channel hands to the core, and the plain replies it gets back to render."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PersonRef:
    """Who is writing, as the channel knows them. Names go only on leads the person sends."""

    channel: str
    external_id: str
    platform_language: str | None = None
    display_name: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class Command:
    name: str


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Press:
    """A button press; `action` is the string the core put on the button."""

    action: str


@dataclass(frozen=True)
class Unsupported:
    """Input the bot cannot read (photo, sticker, voice note, location ...). `source` tells the
    channel how to copy it on (Telegram: chat and message id) when an advisor is with the person."""

    kind: str
    source: dict[str, int] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Resume:
    """A channel (re)connects: show where the person is. `language` sets the language first."""

    language: str | None = None


Event = Command | Text | Press | Unsupported | Resume


@dataclass(frozen=True)
class Button:
    label: str
    action: str


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply (the person's data export)."""

    filename: str
    data: bytes = field(repr=False)
    caption: str = ""


@dataclass(frozen=True)
class Reply:
    """One message to the person. `edit` asks the channel to replace the message whose button was
    pressed instead of sending a new one. Text is Telegram-style HTML (b, i, a only)."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = field(default_factory=tuple)
    edit: bool = False
    # The language the text is in, when it is not the person's (an offer to switch language).
    language: str | None = None
    attachment: Attachment | None = None
