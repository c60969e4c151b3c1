"""`engagiert nlu train | evaluate | predict | review`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

from bot.config import PROJECT_ROOT, Settings
from bot.nlu.classifier import IntentClassifier
from bot.nlu.evaluation import Evaluation, cross_validate, evaluate, language_hits
from bot.nlu.langid import LanguageIdentifier
from bot.nlu.model_store import load_or_train
from bot.nlu.romanized import is_romanized
from bot.nlu.training_data import Example, load_heldout, load_training_data, unseen
from bot.nlu.understanding import Understanding

HELDOUT_DIR = PROJECT_ROOT / "nlu_heldout"


def train(settings: Settings, out: TextIO = sys.stdout) -> int:
    model = load_or_train(settings.nlu_data_dir, settings.nlu_cache_dir, force=True)
    out.write(
        f"trained on {model.examples} examples in {model.trained_seconds:.1f} s "
        f"(model {model.fingerprint}, cached in {settings.nlu_cache_dir})\n"
    )
    return 0


def _print(title: str, evaluation: Evaluation, out: TextIO) -> None:
    overall = evaluation.overall
    out.write(
        f"\n{title}: {overall.examples} messages, accuracy {overall.accuracy:.1%}, "
        f"macro-F1 {overall.macro_f1:.3f}\n"
    )
    out.write(f"  {'language':10} {'n':>5} {'accuracy':>9} {'macro-F1':>9}\n")
    for score in evaluation.per_language:
        out.write(
            f"  {score.name:10} {score.examples:5d} {score.accuracy:9.1%} {score.macro_f1:9.3f}\n"
        )
    if evaluation.confusions:
        out.write("  worst confusions (true -> predicted: count):\n")
        for truth, guess, count in evaluation.confusions:
            out.write(f"    {truth} -> {guess}: {count}\n")


def evaluate_command(settings: Settings, folds: int, out: TextIO = sys.stdout) -> int:
    model = load_or_train(settings.nlu_data_dir, settings.nlu_cache_dir)
    training = load_training_data(settings.nlu_data_dir)
    everything = load_heldout(HELDOUT_DIR)
    heldout = unseen(everything, training)
    if heldout:
        left_out = len(everything) - len(heldout)
        _print(
            f"held-out set (nlu_heldout/; {left_out} messages that also occur in the training "
            "data left out)",
            evaluate(model.models.intents, heldout),
            out,
        )
        _thresholds(model.models.intents, heldout, settings.nlu_threshold, out)
        identifier = LanguageIdentifier(settings.languages, romanized=model.models.romanized)
        for label, examples in (
            ("Latin-script Arabic/Farsi/Pashto", [e for e in heldout if is_romanized(e)]),
            ("native-script", [e for e in heldout if not is_romanized(e)]),
        ):
            hits = language_hits(identifier, examples)
            out.write(
                f"\nlanguage identification on {label} held-out messages: "
                f"{hits}/{len(examples)} = {hits / max(len(examples), 1):.1%}"
            )
        out.write("\n")
    if folds > 1:
        started = time.perf_counter()
        _print(
            f"{folds}-fold cross-validation on the training data",
            cross_validate(training, folds),
            out,
        )
        out.write(f"  ({time.perf_counter() - started:.0f} s)\n")
    return 0


def _thresholds(
    classifier: IntentClassifier, heldout: list[Example], current: float, out: TextIO
) -> None:
    """What each confidence threshold would do: how often the bot acts, how often rightly."""
    predictions = classifier.predict_many([e.text for e in heldout])
    out.write("  threshold   acts on   right when acting   (below it: 'did you mean')\n")
    for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        acted = [
            p.intent == e.intent
            for p, e in zip(predictions, heldout, strict=True)
            if p.confidence >= threshold
        ]
        marker = "   <- config" if abs(threshold - current) < 1e-9 else ""
        out.write(
            f"  {threshold:9.2f}  {len(acted) / len(heldout):8.1%}  "
            f"{sum(acted) / max(len(acted), 1):18.1%}{marker}\n"
        )


def predict(settings: Settings, stream: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """One message per input line, one JSON object per output line."""
    model = load_or_train(settings.nlu_data_dir, settings.nlu_cache_dir)
    identifier = LanguageIdentifier(settings.languages, romanized=model.models.romanized)
    understanding = Understanding(
        model.models.intents, identifier, threshold=settings.nlu_threshold
    )
    for line in stream:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        meaning = understanding.interpret(text)
        out.write(
            json.dumps(
                {
                    "text": text,
                    "intent": meaning.intent,
                    "confidence": round(meaning.confidence, 4),
                    "language": meaning.language,
                },
                ensure_ascii=False,
            )
            + "\n"
        )
        out.flush()
    return 0


async def review(settings: Settings, delete: bool, out: TextIO = sys.stdout) -> int:
    from bot.storage.database import Database

    database = Database(settings.database_url)
    try:
        await database.upgrade()
        async with database.transaction() as repo:
            messages = await repo.nlu_review.oldest()
            for message in messages:
                out.write(
                    f"{message.id:6d}  {message.language:9} {message.intent:26} "
                    f"{message.confidence:.2f}  {message.text}\n"
                )
            out.write(
                f"{len(messages)} message(s) to review. Add them to nlu_data/<lang>/nlu.yml "
                "under the right intent, then run `engagiert nlu review --delete`.\n"
            )
            if delete and messages:
                removed = await repo.nlu_review.delete_up_to(messages[-1].id)
                out.write(f"deleted {removed} reviewed message(s)\n")
    finally:
        await database.dispose()
    return 0


def heldout_dir() -> Path:
    return HELDOUT_DIR
