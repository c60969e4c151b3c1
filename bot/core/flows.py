"""Declared flows (dialogs/*.yml): loading, validation with file and line, and step navigation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.core.actions import MAX_BYTES as MAX_ACTION_BYTES
from bot.core.actions import answer as answer_action

STEP_TYPES = frozenset({"text", "choice", "multi", "number", "phone", "email"})
_OPTION_TYPES = frozenset({"choice", "multi"})


class ContentError(ValueError):
    """A content file is wrong; the message names the file, the line and the key."""


class _LineLoader(yaml.SafeLoader):
    """Remembers the line of every mapping, so errors can point at it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> dict[str, Any]:
    """Parses a content file; each mapping carries its line as ``__line__``."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except FileNotFoundError as exc:
        raise ContentError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ContentError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ContentError(f"{path}: must contain a mapping")
    return data


@dataclass(frozen=True)
class Condition:
    """Show a step only when an earlier answer is one of `values`."""

    step: str
    values: tuple[str, ...]

    def holds(self, answers: Mapping[str, Any]) -> bool:
        return answers.get(self.step) in self.values


@dataclass(frozen=True)
class Step:
    id: str
    type: str
    optional: bool = False
    options: tuple[str, ...] = ()
    other: str | None = None
    columns: int = 1
    max_length: int = 300
    min: int = 0
    max: int = 0
    suggestions: tuple[int, ...] = ()
    when: Condition | None = None

    @property
    def question_key(self) -> str:
        return f"intake.{self.id}.question"

    @property
    def label_key(self) -> str:
        return f"intake.{self.id}.label"

    def option_key(self, option: str) -> str:
        return f"intake.{self.id}.{option}"

    @property
    def other_key(self) -> str:
        """Where a multi step keeps the text typed for its "other" option."""
        return f"{self.id}_other"

    def message_keys(self) -> Iterable[str]:
        yield self.question_key
        yield self.label_key
        for option in self.options:
            yield self.option_key(option)
        if self.other:
            yield f"intake.{self.id}.other_prompt"


@dataclass(frozen=True)
class Flow:
    id: str
    steps: tuple[Step, ...]

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def has_step(self, step_id: str) -> bool:
        return any(step.id == step_id for step in self.steps)

    def applies(self, step: Step, answers: Mapping[str, Any]) -> bool:
        return step.when is None or step.when.holds(answers)

    def applicable(self, answers: Mapping[str, Any]) -> list[Step]:
        return [step for step in self.steps if self.applies(step, answers)]

    def next_step(
        self, after: str | None, answers: Mapping[str, Any], *, only_unanswered: bool = False
    ) -> Step | None:
        """The first applicable step after `after` (or from the start); None: flow done."""
        started = after is None
        for step in self.steps:
            if not started:
                started = step.id == after
                continue
            if not self.applies(step, answers):
                continue
            if only_unanswered and step.id in answers:
                continue
            return step
        return None

    def prune(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Drops answers of steps that no longer apply (contact changed from phone to e-mail)."""
        kept = dict(answers)
        for step in self.steps:
            if not self.applies(step, kept):
                kept.pop(step.id, None)
                kept.pop(step.other_key, None)
        return kept

    def message_keys(self) -> set[str]:
        return {key for step in self.steps for key in step.message_keys()}


def load_flow(path: Path, known_message_ids: frozenset[str] | None = None) -> Flow:
    """Loads and validates a flow file; every error names the file, line and field."""
    data = load_yaml(path)
    flow_id = data.get("flow")
    if not isinstance(flow_id, str) or not flow_id:
        raise ContentError(f"{path}: 'flow' (the flow's name) is missing")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ContentError(f"{path}: 'steps' must be a non-empty list")
    steps: list[Step] = []
    for raw in raw_steps:
        step = _parse_step(path, raw, steps)
        steps.append(step)
    flow = Flow(flow_id, tuple(steps))
    if known_message_ids is not None:
        for step in flow.steps:
            missing = sorted(set(step.message_keys()) - known_message_ids)
            if missing:
                raise ContentError(
                    f"{path}: step '{step.id}' uses message ids missing from the English "
                    f"catalogue: {', '.join(missing)}"
                )
    return flow


