"""Opportunities for the person: suggestions after the intake, and browsing the catalogue.

Suggestions are stored on the lead as matching records (opportunity id, reasons, flags) plus the
person's "interested" mark, so the advisors' card and any later screen show the same thing in
any language. Browsing keeps its filter in the conversation, so it survives a restart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape
from typing import Any

from bot.catalog.model import Catalogue, Opportunity
from bot.core import actions
from bot.core.events import Button, Reply
from bot.core.matching import Flag, Reason, match, render
from bot.core.screens import rows
from bot.i18n.catalogs import Translator

SUGGESTIONS = 3
PAGE_SIZE = 3
ALL = "all"
ANYWHERE = frozenset({"all_leipzig", "online"})


def suggestion_records(
    answers: Mapping[str, Any], catalogue: Catalogue, today: date, previous: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """The top suggestions for a profile, as stored on a lead; marks survive a recomputation."""
    marked = {r.get("opportunity") for r in previous if isinstance(r, dict) and r.get("interested")}
    records = []
    for suggestion in match(answers, catalogue, today=today, limit=SUGGESTIONS):
        record = suggestion.as_record()
        record["interested"] = suggestion.opportunity.id in marked
        records.append(record)
    return records


def toggle_interest(records: Sequence[Any], opportunity_id: str) -> list[dict[str, Any]] | None:
    """The records with one mark flipped; None if the opportunity was not suggested."""
    flipped = None
    updated = []
    for record in records:
        record = dict(record)
        if record.get("opportunity") == opportunity_id:
            record["interested"] = not record.get("interested")
            flipped = record
        updated.append(record)
    return updated if flipped is not None else None


class OpportunityScreens:
    """Suggestions and the catalogue in one language."""

    def __init__(self, t: Translator, catalogue: Catalogue) -> None:
        self.t = t
        self.catalogue = catalogue

    def _opportunity(self, opportunity_id: str) -> Opportunity | None:
        try:
            return self.catalogue.get(opportunity_id)
        except KeyError:
            return None

    def suggestions(self, records: Sequence[Any], *, edit: bool = False) -> Reply:
        t = self.t
        menu = (Button(t("button.menu"), actions.MENU),)
        browse = (Button(t("menu.browse"), actions.BROWSE),)
        shown = [(r, self._opportunity(str(r.get("opportunity")))) for r in records]
        shown = [(r, o) for r, o in shown if o is not None]
        if not shown:
            return Reply(t("suggest.none"), (browse, menu), edit=edit)
        lines = [f"<b>{t('suggest.title')}</b>"]
        buttons = []
        for number, (record, opportunity) in enumerate(shown, start=1):
            assert opportunity is not None
            star = "⭐" if record.get("interested") else "☆"
            lines += [
                "",
                f"<b>{number}. {escape(t(opportunity.title_key), quote=False)}</b> {star}",
            ]
            lines.append(f"<i>{escape(opportunity.organisation, quote=False)}</i>")
            lines += [f"✓ {render(Reason.from_record(r), t)}" for r in record.get("reasons", [])]
            lines += [f"ℹ️ {render(Flag.from_record(f), t)}" for f in record.get("flags", [])]
            label = f"{star} {number}. {t(opportunity.title_key)}"
            buttons.append((Button(label, actions.interested(opportunity.id)),))
        lines += ["", t("suggest.instructions")]
        return Reply("\n".join(lines), (*buttons, browse, menu), edit=edit)

    # -- browsing -------------------------------------------------------------------------------
    def fields(self) -> tuple[str, ...]:
        """Fields at least one active opportunity offers, in the intake's order."""
        offered = {field for o in self.catalogue.active() for field in o.fields}
        return tuple(f for f in self.catalogue.vocabulary.fields if f in offered)

    def districts(self) -> tuple[str, ...]:
        return self.catalogue.vocabulary.districts

    def choose_field(self, *, edit: bool = False) -> Reply:
        t = self.t
        options = [
            Button(t(f"intake.interests.{field}"), actions.browse_field(field))
            for field in self.fields()
        ]
        keyboard = (
            *rows(options, 2),
            (Button(t("browse.all_fields"), actions.browse_field(ALL)),),
            (Button(t("button.menu"), actions.MENU),),
        )
        return Reply(t("browse.choose_field"), keyboard, edit=edit)

    def choose_district(self, *, edit: bool = False) -> Reply:
        t = self.t
        options = [
            Button(t(f"intake.district.{district}"), actions.browse_district(district))
            for district in self.districts()
        ]
        keyboard = (
            *rows(options, 3),
            (Button(t("browse.all_districts"), actions.browse_district(ALL)),),
            (Button(t("button.menu"), actions.MENU),),
        )
        return Reply(t("browse.choose_district"), keyboard, edit=edit)

    def found(self, field: str, district: str) -> list[Opportunity]:
        def fits(o: Opportunity) -> bool:
            field_ok = field == ALL or field in o.fields
            place_ok = (
                district == ALL or district in o.districts or bool(ANYWHERE & set(o.districts))
            )
            return field_ok and place_ok

        return sorted(
            (o for o in self.catalogue.active() if fits(o)), key=lambda o: (o.title, o.id)
        )

    def page(self, field: str, district: str, page: int, *, edit: bool = False) -> Reply:
        t = self.t
        found = self.found(field, district)
        change = (Button(t("browse.change"), actions.BROWSE),)
        advisor = (Button(t("menu.advisor"), actions.ADVISOR),)
        menu = (Button(t("button.menu"), actions.MENU),)
        if not found:
            return Reply(t("browse.none"), (change, advisor, menu), edit=edit)
        last_page = (len(found) - 1) // PAGE_SIZE
        page = min(max(page, 0), last_page)
        first = page * PAGE_SIZE
        shown = found[first : first + PAGE_SIZE]
        lines = [
            f"<b>{t('browse.page', first=first + 1, last=first + len(shown), total=len(found))}</b>"
        ]
        for opportunity in shown:
            lines += [
                "",
                f"<b>{escape(t(opportunity.title_key), quote=False)}</b>",
                f"<i>{escape(opportunity.organisation, quote=False)}</i>",
            ]
            lines.append(t(opportunity.description_key))
            lines.append(t("browse.where", places=self._places(opportunity)))
            if opportunity.example:
                lines.append(f"ℹ️ {t('match.flag.example')}")
        nav = []
        if page > 0:
            nav.append(Button(t("browse.previous"), actions.browse_page(page - 1)))
        if page < last_page:
            nav.append(Button(t("browse.next"), actions.browse_page(page + 1)))
        keyboard = ((tuple(nav),) if nav else ()) + (change, advisor, menu)
        return Reply("\n".join(lines), keyboard, edit=edit)

    def _places(self, opportunity: Opportunity) -> str:
        t = self.t
        names = []
        for place in opportunity.districts:
            if place == "all_leipzig":
                names.append(t("match.reason.all_leipzig"))
            elif place == "online":
                names.append(t("match.reason.online"))
            else:
                names.append(t(f"intake.district.{place}"))
        return ", ".join(names)
