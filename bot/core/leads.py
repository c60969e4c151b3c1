"""Leads: creating them with their outbox card, and the German card advisors read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from bot.catalog.model import Catalogue
from bot.core import actions
from bot.core.content import Content
from bot.core.events import Button, PersonRef
from bot.core.matching import Flag, Reason, render
from bot.core.screens import format_answer
from bot.i18n.catalogs import Translator
from bot.i18n.languages import language
from bot.storage.models import Lead

WAITING = "waiting"
WITH_ADVISOR = "with_advisor"
CLOSED = "closed"


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

    def __init__(
        self,
        content: Content,
        german: Translator,
        tz: ZoneInfo,
        catalogue: Catalogue | None = None,
    ) -> None:
        self._content = content
        self._t = german
        self._tz = tz
        self._catalogue = catalogue

    def erased(self, lead: Lead, action: str, when: datetime | None = None) -> str:
        """The card once the person's data is gone: the number and why, nothing else.
        `action` is "erased" (the person asked) or "expired" (retention); `when` defaults to
        the lead's last change, which the erasure was."""
        when = when or lead.updated_at
        key = "card.erased_request" if action == "erased" else "card.erased_retention"
        heading = self._t("card.erased_heading", number=lead.id)
        return f"<b>{heading}</b>\n{self._t(key, when=self.when(when))}"

    def when(self, moment: datetime) -> str:
        return as_utc(moment).astimezone(self._tz).strftime("%d.%m.%Y, %H:%M")

    def state_line(self, lead: Lead) -> str:
        t = self._t
        if lead.handoff == WITH_ADVISOR and lead.claimed_at is not None:
            name = escape(lead.advisor_name or "?", quote=False)
            return t("card.state.with_advisor", name=name, when=self.when(lead.claimed_at))
        if lead.handoff == CLOSED:
            return t("card.state.closed", when=self.when(lead.closed_at or lead.updated_at))
        return t("card.state.waiting")

    def topic_title(self, lead: Lead) -> str:
        """The forum topic's name: number and language only, no personal data."""
        return self._t("card.topic", number=lead.id, language=language(lead.language).german_name)

    def buttons(self, lead: Lead) -> tuple[tuple[Button, ...], ...]:
        """What advisors can do next: claim a waiting lead; set progress or close a claimed one."""
        t = self._t
        if lead.handoff == WAITING:
            return ((Button(t("button.claim"), actions.claim(lead.id)),),)
        if lead.handoff == WITH_ADVISOR:
            statuses = [
                Button(
                    ("✓ " if lead.status == status else "") + t(f"status.{status}"),
                    actions.set_status(lead.id, status),
                )
                for status in actions.ADVISOR_STATUSES
            ]
            return (
                tuple(statuses[:2]),
                tuple(statuses[2:4]),
                tuple(statuses[4:]),
                (Button(t("button.close"), actions.close(lead.id)),),
            )
        return ()

    def render(self, lead: Lead, *, unreachable: bool = False) -> str:
        t = self._t
        erased = (lead.contact or {}).get("erased")
        if erased:
            return self.erased(lead, str(erased))
        lang = language(lead.language)
        heading = t(
            "card.heading_intake" if lead.kind == "intake" else "card.heading_contact",
            number=lead.id,
        )
        lines = [
            f"<b>{heading}</b>",
            t("card.created", when=self.when(lead.created_at)),
            t("card.language", language=f"{lang.german_name} ({lang.native_name}, {lang.code})"),
            t("card.contact", contact=self._contact(lead.contact)),
            self.state_line(lead),
        ]
        if lead.status != "new":
            lines.append(t("card.progress", status=t(f"status.{lead.status}")))
        if unreachable:
            lines.append(t("card.unreachable"))
        answers: Mapping[str, Any] = lead.answers or {}
        if answers:
            lines.append("")
            for step in self._content.intake.applicable(answers):
                if step.id not in answers:
                    continue
                lines.append(f"<b>{t(step.label_key)}:</b> {format_answer(step, answers, t)}")
        elif lead.kind == "contact":
            lines += ["", t("card.no_profile")]
        if lead.kind == "intake" and self._catalogue is not None:
            lines += ["", *self._suggestions(lead.suggestions or [])]
        return "\n".join(lines)

    def _suggestions(self, records: list[Any]) -> list[str]:
        """The catalogue's suggestions in German, with the person's marks and the reasons."""
        t = self._t
        if not records:
            return [t("card.no_suggestions")]
        lines = [f"<b>{t('card.suggestions')}</b>"]
        assert self._catalogue is not None
        for number, record in enumerate(records, start=1):
            try:
                opportunity = self._catalogue.get(str(record.get("opportunity")))
            except KeyError:
                continue
            mark = f" – {t('card.interested')}" if record.get("interested") else ""
            title = escape(t(opportunity.title_key), quote=False)
            organisation = escape(opportunity.organisation, quote=False)
            lines.append(f"{number}. {title} ({organisation}){mark}")
            reasons = [render(Reason.from_record(r), t) for r in record.get("reasons", [])]
            flags = [render(Flag.from_record(f), t) for f in record.get("flags", [])]
            if reasons:
                lines.append("   ✓ " + "; ".join(reasons))
            if flags:
                lines.append("   ℹ️ " + "; ".join(flags))
        return lines

    def _contact(self, contact: Mapping[str, Any]) -> str:
        name = escape(str(contact.get("name") or ""), quote=False) or "—"
        if contact.get("channel") == "telegram":
            link = f'<a href="tg://user?id={int(contact["id"])}">{name}</a>'
            username = contact.get("username")
            return f"Telegram {link}" + (f" (@{escape(str(username))})" if username else "")
        return f"{escape(str(contact.get('channel')))} {escape(str(contact.get('id')))} ({name})"


def now_utc() -> datetime:
    return datetime.now(UTC)
