"""The translation interface: a result that is never an exception, and the "none" engine.

Relayed messages go out whatever happens here, so a translator reports a missing model, a timeout
or an engine error as a `Translation` without text (and a short reason for the logs), never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Translation:
    """`text` is None when no translation is available; `failure` then says why, in English."""

    text: str | None
    source: str
    target: str
    engine: str
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None


class MachineTranslator(Protocol):
    name: str

    def route(self, source: str, target: str) -> list[str] | None:
        """The chain of language codes a translation goes through (["fa", "en", "de"]), or None
        where there is no way."""
        ...

    async def translate(
        self, text: str, source: str, target: str, *, person_id: int | None = None
    ) -> Translation:
        """`person_id` is whose words these are, for caches that must forget a person."""
        ...


def needs_no_engine(text: str, source: str, target: str, engine: str) -> Translation | None:
    """Same language or nothing but whitespace: the text is its own translation."""
    if source == target or not text.strip():
        return Translation(text, source, target, engine)
    return None


class NoTranslator:
    """Machine translation switched off (engine "none", or the `[mt]` extra is not installed)."""

    name = "none"
    failure = "machine translation is switched off"

    def route(self, source: str, target: str) -> list[str] | None:
        return [source] if source == target else None

    async def translate(
        self, text: str, source: str, target: str, *, person_id: int | None = None
    ) -> Translation:
        same = needs_no_engine(text, source, target, self.name)
        return same or Translation(None, source, target, self.name, self.failure)
