"""Benchmark of the free-text understanding, with a baseline measured in the same run.

Prints: held-out intent accuracy overall and per language; language identification on
native-script held-out messages; training time; prediction latency p50/p99 on one thread; resident
memory of a process running the whole bot core. The baseline is a word-unigram TF-IDF + logistic
regression classifier (what one would try first), trained and timed the same way, so the ratios
say what the character n-grams buy and cost.

Run: .venv/bin/python bench/nlu_bench.py
Targets (issue 4): accuracy >= 95% overall and >= 90% per main language; language id >= 97%;
p99 < 25 ms; training < 60 s; resident memory of the running bot < 400 MB.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.nlu.classifier import IntentClassifier  # noqa: E402
from bot.nlu.commands import HELDOUT_DIR  # noqa: E402
from bot.nlu.evaluation import evaluate, language_hits  # noqa: E402
from bot.nlu.langid import LanguageIdentifier  # noqa: E402
from bot.nlu.model_store import load_or_train  # noqa: E402
from bot.nlu.romanized import is_romanized  # noqa: E402
from bot.nlu.training_data import load_heldout, load_training_data, unseen  # noqa: E402

MAIN_LANGUAGES = ("de", "en", "ar", "fa", "uk", "ru", "tr", "fr", "es")


class BaselineClassifier(IntentClassifier):
    """Word unigrams only."""

    def __init__(self) -> None:
        super().__init__()
        self._pipeline = Pipeline([
            ("features", TfidfVectorizer(analyzer="word", lowercase=True)),
            ("model", LogisticRegression(max_iter=3000)),
        ])  # fmt: skip


def latency_ms(classifier: IntentClassifier, texts: list[str]) -> tuple[float, float]:
    for text in texts[:20]:
        classifier.predict(text)  # warm-up
    timings = []
    for text in texts:
        started = time.perf_counter()
        classifier.predict(text)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1]


RSS_PROBE = """
import asyncio, sys
sys.path.insert(0, {root!r})
from bot.config import load_settings
from bot.app import open_core
from bot.core.events import PersonRef, Text
async def main():
    settings = load_settings(environ={{"DATABASE_URL": "sqlite+aiosqlite:///{db}"}})
    if {cache!r}:
        import dataclasses, pathlib
        settings = dataclasses.replace(settings, nlu_cache_dir=pathlib.Path({cache!r}))
    core = await open_core(settings)
    ref = PersonRef("bench", "1", "en")
    for text in ("hello", "في مصاري؟", "komak lazem daram", "geht ehrenamt mit duldung?"):
        await core.service.handle(ref, Text(text))
    await core.close()
asyncio.run(main())
print(peak_rss_mb())
"""

BASELINE_PROBE = """
import aiogram, sqlalchemy, aiosqlite, babel, yaml
print(peak_rss_mb())
"""

# getrusage's ru_maxrss survives exec (a child would report the parent's peak): read the
# child's own peak from /proc instead.
PEAK_RSS = """
def peak_rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
"""


def rss_mb(code: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", PEAK_RSS + code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return int(result.stdout.strip().splitlines()[-1])


def main() -> None:
    settings = load_settings(environ={})
    training = load_training_data(settings.nlu_data_dir)
    everything = load_heldout(HELDOUT_DIR)
    heldout = unseen(everything, training)
    print(
        f"training examples: {len(training)}; held-out messages: {len(heldout)} "
        f"({len(everything) - len(heldout)} that also occur in training left out)"
    )

    rows = []
    for name, factory in (
        ("baseline (word TF-IDF)", BaselineClassifier),
        ("engagiert (char+word TF-IDF)", IntentClassifier),
    ):
        started = time.perf_counter()
        classifier = factory().fit(training)
        train_s = time.perf_counter() - started
        result = evaluate(classifier, heldout)
        p50, p99 = latency_ms(classifier, [e.text for e in heldout])
        rows.append((name, result, train_s, p50, p99))

    print(
        f"\n{'classifier':30} {'held-out acc':>12} {'macro-F1':>9} {'train s':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7}"
    )
    for name, result, train_s, p50, p99 in rows:
        print(
            f"{name:30} {result.overall.accuracy:12.1%} {result.overall.macro_f1:9.3f} "
            f"{train_s:8.1f} {p50:7.2f} {p99:7.2f}"
        )
    base, ours = rows[0], rows[1]
    accuracy_ratio = ours[1].overall.accuracy / base[1].overall.accuracy
    print(
        f"ratio engagiert/baseline: accuracy x{accuracy_ratio:.2f}, "
        f"training time x{ours[2] / base[2]:.1f}, p99 x{ours[4] / base[4]:.1f}"
    )

    print("\nper language (held-out):")
    baseline_by = {s.name: s for s in base[1].per_language}
    for score in ours[1].per_language:
        flag = "" if score.name not in MAIN_LANGUAGES or score.accuracy >= 0.9 else "  < 90%"
        print(
            f"  {score.name:6} n={score.examples:4d}  accuracy {score.accuracy:6.1%}  "
            f"(baseline {baseline_by[score.name].accuracy:6.1%}){flag}"
        )
    print("worst confusions:", ", ".join(f"{t}->{g} ({n})" for t, g, n in ours[1].confusions[:6]))

    identifier = LanguageIdentifier(settings.languages)
    native = [e for e in heldout if not is_romanized(e)]
    correct = language_hits(identifier, native)
    print(
        f"\nlanguage identification, native-script held-out: {correct}/{len(native)} "
        f"= {correct / len(native):.1%}"
    )

    db = ROOT / "data" / "bench.sqlite3"
    # The bot starts from the cached model (it trains only after the data changed): make sure
    # the cache is current, so the probe measures a normal start, not a training run.
    load_or_train(settings.nlu_data_dir, settings.nlu_cache_dir)
    core_rss = rss_mb(RSS_PROBE.format(root=str(ROOT), db=str(db), cache=""))
    with tempfile.TemporaryDirectory() as empty_cache:  # a start that has to retrain
        retrain_rss = rss_mb(RSS_PROBE.format(root=str(ROOT), db=str(db), cache=empty_cache))
    base_rss = rss_mb(BASELINE_PROBE)
    print(
        f"\nresident memory: running bot core {core_rss} MB ({retrain_rss} MB on a start that "
        f"retrains, training in a child process); bare imports of the framework "
        f"{base_rss} MB (ratio x{core_rss / base_rss:.1f})"
    )
    db.unlink(missing_ok=True)


if __name__ == "__main__":
    asyncio.run(asyncio.sleep(0))
    main()
