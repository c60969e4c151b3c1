"""Which of the bot's languages a message is written in.

Script rules first, because they are certain where they apply: Ethiopic letters mean Tigrinya;
in Arabic script, letters that Arabic lacks tell Farsi (پ چ ژ گ ی) and Pashto (ټ ډ ړ ږ ښ ګ ڼ ې ۍ).
Everything else goes to py3langid, restricted to the languages the bot offers.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Catalogue code -> py3langid code. Easy German is German to a classifier.
_CLASSIFIER_CODE = {"de_simple": "de"}
_PASHTO_LETTERS = frozenset("ټډړږښګڼېۍ")
_PERSIAN_LETTERS = frozenset("پچژگی")
MIN_LETTERS = 4


@functools.lru_cache(maxsize=4)
def _load_model(languages: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """py3langid's model restricted to `languages`. Read-only once built, so one copy per
    language set serves every identifier in the process (loading takes most of a second)."""
    from py3langid.langid import MODEL_FILE
    from py3langid.langid import LanguageIdentifier as Py3LangId

    model = Py3LangId.from_model_file(MODEL_FILE, norm_probs=True)
    model.set_languages(list(languages))
    return model


@dataclass(frozen=True)
class Detection:
    language: str
    confidence: float


def _letters(text: str) -> list[str]:
    return [ch for ch in text if ch.isalpha()]


def _script_of(ch: str) -> str:
    name = unicodedata.name(ch, "")
    if name.startswith("ETHIOPIC"):
        return "ethiopic"
    if name.startswith("ARABIC"):
        return "arabic"
    return "other"


class LanguageIdentifier:
    """Thread-safe; the py3langid model (about a second to load) is loaded on first use."""

    def __init__(self, languages: Iterable[str]) -> None:
        self.languages = tuple(dict.fromkeys(languages))
        self._classifier_languages = sorted(
            {_CLASSIFIER_CODE.get(code, code) for code in self.languages} - {"ti"}
        )
        self._model = None
        self._lock = threading.Lock()

    def _classifier(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                self._model = _load_model(tuple(self._classifier_languages))
            return self._model

    def warm_up(self) -> None:
        """Loads the model (about a second); call it from a thread at start."""
        if self._classifier_languages:
            self._classifier()

    def _catalogue_code(self, code: str) -> str | None:
        if code in self.languages:
            return code
        for catalogue, classifier in _CLASSIFIER_CODE.items():
            if classifier == code and catalogue in self.languages and code not in self.languages:
                return catalogue
        return None

    def detect(self, text: str) -> Detection | None:
        """The most likely offered language, or None when the text is too short to tell."""
        letters = _letters(text)
        if len(letters) < MIN_LETTERS:
            return None
        scripts = [_script_of(ch) for ch in letters]
        if scripts.count("ethiopic") * 2 > len(letters):
            return Detection("ti", 1.0) if "ti" in self.languages else None
        if scripts.count("arabic") * 2 > len(letters):
            if any(ch in _PASHTO_LETTERS for ch in letters) and "ps" in self.languages:
                return Detection("ps", 0.99)
            if any(ch in _PERSIAN_LETTERS for ch in letters) and "fa" in self.languages:
                return Detection("fa", 0.99)
        if not self._classifier_languages:
            return None
        code, probability = self._classifier().classify(text)
        language = self._catalogue_code(code)
        if language is None:
            return None
        return Detection(language, float(probability))