def _parse_step(path: Path, raw: Any, earlier: list[Step]) -> Step:
    if not isinstance(raw, dict):
        raise ContentError(f"{path}: every step must be a mapping with id and type")
    line = raw.get("__line__", "?")
    where = f"{path}:{line}"
    known = {
        "__line__",
        "id",
        "type",
        "optional",
        "options",
        "other",
        "columns",
        "max_length",
        "min",
        "max",
        "suggestions",
        "when",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ContentError(f"{where}: unknown key(s) {', '.join(unknown)}")
    step_id = raw.get("id")
    if not isinstance(step_id, str) or not step_id.replace("_", "").isalnum():
        raise ContentError(f"{where}: 'id' must be a name of letters, digits and _")
    if any(step.id == step_id for step in earlier):
        raise ContentError(f"{where}: step id '{step_id}' is used twice")
    kind = raw.get("type")
    if kind not in STEP_TYPES:
        raise ContentError(
            f"{where}: step '{step_id}' has type {kind!r}; expected one of {sorted(STEP_TYPES)}"
        )
    options = tuple(str(o) for o in raw.get("options") or ())
    if kind in _OPTION_TYPES and not options:
        raise ContentError(f"{where}: step '{step_id}' of type {kind} needs 'options'")
    if kind not in _OPTION_TYPES and options:
        raise ContentError(f"{where}: step '{step_id}' of type {kind} cannot have 'options'")
    too_long = [o for o in options if len(answer_action(step_id, o).encode()) > MAX_ACTION_BYTES]
    if too_long:
        raise ContentError(
            f"{where}: step '{step_id}': option id(s) {too_long} too long for a Telegram button "
            f"(step id and option id together at most {MAX_ACTION_BYTES - 4} bytes)"
        )
    if len(set(options)) != len(options):
        raise ContentError(f"{where}: step '{step_id}' lists an option twice")
    other = raw.get("other")
    if other is not None and (kind != "multi" or other not in options):
        raise ContentError(f"{where}: step '{step_id}': 'other' must name one of its options")
    when = raw.get("when")
    condition = None
    if when is not None:
        target = when.get("step") if isinstance(when, dict) else None
        values = when.get("is") if isinstance(when, dict) else None
        if not any(step.id == target for step in earlier):
            raise ContentError(f"{where}: step '{step_id}': 'when.step' must name an earlier step")
        if not isinstance(values, list) or not values:
            raise ContentError(f"{where}: step '{step_id}': 'when.is' must list option ids")
        target_step = next(step for step in earlier if step.id == target)
        if target_step.type != "choice":
            raise ContentError(
                f"{where}: step '{step_id}': 'when.step' must name a choice step, "
                f"'{target}' is {target_step.type}"
            )
        bad = sorted(set(map(str, values)) - set(target_step.options))
        if bad:
            raise ContentError(f"{where}: step '{step_id}': 'when.is' names unknown options {bad}")
        condition = Condition(str(target), tuple(str(v) for v in values))

    def number(key: str, default: int) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ContentError(f"{where}: step '{step_id}': '{key}' must be a whole number")
        return value

    minimum, maximum = number("min", 0), number("max", 0)
    if kind == "number" and not 0 <= minimum <= maximum:
        raise ContentError(f"{where}: step '{step_id}' needs 0 <= min <= max")
    raw_suggestions = raw.get("suggestions") or []
    if not isinstance(raw_suggestions, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) for x in raw_suggestions
    ):
        raise ContentError(f"{where}: step '{step_id}': 'suggestions' must list whole numbers")
    suggestions = tuple(raw_suggestions)
    if any(not minimum <= s <= maximum for s in suggestions):
        raise ContentError(f"{where}: step '{step_id}': suggestions must lie between min and max")
    columns = number("columns", 2 if kind in _OPTION_TYPES else 1)
    if not 1 <= columns <= 4:
        raise ContentError(f"{where}: step '{step_id}': columns must be 1 to 4")
    max_length = number("max_length", 300)
    if not 1 <= max_length <= 3000:
        raise ContentError(f"{where}: step '{step_id}': max_length must be 1 to 3000")
    return Step(
        id=step_id,
        type=kind,
        optional=bool(raw.get("optional", False)),
        options=options,
        other=other,
        columns=columns,
        max_length=max_length,
        min=minimum,
        max=maximum,
        suggestions=suggestions,
        when=condition,
    )
