"""Which of the bot's languages a message is written in.

Script rules first, because they are certain where they apply: Ethiopic letters mean Tigrinya;
in Arabic script, Pashto's own letters (ټ ډ ړ ږ ښ ګ ڼ ې ۍ) mean Pashto, and letters Arabic lacks
(پ چ ژ گ ی) rule Arabic out. Arabic, Farsi and Pashto typed in Latin letters are recognised by
our own small model (bot/nlu/romanized.py). Everything else goes to py3langid, restricted to the
offered languages, after removing German paperwork words (Duldung, Jobcenter ...) that people copy
into messages in any language; the person's Telegram language decides close calls.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from bot.nlu.romanized import ROMANIZED_LANGUAGES, RomanizedLanguageModel, is_latin_script

# Catalogue code -> py3langid code. Easy German is German to a classifier.
_CLASSIFIER_CODE = {"de_simple": "de"}
_PASHTO_LETTERS = frozenset("ټډړږښګڼېۍ")
_PERSIAN_LETTERS = frozenset("پچژگی")
MIN_LETTERS = 4
PRIOR_WEIGHT = 3.0


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


# German words people copy from letters and forms, whatever language they write in; they say
# nothing about the language of the message around them.
_PAPERWORK_RE = re.compile(
    r"\b(ehrenamt\w*|ausländerbehörde|auslanderbehorde|aufenthalts\w*|gestattung|duldung|"
    r"führungszeugnis|fuhrungszeugnis|jobcenter|sozialamt|bürgergeld|burgergeld|asylblg|verein|"
    r"migrationsberatung|bescheinigung|beschäftigungserlaubnis|leipzig)\b",
    re.IGNORECASE,
)


def _without_paperwork_words(text: str) -> str:
    return _PAPERWORK_RE.sub(" ", text)


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

    def __init__(
        self, languages: Iterable[str], *, romanized: RomanizedLanguageModel | None = None
    ) -> None:
        self.languages = tuple(dict.fromkeys(languages))
        # Trained with the intent model; set when that is loaded.
        self.romanized = romanized
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

    def _ranked(self, text: str, prior: str | None) -> tuple[str, float]:
        """py3langid's best guess; the prior language's probability counts triple, which decides
        between close candidates but never overrules a clear one."""
        ranking = self._classifier().rank(text)
        prior_code = _CLASSIFIER_CODE.get(prior, prior) if prior else None
        weights = [(code, p * (PRIOR_WEIGHT if code == prior_code else 1.0)) for code, p in ranking]
        total = sum(weight for _code, weight in weights) or 1.0
        code, weight = max(weights, key=lambda item: item[1])
        return code, weight / total

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

    def detect(self, text: str, prior: str | None = None) -> Detection | None:
        """The most likely offered language, or None when the text is too short to tell.
        `prior` is the language the person's Telegram app uses: it wins a close call."""
        letters = _letters(text)
        if len(letters) < MIN_LETTERS:
            return None
        scripts = [_script_of(ch) for ch in letters]
        if scripts.count("ethiopic") * 2 > len(letters):
            return Detection("ti", 1.0) if "ti" in self.languages else None
        arabic_script = scripts.count("arabic") * 2 > len(letters)
        if (
            arabic_script
            and "ps" in self.languages
            and any(ch in _PASHTO_LETTERS for ch in letters)
        ):
            return Detection("ps", 0.99)
        if not self._classifier_languages:
            return None
        if self.romanized is not None and is_latin_script(text):
            guess, confidence = self.romanized.guess(text)
            if guess in ROMANIZED_LANGUAGES and guess in self.languages and confidence >= 0.6:
                return Detection(guess, confidence)
        stripped = _without_paperwork_words(text)
        code, probability = self._ranked(
            stripped if len(_letters(stripped)) >= MIN_LETTERS else text, prior
        )
        # Persian letters rule out Arabic, not Pashto (which shares them): the model decides that.
        if arabic_script and code == "ar" and any(ch in _PERSIAN_LETTERS for ch in letters):
            code, probability = "fa", 0.99
        language = self._catalogue_code(code)
        if language is None:
            return None
        return Detection(language, float(probability))
