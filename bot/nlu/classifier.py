"""The intent classifier: character n-gram and word TF-IDF features, a linear SVM on top.

Character n-grams carry across spelling mistakes, missing accents and scripts, so one model serves
every language at once. It knows a language only from that language's examples; the evaluation
(`engagiert nlu evaluate`) reports accuracy per language for that reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from bot.nlu.training_data import Example

MODEL_VERSION = "tfidf-char25-word12-svc-c15-v4"

# Arabic-script letters typed interchangeably (Arabic and Persian keyboards), and tatweel.
_ARABIC_FOLD = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا",
                              "آ": "ا", "ـ": None, "\u200c": None, "\u200d": None})  # fmt: skip
_SPACE_RE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Folds what people type differently for the same word: case, accents and diacritics,
    Arabic/Persian letter variants, joiners, dotless i, repeated letters ("pleeease")."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ı", "i")
    decomposed = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    text = unicodedata.normalize("NFC", text).translate(_ARABIC_FOLD)
    text = re.sub(r"(.)\1{2,}", r"\1\1", text)
    return _SPACE_RE.sub(" ", text).strip()


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]


class IntentClassifier:
    """Train with `fit`, then `predict`. Picklable, so a trained model can be cached on disk."""

    version = MODEL_VERSION

    def __init__(self) -> None:
        self._pipeline = Pipeline([
            ("features", FeatureUnion([
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5),
                                          preprocessor=normalise, sublinear_tf=True,
                                          min_df=2, max_features=300_000)),
                ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2),
                                          preprocessor=normalise, sublinear_tf=True,
                                          token_pattern=r"(?u)\b\w+\b")),
            ])),
            # A linear SVM trains ten times faster than logistic regression here and is as
            # accurate; calibration turns its scores into probabilities for the threshold. One
            # SVM on all data with a calibrator fitted by 3-fold cross-validation beat an
            # ensemble of three in cross-validation (81.3% vs 79.8%) and predicts twice as fast.
            # C=1.5: the contrast examples (nlu_contrast.yml) give near-identical phrasings
            # different intents, and a weaker penalty lets the SVM keep them apart. 5-fold
            # accuracy 86.6% at C=0.5, 87.1% at C=1.5 (C=0.3 86.1, C=1 87.1, C=2 87.2 on the
            # data one round earlier).
            (
                "model",
                CalibratedClassifierCV(
                    LinearSVC(C=1.5, class_weight="balanced"), cv=3, ensemble=False
                ),
            ),
        ])  # fmt: skip
        self.intents: tuple[str, ...] = ()

    def fit(self, examples: Sequence[Example]) -> IntentClassifier:
        texts = [example.text for example in examples]
        labels = [example.intent for example in examples]
        self._pipeline.fit(texts, labels)
        self.intents = tuple(self._pipeline.classes_)
        return self

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        probabilities = self._pipeline.predict_proba(list(texts))
        predictions = []
        for row in probabilities:
            order = np.argsort(row)[::-1][:5]
            ranking = tuple((self.intents[i], float(row[i])) for i in order)
            predictions.append(Prediction(ranking[0][0], ranking[0][1], ranking))
        return predictions

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]
