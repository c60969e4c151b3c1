"""The NLU training data follows Rasa 3's format rules, covers every intent in every language, and
the held-out set is kept apart from it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.nlu.commands import HELDOUT_DIR
from bot.nlu.intents import INTENTS
from bot.nlu.training_data import (
    TrainingDataError,
    load_file,
    load_heldout,
    load_training_data,
    normalise,
    training_files,
    unseen,
)

SETTINGS = load_settings(environ={})
MAIN_LANGUAGES = ("de", "en", "ar", "fa", "uk", "ru", "tr", "fr", "es")
SECONDARY_LANGUAGES = ("ps", "ku", "ti")


def test_every_offered_language_has_training_data() -> None:
    languages = {language for language, _path in training_files(SETTINGS.nlu_data_dir)}
    # Easy German is German to the classifier.
    assert set(SETTINGS.languages) - {"de_simple"} <= languages


@pytest.mark.parametrize(("language", "path"), training_files(SETTINGS.nlu_data_dir))
def test_training_file_follows_rasa_format_and_covers_every_intent(
    language: str, path: Path
) -> None:
    examples = load_file(path, language)
    assert {example.intent for example in examples} == set(INTENTS)
    assert path.read_text(encoding="utf-8").startswith('version: "3.1"')


@pytest.mark.parametrize("language", MAIN_LANGUAGES + SECONDARY_LANGUAGES)
def test_every_intent_has_enough_examples_per_language(language: str) -> None:
    examples = [e for e in load_training_data(SETTINGS.nlu_data_dir) if e.language == language]
    counts = Counter(example.intent for example in examples)
    minimum = 20 if language in MAIN_LANGUAGES else 10
    thin = {intent: counts[intent] for intent in INTENTS if counts[intent] < minimum}
    assert thin == {}, f"{language}: fewer than {minimum} examples for {thin}"


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_arabic_and_farsi_include_latin_script_messages(language: str) -> None:
    examples = load_file(SETTINGS.nlu_data_dir / language / "nlu.yml", language)
    latin = Counter(
        e.intent
        for e in examples
        if sum(c.isascii() and c.isalpha() for c in e.text) > len(e.text) / 2
    )
    assert len(latin) == len(INTENTS), (
        f"intents without Latin-script examples: {sorted(set(INTENTS) - set(latin))}"
    )


def test_the_held_out_set_is_scored_only_where_it_was_never_trained_on() -> None:
    heldout = load_heldout(HELDOUT_DIR)
    assert {e.language for e in heldout} >= set(MAIN_LANGUAGES)
    training = load_training_data(SETTINGS.nlu_data_dir)
    scored = unseen(heldout, training)
    trained = {(e.language, normalise(e.text)) for e in training}
    assert all((e.language, normalise(e.text)) not in trained for e in scored)
    # Independent writers share common phrases ("oui", "thank you"); most of the set is new.
    assert len(scored) >= 0.7 * len(heldout)
    per_language = Counter(e.language for e in scored)
    assert min(per_language[lang] for lang in MAIN_LANGUAGES) >= 150


GOOD = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
"""


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (GOOD.replace('version: "3.1"', "version: 3.1"), 'version must be the string "3.1"'),
        (GOOD.replace('version: "3.1"\n', ""), "version"),
        (GOOD + "- intent: greet\n  examples: |\n    - hey\n", "appears twice"),
        (GOOD.replace("greet", "say_hello"), "not one of the bot's intents"),
        (GOOD.replace("    - hi there", "    hi there"), "must start with '- '"),
        (GOOD.replace("    - hi there", "    - Hello!"), "duplicate example"),
        (GOOD.replace("    - hi there", "    - hi [Leipzig](city)"), "entity markup"),
        (
            GOOD.replace("  examples: |\n    - hello\n    - hi there\n", "  examples: []\n"),
            "'|' block",
        ),
        ("nlu: [", "not valid YAML"),
        (GOOD + "rules: []\n", "unexpected top-level key"),
    ],
)
def test_broken_files_are_rejected_naming_the_problem(
    tmp_path: Path, content: str, fragment: str
) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TrainingDataError, match=None) as error:
        load_file(path, "en")
    assert fragment in str(error.value)
    assert str(path) in str(error.value)


def test_errors_point_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(
        GOOD + "- intent: goodbye\n  examples: |\n    - bye\n    - Bye.\n", encoding="utf-8"
    )
    with pytest.raises(TrainingDataError) as error:
        load_file(path, "en")
    assert f"{path}:10:" in str(error.value)
