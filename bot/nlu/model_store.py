"""Trains the classifier once and caches it on disk; retrains by itself when the data changes.

The cache key is a fingerprint of every training file plus the model's version and scikit-learn's,
so editing nlu_data/ (or upgrading the model) makes the next start train a fresh model.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import pickle
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import sklearn

from bot.nlu.classifier import IntentClassifier
from bot.nlu.romanized import RomanizedLanguageModel
from bot.nlu.training_data import fingerprint, load_training_data, training_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NluModels:
    """What training produces: the intent classifier and the romanized-language model."""

    intents: IntentClassifier
    romanized: RomanizedLanguageModel


@dataclass(frozen=True)
class TrainedModel:
    models: NluModels
    fingerprint: str
    examples: int
    trained_seconds: float | None  # None when loaded from the cache


@functools.lru_cache(maxsize=2)
def _load_cached(path: Path) -> NluModels:
    """A cached model, read once per process (the file name changes with the data)."""
    with path.open("rb") as handle:
        return pickle.load(handle)


def model_fingerprint(nlu_dir: Path) -> str:
    paths = [path for _language, path in training_files(nlu_dir)]
    return fingerprint(
        paths, extra=f"{IntentClassifier.version}|romanized-v1|sklearn {sklearn.__version__}"
    )


def train(nlu_dir: Path) -> TrainedModel:
    examples = load_training_data(nlu_dir)
    started = time.perf_counter()
    models = NluModels(IntentClassifier().fit(examples), RomanizedLanguageModel().fit(examples))
    seconds = time.perf_counter() - started
    return TrainedModel(models, model_fingerprint(nlu_dir), len(examples), seconds)


def load_or_train(nlu_dir: Path, cache_dir: Path, *, force: bool = False) -> TrainedModel:
    """The cached model for the current data, training (and caching) it if there is none."""
    key = model_fingerprint(nlu_dir)
    path = cache_dir / f"intent-model-{key}.pkl"
    if path.exists() and not force:
        try:
            return TrainedModel(_load_cached(path), key, 0, None)
        except Exception:  # a truncated or incompatible cache: train again
            log.warning("NLU model cache %s unreadable; retraining", path.name)
    model = train(nlu_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache_dir, delete=False, suffix=".tmp") as handle:
        pickle.dump(model.models, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(handle.name, path)
    for old in cache_dir.glob("intent-model-*.pkl"):
        if old != path:
            old.unlink(missing_ok=True)
    log.info(
        "NLU model trained on %d examples in %.1f s (%s)",
        model.examples,
        model.trained_seconds or 0,
        key,
    )
    return model


def model_is_cached(nlu_dir: Path, cache_dir: Path) -> bool:
    return (cache_dir / f"intent-model-{model_fingerprint(nlu_dir)}.pkl").exists()


def _train_and_cache(nlu_dir: str, cache_dir: str) -> None:
    load_or_train(Path(nlu_dir), Path(cache_dir), force=True)


def load_or_train_apart(nlu_dir: Path, cache_dir: Path) -> TrainedModel:
    """Like `load_or_train`, but a needed training runs in a child process: training takes
    about 150 MB more than the trained model, and the bot should not keep that peak."""
    path = cache_dir / f"intent-model-{model_fingerprint(nlu_dir)}.pkl"
    if not path.exists():
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            pool.submit(_train_and_cache, str(nlu_dir), str(cache_dir)).result()
    return load_or_train(nlu_dir, cache_dir)
