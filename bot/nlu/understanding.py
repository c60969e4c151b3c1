"""One call for the core: what a message asks (intent) and which language it is written in."""

from __future__ import annotations

from dataclasses import dataclass

from bot.nlu.classifier import IntentClassifier
from bot.nlu.langid import LanguageIdentifier


@dataclass(frozen=True)
class Interpretation:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]
    language: str | None


class Understanding:
    def __init__(
        self,
        classifier: IntentClassifier,
        languages: LanguageIdentifier,
        *,
        threshold: float,
    ) -> None:
        self.classifier = classifier
        self.languages = languages
        self.threshold = threshold

    def interpret(self, text: str, prior_language: str | None = None) -> Interpretation:
        prediction = self.classifier.predict(text)
        detection = self.languages.detect(text, prior=prior_language)
        return Interpretation(
            prediction.intent,
            prediction.confidence,
            prediction.ranking,
            detection.language if detection else None,
        )

    def is_sure(self, confidence: float) -> bool:
        return confidence >= self.threshold
