"""How well the bot understands: held-out accuracy and k-fold cross-validation, per language."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.nlu.classifier import IntentClassifier
from bot.nlu.langid import LanguageIdentifier
from bot.nlu.training_data import Example


@dataclass(frozen=True)
class Score:
    name: str
    examples: int
    accuracy: float
    macro_f1: float


@dataclass(frozen=True)
class Evaluation:
    overall: Score
    per_language: tuple[Score, ...]
    confusions: tuple[tuple[str, str, int], ...]  # (true, predicted, count), worst first


def macro_f1(pairs: Sequence[tuple[str, str]]) -> float:
    """Unweighted mean F1 over the intents that occur (as truth or prediction)."""
    labels = {truth for truth, _ in pairs} | {guess for _, guess in pairs}
    scores = []
    for label in labels:
        tp = sum(1 for t, p in pairs if t == label and p == label)
        fp = sum(1 for t, p in pairs if t != label and p == label)
        fn = sum(1 for t, p in pairs if t == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def score(name: str, pairs: Sequence[tuple[str, str]]) -> Score:
    correct = sum(1 for truth, guess in pairs if truth == guess)
    return Score(name, len(pairs), correct / len(pairs) if pairs else 0.0, macro_f1(pairs))


def summarise(results: Sequence[tuple[Example, str]], worst: int = 10) -> Evaluation:
    by_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for example, guess in results:
        by_language[example.language].append((example.intent, guess))
    pairs = [(example.intent, guess) for example, guess in results]
    confusions = Counter((truth, guess) for truth, guess in pairs if truth != guess)
    return Evaluation(
        overall=score("all", pairs),
        per_language=tuple(score(lang, by_language[lang]) for lang in sorted(by_language)),
        confusions=tuple((t, g, n) for (t, g), n in confusions.most_common(worst)),
    )


def evaluate(classifier: IntentClassifier, examples: Sequence[Example]) -> Evaluation:
    """Scores a trained classifier on examples it never saw (the held-out set)."""
    predictions = classifier.predict_many([example.text for example in examples])
    return summarise(
        [(example, p.intent) for example, p in zip(examples, predictions, strict=True)]
    )


def language_hits(identifier: LanguageIdentifier, examples: Sequence[Example]) -> int:
    """How many examples the identifier assigns to the language of the file they come from."""
    return sum(
        1
        for example in examples
        if (found := identifier.detect(example.text)) and found.language == example.language
    )


def cross_validate(
    examples: Sequence[Example],
    folds: int = 5,
    seed: int = 13,
    make: Callable[[], IntentClassifier] = IntentClassifier,
) -> Evaluation:
    """k-fold, stratified by language and intent: each example is predicted by a model that was
    trained on all the other folds (of every language)."""
    rng = random.Random(seed)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        groups[(example.language, example.intent)].append(index)
    fold_of = [0] * len(examples)
    for indices in groups.values():
        rng.shuffle(indices)
        for position, index in enumerate(indices):
            fold_of[index] = position % folds
    results: list[tuple[Example, str]] = []
    for fold in range(folds):
        train = [e for i, e in enumerate(examples) if fold_of[i] != fold]
        test = [e for i, e in enumerate(examples) if fold_of[i] == fold]
        classifier = make().fit(train)
        guesses = classifier.predict_many([e.text for e in test])
        results += [(e, g.intent) for e, g in zip(test, guesses, strict=True)]
    return summarise(results)
