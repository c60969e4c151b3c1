"""Rasa 3 NLU training data (nlu_data/<lang>/nlu.yml): loading with Rasa's format rules.

We cannot run Rasa on Python 3.11, so the files are validated here against the same rules Rasa
applies, and a wrong file is reported with its path and line: `version: "3.1"`, an `nlu:` list of
`- intent:` items with an `examples: |` block of `- ` lines, each intent once, no empty or
duplicate examples.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.nlu.intents import INTENTS

RASA_VERSION = "3.1"
TRAINING_FILE = "nlu.yml"
_EXAMPLE_RE = re.compile(r"^- (?P<text>.*\S.*)$")
# Rasa's entity annotation syntax; our data has no entities, so any is a mistake.
_ENTITY_RE = re.compile(r"\[[^\]]+\]\([^)]+\)|\[[^\]]+\]\{[^}]+\}")


class TrainingDataError(ValueError):
    """A training file breaks Rasa's format; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    language: str


def _block_lines(text: str, intent: str) -> dict[int, str]:
    """Maps each example's line number (1-based) in the file to its text."""
    lines = text.splitlines()
    found: dict[int, str] = {}
    for number, line in enumerate(lines, start=1):
        if re.match(rf"^\s*-\s*intent:\s*{re.escape(intent)}\s*$", line):
            for offset, example in enumerate(lines[number:], start=number + 1):
                if re.match(r"^\s*-\s*(intent|synonym|regex|lookup):", example):
                    return found
                stripped = example.strip()
                if stripped.startswith("- "):
                    found[offset] = stripped
    return found


def load_file(path: Path, language: str) -> list[Example]:
    """Examples of one file, after checking every Rasa rule."""
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TrainingDataError(f"{path}: file not found") from exc
    try:
        data = yaml.safe_load(raw_text)
    except yaml.YAMLError as exc:
        raise TrainingDataError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise TrainingDataError(f"{path}: must be a mapping with 'version' and 'nlu'")
    if str(data.get("version")) != RASA_VERSION or not isinstance(data.get("version"), str):
        raise TrainingDataError(f'{path}:1: version must be the string "{RASA_VERSION}"')
    unknown = sorted(set(data) - {"version", "nlu"})
    if unknown:
        raise TrainingDataError(f"{path}: unexpected top-level key(s) {unknown}")
    items = data.get("nlu")
    if not isinstance(items, list) or not items:
        raise TrainingDataError(f"{path}: 'nlu' must be a non-empty list")
    examples: list[Example] = []
    seen_intents: set[str] = set()
    for item in items:
        if not isinstance(item, dict) or "intent" not in item:
            raise TrainingDataError(f"{path}: every nlu item needs 'intent' (got {item!r:.60})")
        intent = item["intent"]
        where = f"{path}: intent '{intent}'"
        if intent not in INTENTS:
            raise TrainingDataError(f"{where}: not one of the bot's intents")
        if intent in seen_intents:
            raise TrainingDataError(f"{where}: appears twice (Rasa merges, we refuse)")
        seen_intents.add(intent)
        if sorted(set(item) - {"intent", "examples", "metadata"}):
            raise TrainingDataError(f"{where}: only 'intent', 'examples', 'metadata' are allowed")
        block = item.get("examples")
        if not isinstance(block, str):
            raise TrainingDataError(f"{where}: 'examples' must be a '|' block of '- ' lines")
        line_numbers = {text: number for number, text in _block_lines(raw_text, intent).items()}
        normalised_seen: set[str] = set()
        for line in block.splitlines():
            if not line.strip():
                continue
            line_no = line_numbers.get(line.strip(), "?")
            match = _EXAMPLE_RE.match(line.strip())
            if match is None:
                raise TrainingDataError(
                    f"{path}:{line_no}: intent '{intent}': example line must start with '- '"
                )
            example = match.group("text").strip()
            if _ENTITY_RE.search(example):
                raise TrainingDataError(
                    f"{path}:{line_no}: intent '{intent}': entity markup is not used here"
                )
            key = normalise(example)
            if key in normalised_seen:
                raise TrainingDataError(
                    f"{path}:{line_no}: intent '{intent}': duplicate example {example!r}"
                )
            normalised_seen.add(key)
            examples.append(Example(example, intent, language))
        if not normalised_seen:
            raise TrainingDataError(f"{where}: has no examples")
    return examples


def normalise(text: str) -> str:
    """What counts as the same example: case, spacing and punctuation aside."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def training_files(nlu_dir: Path) -> list[tuple[str, Path]]:
    """(language, path) of every training file: each language folder's nlu.yml and any other
    .yml beside it (as Rasa reads a folder), sorted."""
    return sorted(
        (folder.name, path)
        for folder in nlu_dir.iterdir()
        if folder.is_dir() and (folder / TRAINING_FILE).exists()
        for path in folder.glob("*.yml")
    )


def load_training_data(nlu_dir: Path) -> list[Example]:
    examples: list[Example] = []
    for language, path in training_files(nlu_dir):
        examples += load_file(path, language)
    if not examples:
        raise TrainingDataError(f"{nlu_dir}: no training data (expected <lang>/{TRAINING_FILE})")
    return examples


def load_heldout(heldout_dir: Path) -> list[Example]:
    """The held-out test set (nlu_heldout/<lang>.yml): same format, never trained on."""
    examples: list[Example] = []
    for path in sorted(heldout_dir.glob("*.yml")):
        examples += load_file(path, path.stem)
    return examples


def unseen(heldout: Iterable[Example], training: Iterable[Example]) -> list[Example]:
    """Held-out examples whose text is not also a training example. Writers of both sets
    independently arrive at "oui" or "mil gracias"; scoring those would measure memory."""
    seen = {(example.language, normalise(example.text)) for example in training}
    return [e for e in heldout if (e.language, normalise(e.text)) not in seen]


def fingerprint(paths: Iterable[Path], extra: str = "") -> str:
    """Changes whenever any training file (or the classifier's settings) changes."""
    digest = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        digest.update(path.as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
