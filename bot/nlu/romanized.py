"""Arabic, Farsi and Pashto typed in Latin letters ("fi masari?", "komak lazem daram").

No language-identification library knows these; py3langid calls them English or Turkish. This
small character n-gram model is trained on the Latin-script messages of our own training data,
labelled with the language of the file they come from, so it learns what Arabizi and Finglish
look like next to real English, German, Turkish or Kurdish.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from bot.nlu.classifier import normalise
from bot.nlu.training_data import Example

ROMANIZED_LANGUAGES = frozenset({"ar", "fa", "ps"})


def is_latin_script(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum(ch.isascii() for ch in letters) * 2 > len(letters)


def is_romanized(example: Example) -> bool:
    """An Arabic, Farsi or Pashto example written in Latin letters."""
    return example.language in ROMANIZED_LANGUAGES and is_latin_script(example.text)


class RomanizedLanguageModel:
    def __init__(self) -> None:
        self._pipeline = Pipeline([
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4),
                                      preprocessor=normalise, sublinear_tf=True, min_df=2)),
            ("model", LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")),
        ])  # fmt: skip

    def fit(self, examples: Sequence[Example]) -> RomanizedLanguageModel:
        latin = [e for e in examples if is_latin_script(e.text)]
        # With training data in one Latin-script language only there is nothing to tell apart.
        self._trained = len({e.language for e in latin}) > 1
        if self._trained:
            self._pipeline.fit([e.text for e in latin], [e.language for e in latin])
        return self

    def guess(self, text: str) -> tuple[str, float]:
        if not getattr(self, "_trained", False):
            return "", 0.0
        probabilities = self._pipeline.predict_proba([text])[0]
        best = int(probabilities.argmax())
        return str(self._pipeline.classes_[best]), float(probabilities[best])
