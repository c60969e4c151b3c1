"""Builds each screen (text plus buttons) from the state and a translator; changes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from bot.core import actions
from bot.core.content import Content
from bot.core.events import Button, Reply
from bot.core.flows import Step
from bot.i18n.catalogs import Translator

MENU_ITEMS = (
    ("menu.faq", actions.FAQ),
    ("menu.find", actions.INTAKE),
    ("menu.browse", actions.BROWSE),
    ("menu.advisor", actions.ADVISOR),
    ("menu.language", actions.LANGUAGE),
    ("menu.privacy", actions.PRIVACY),
)


def rows(buttons: Sequence[Button], columns: int) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + columns]) for i in range(0, len(buttons), columns))


def format_answer(step: Step, answers: Mapping[str, Any], t: Translator) -> str:
    """An answer as a person or advisor reads it; user text is HTML-escaped here, once."""
    value = answers.get(step.id)
    if value is None or value == []:
        return t("summary.skipped")
    if step.type == "choice":
        return t(step.option_key(str(value)))
    if step.type == "multi":
        parts = []
        for option in value:
            label = t(step.option_key(option))
            if option == step.other and answers.get(step.other_key):
                label = f"{label}: {escape(str(answers[step.other_key]), quote=False)}"
            parts.append(label)
        return ", ".join(parts)
    return escape(str(value), quote=False)


class Screens:
    """All screens in one language."""

    def __init__(self, t: Translator, content: Content, language_names: Mapping[str, str]) -> None:
        self.t = t
        self.content = content
        self.language_names = language_names

    def _menu_button(self) -> Button:
        return Button(self.t("button.menu"), actions.MENU)

    def welcome(self, preselected: str, *, with_menu: bool = False) -> Reply:
        text = self.t("welcome.text")
        if with_menu:
            return Reply(f"{text}\n\n{self.t('menu.text')}", self.menu().buttons)
        picker = self.language_picker(preselected)
        return Reply(f"{text}\n\n{picker.text}", picker.buttons)

    def language_picker(self, preselected: str | None, *, edit: bool = False) -> Reply:
        buttons = [
            Button(("✓ " if code == preselected else "") + name, actions.choose_language(code))
            for code, name in self.language_names.items()
        ]
        return Reply(self.t("language.choose"), rows(buttons, 2), edit=edit)

    def menu(self, *, prefix: str | None = None, edit: bool = False) -> Reply:
        text = self.t("menu.text")
        if prefix:
            text = f"{prefix}\n\n{text}"
        buttons = tuple((Button(self.t(key), action),) for key, action in MENU_ITEMS)
        return Reply(text, buttons, edit=edit)

    def help(self) -> Reply:
        return Reply(f"{self.t('help.text')}\n\n{self.t('menu.text')}", self.menu().buttons)

    def faq_list(self, *, edit: bool = False) -> Reply:
        buttons = tuple(
            (Button(self.t(f"faq.{topic}.title"), actions.faq_topic(topic)),)
            for topic in self.content.faq_topics
        )
        return Reply(self.t("faq.intro"), (*buttons, (self._menu_button(),)), edit=edit)

    def faq_answer(self, topic: str, *, edit: bool = False) -> Reply:
        """The answer, then what the person can do next, as the content file says."""
        labels = {
            "intake": ("button.find", actions.INTAKE),
            "advisor": ("button.advisor", actions.ADVISOR),
        }
        buttons: list[tuple[Button, ...]] = [
            (Button(self.t(labels[name][0]), labels[name][1]),)
            for name in self.content.faq_next.get(topic, ())
            if name in labels
        ]
        buttons.append((Button(self.t("button.more_questions"), actions.FAQ), self._menu_button()))
        return Reply(self.t(f"faq.{topic}.answer"), tuple(buttons), edit=edit)

    def consent(self, *, full: bool = False, edit: bool = False) -> Reply:
        text = self.t("privacy.full" if full else "privacy.short")
        buttons: list[tuple[Button, ...]] = [
            (Button(self.t("consent.yes"), actions.CONSENT_YES),),
            (Button(self.t("consent.no"), actions.CONSENT_NO),),
        ]
        if not full:
            buttons.append((Button(self.t("consent.read_full"), actions.CONSENT_FULL),))
        return Reply(text, tuple(buttons), edit=edit)

    def privacy(self, *, consented: bool, edit: bool = False) -> Reply:
        status = self.t("privacy.status_yes" if consented else "privacy.status_no")
        buttons = (
            (Button(self.t("privacy.mydata"), actions.MYDATA),),
            (Button(self.t("privacy.delete"), actions.DELETE),),
            (self._menu_button(),),
        )
        return Reply(f"{self.t('privacy.full')}\n\n{status}", buttons, edit=edit)

    def delete_confirm(self, *, edit: bool = False) -> Reply:
        return Reply(
            self.t("privacy.delete_confirm"),
            ((Button(self.t("privacy.delete_yes"), actions.DELETE_YES),), (self._menu_button(),)),
            edit=edit,
        )

    def advisor_confirm(self, *, edit: bool = False) -> Reply:
        return Reply(
            self.t("advisor.confirm"),
            ((Button(self.t("advisor.yes"), actions.ADVISOR_YES),), (self._menu_button(),)),
            edit=edit,
        )

    def question(
        self,
        step: Step,
        answers: Mapping[str, Any],
        pending: Mapping[str, Any],
        *,
        position: tuple[int, int],
        hint: str | None = None,
        edit: bool = False,
    ) -> Reply:
        t = self.t
        lines = []
        if hint:
            lines.append(f"⚠️ {hint}")
        lines.append(t("intake.progress", current=position[0], total=position[1]))
        if step.type == "multi" and pending.get("awaiting_other"):
            lines.append(t(f"intake.{step.id}.other_prompt"))
            nav = (
                Button(t("button.back"), actions.back(step.id)),
                Button(t("button.cancel"), actions.CANCEL),
            )
            return Reply("\n".join(lines), (nav,), edit=edit)
        lines.append(f"<b>{t(step.question_key)}</b>")
        type_hint = {
            "multi": "intake.hint_multi",
            "text": "intake.hint_text",
            "number": "intake.hint_number",
            "phone": "intake.hint_phone",
            "email": "intake.hint_email",
        }.get(step.type)
        if type_hint:
            lines.append(f"<i>{t(type_hint)}</i>")
        current = answers.get(step.id)
        if current not in (None, []) and step.type in {"text", "number", "phone", "email"}:
            lines.append(t("intake.current_answer", answer=format_answer(step, answers, t)))

        buttons: list[Button] = []
        if step.type == "choice":
            buttons = [
                Button(
                    ("✓ " if option == current else "") + t(step.option_key(option)),
                    actions.answer(step.id, option),
                )
                for option in step.options
            ]
        elif step.type == "multi":
            selected = set(pending.get("selected", []))
            buttons = [
                Button(
                    ("✅ " if option in selected else "") + t(step.option_key(option)),
                    actions.answer(step.id, option),
                )
                for option in step.options
            ]
        elif step.type == "number":
            buttons = [Button(str(n), actions.answer(step.id, str(n))) for n in step.suggestions]
        keyboard = list(rows(buttons, step.columns if step.type != "number" else 5))
        if step.type == "multi":
            keyboard.append((Button(t("button.done"), actions.done(step.id)),))
        nav = [Button(t("button.back"), actions.back(step.id))]
        if step.optional:
            nav.append(Button(t("button.skip"), actions.skip(step.id)))
        nav.append(Button(t("button.cancel"), actions.CANCEL))
        keyboard.append(tuple(nav))
        return Reply("\n".join(lines), tuple(keyboard), edit=edit)

    def summary(self, answers: Mapping[str, Any], *, edit: bool = False) -> Reply:
        t = self.t
        steps = self.content.intake.applicable(answers)
        lines = [f"<b>{t('summary.title')}</b>", ""]
        lines += [
            f"<b>{t(step.label_key)}:</b> {format_answer(step, answers, t)}" for step in steps
        ]
        lines += ["", t("summary.instructions")]
        edit_buttons = [Button("✏️ " + t(step.label_key), actions.edit(step.id)) for step in steps]
        keyboard = [
            *rows(edit_buttons, 2),
            (Button(t("summary.confirm"), actions.CONFIRM),),
            (Button(t("button.cancel"), actions.CANCEL),),
        ]
        return Reply("\n".join(lines), tuple(keyboard), edit=edit)

    def lead_sent(self, number: int, contact_method: str | None, *, edit: bool = False) -> Reply:
        how = self.t(f"intake.contact_method.{contact_method}") if contact_method else "Telegram"
        return Reply(
            self.t("intake.sent", number=number, contact=how),
            ((self._menu_button(),),),
            edit=edit,
        )
