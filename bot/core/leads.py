"""Leads: creating them with their outbox card, and the German card advisors read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.content import Content
from bot.core.events import PersonRef
from bot.core.screens import format_answer
from bot.i18n.catalogs import Translator
from bot.i18n.languages import language
from bot.storage.models import Lead
from bot.storage.repositories import Repositories

LEAD_CARD = "lead_card"
ADVISORS = "advisors"


def contact_of(ref: PersonRef) -> dict[str, Any]:
    """How advisors reach the person on the channel they wrote from."""
    return {
        "channel": ref.channel,
        "id": ref.external_id,
        "name": ref.display_name,
        "username": ref.username,
    }


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class LeadCards:
    """Renders a lead in German for the advisors' chat, whatever the person's language."""

    def __init__(self, content: Content, german: Translator, tz: ZoneInfo) -> None:
        self._content = content
        self._t = german
        self._tz = tz

    def render(self, lead: Lead) -> str:
        t = self._t
        created = as_utc(lead.created_at).astimezone(self._tz)
        lang = language(lead.language)
        heading = t(
            "card.heading_intake" if lead.kind == "intake" else "card.heading_contact",
            number=lead.id,
        )
        lines = [
            f"<b>{heading}</b>",
            t("card.created", when=created.strftime("%d.%m.%Y, %H:%M")),
            t("card.language", language=f"{lang.german_name} ({lang.native_name}, {lang.code})"),
            t("card.contact", contact=self._contact(lead.contact)),
        ]
        answers: Mapping[str, Any] = lead.answers or {}
        if answers:
            lines.append("")
            for step in self._content.intake.applicable(answers):
                if step.id not in answers:
                    continue
                lines.append(f"<b>{t(step.label_key)}:</b> {format_answer(step, answers, t)}")
        elif lead.kind == "contact":
            lines += ["", t("card.no_profile")]
        return "\n".join(lines)

    def _contact(self, contact: Mapping[str, Any]) -> str:
        name = escape(str(contact.get("name") or ""), quote=False) or "—"
        if contact.get("channel") == "telegram":
            link = f'<a href="tg://user?id={int(contact["id"])}">{name}</a>'
            username = contact.get("username")
            return f"Telegram {link}" + (f" (@{escape(str(username))})" if username else "")
        return f"{escape(str(contact.get('channel')))} {escape(str(contact.get('id')))} ({name})"


async def create_lead(
    repo: Repositories,
    cards: LeadCards,
    *,
    person_id: int,
    kind: str,
    language_code: str,
    answers: Mapping[str, Any],
    contact: Mapping[str, Any],
) -> Lead:
    """Stores the lead and its card in the outbox in the same transaction: both or neither."""
    lead = await repo.leads.create(
        person_id=person_id,
        kind=kind,
        language=language_code,
        answers=dict(answers),
        contact=dict(contact),
    )
    await repo.outbox.enqueue(
        kind=LEAD_CARD, destination=ADVISORS, text=cards.render(lead), lead_id=lead.id
    )
    return lead


def now_utc() -> datetime:
    return datetime.now(UTC)
