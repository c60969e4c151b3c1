"""Editable content besides the flows: FAQ topics, dated facts and the privacy notice's version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.core.flows import ContentError, Flow, load_flow, load_yaml

FAQ_NEXT_ACTIONS = frozenset({"intake", "advisor", "faq"})


@dataclass(frozen=True)
class Fact:
    name: str
    value: str
    checked: date


@dataclass(frozen=True)
class Content:
    intake: Flow
    faq_topics: tuple[str, ...]
    # What each answer offers next, as action names (intake, advisor, faq).
    faq_next: dict[str, tuple[str, ...]]
    facts: dict[str, Fact]
    facts_checked: date
    privacy_version: int
    privacy_date: date

    def placeholders(self) -> dict[str, str]:
        """Values the catalogue texts may use as {name}."""
        values = {name: fact.value for name, fact in self.facts.items()}
        values["facts_checked"] = self.facts_checked.strftime("%d.%m.%Y")
        values["privacy_date"] = self.privacy_date.strftime("%d.%m.%Y")
        return values

    def message_keys(self) -> set[str]:
        keys = self.intake.message_keys()
        for topic in self.faq_topics:
            keys |= {f"faq.{topic}.title", f"faq.{topic}.answer"}
        return keys


def _date(path: Path, line: object, key: str, value: object) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ContentError(
            f"{path}:{line}: '{key}' must be a date YYYY-MM-DD, got {value!r}"
        ) from exc


def load_content(dialogs_dir: Path) -> Content:
    """Loads every content file; errors name the file and line."""
    intake = load_flow(dialogs_dir / "intake.yml")

    faq_path = dialogs_dir / "faq.yml"
    faq = load_yaml(faq_path)
    topics = faq.get("topics")
    if not isinstance(topics, list) or not topics:
        raise ContentError(f"{faq_path}: 'topics' must be a non-empty list")
    topic_ids: list[str] = []
    faq_next: dict[str, tuple[str, ...]] = {}
    for topic in topics:
        if not isinstance(topic, dict) or not isinstance(topic.get("id"), str):
            raise ContentError(f"{faq_path}: every topic needs an 'id'")
        where = f"{faq_path}:{topic['__line__']}"
        if topic["id"] in topic_ids:
            raise ContentError(f"{where}: topic '{topic['id']}' twice")
        following = topic.get("next", ["intake", "advisor"])
        if not isinstance(following, list) or not set(following) <= FAQ_NEXT_ACTIONS:
            raise ContentError(
                f"{where}: topic '{topic['id']}': 'next' must list some of "
                f"{sorted(FAQ_NEXT_ACTIONS)}"
            )
        topic_ids.append(topic["id"])
        faq_next[topic["id"]] = tuple(following)

    facts_path = dialogs_dir / "facts.yml"
    facts_raw = load_yaml(facts_path)
    facts: dict[str, Fact] = {}
    for name, entry in (facts_raw.get("facts") or {}).items():
        if name == "__line__":
            continue
        if not isinstance(entry, dict) or "value" not in entry or "checked" not in entry:
            raise ContentError(f"{facts_path}: fact '{name}' needs 'value' and 'checked'")
        line = entry.get("__line__")
        facts[name] = Fact(
            name, str(entry["value"]), _date(facts_path, line, "checked", entry["checked"])
        )
    facts_checked = _date(facts_path, "?", "facts_checked", facts_raw.get("facts_checked"))

    privacy_path = dialogs_dir / "privacy.yml"
    privacy = load_yaml(privacy_path)
    version = privacy.get("version")
    if not isinstance(version, int) or version < 1:
        raise ContentError(f"{privacy_path}: 'version' must be a whole number from 1")
    privacy_date = _date(privacy_path, "?", "date", privacy.get("date"))

    return Content(intake, tuple(topic_ids), faq_next, facts, facts_checked, version, privacy_date)


def check_messages(content: Content, known_message_ids: frozenset[str], where: Path) -> None:
    """Every message id the content uses must exist in the source catalogue."""
    missing = sorted(content.message_keys() - known_message_ids)
    if missing:
        raise ContentError(
            f"{where}: message ids used by dialogs/ but missing from the catalogue: "
            + ", ".join(missing)
        )
