"""Offline machine translation with argostranslate, pivoting through English.

argostranslate reads its settings from the environment once, when it is first imported, and some
of its defaults go online: a package with a `stanza/` folder downloads Stanza's resources on first
use, the spaCy splitter downloads a model at import, a package without a MiniSBD model downloads
one. So every argostranslate import happens inside this module's functions, after
`configure_argos()` has set the environment, and that also sets the settings module itself in
case something else imported argostranslate first. Sentences are split with the package's own
MiniSBD model where it has one, otherwise at punctuation; Stanza is never used.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.mt.translator import Translation, needs_no_engine

log = logging.getLogger(__name__)

PIVOT = "en"

# The bot's language codes and argostranslate's (ISO 639-1), with whether argospm's index
# publishes models for the language (as of argostranslate 1.11: X<->English pairs). A model
# for the others can still be installed from a file; it is found under the code on the right.
ARGOS_LANGUAGES: dict[str, tuple[str, bool]] = {
    "de": ("de", True),
    "de_simple": ("de", True),  # easy German is translated as German
    "en": ("en", True),
    "ar": ("ar", True),
    "fa": ("fa", True),  # Farsi and Dari: one catalogue, one Persian model
    "uk": ("uk", True),
    "ru": ("ru", True),
    "tr": ("tr", True),
    "fr": ("fr", True),
    "es": ("es", True),
    "ps": ("ps", False),
    "ku": ("ku", False),  # Kurmanji
    "ti": ("ti", False),
}

# Set before argostranslate's first import; see the module docstring.
_ENVIRONMENT = {
    "ARGOS_DEVICE_TYPE": "cpu",
    "ARGOS_MODEL_PROVIDER": "OPENNMT",  # local models, not a LibreTranslate or OpenAI server
    "ARGOS_CHUNK_TYPE": "MINISBD",  # not Stanza (online on first use) nor spaCy (at import)
    "ARGOS_INTER_THREADS": "1",
    "ARGOS_INTRA_THREADS": "1",  # 2 cores shared with the bot and its NLU
}

_SENTENCE_END = re.compile(r"(?<=[.!?؟۔።፧…])\s+")


def argos_code(code: str) -> str:
    return ARGOS_LANGUAGES.get(code, (code, False))[0]


def argos_publishes(code: str) -> bool:
    return ARGOS_LANGUAGES.get(code, (code, False))[1]


def find_route(pairs: Any, source: str, target: str) -> list[str] | None:
    """Direct where a model exists, else through English; codes are argostranslate's."""
    if source == target:
        return [source]
    if (source, target) in pairs:
        return [source, target]
    if (source, PIVOT) in pairs and (PIVOT, target) in pairs:
        return [source, PIVOT, target]
    return None


def configure_argos(packages_dir: Path) -> ModuleType:
    """Configures argostranslate for this packages folder and returns its settings module."""
    os.environ.update(_ENVIRONMENT)
    os.environ["ARGOS_PACKAGES_DIR"] = str(packages_dir)
    from argostranslate import settings

    settings.package_data_dir = packages_dir
    settings.package_dirs = [packages_dir]
    settings.device = "cpu"
    settings.model_provider = settings.ModelProvider.OPENNMT
    settings.chunk_type = settings.ChunkType.MINISBD
    settings.inter_threads = settings.intra_threads = 1
    return settings


@dataclass(frozen=True)
class InstalledPackage:
    source: str
    target: str
    version: str
    path: Path
    package: Any  # argostranslate.package.Package

    @property
    def has_sentence_model(self) -> bool:
        return any((self.path / "minisbd").glob("*.onnx"))


def installed_packages(packages_dir: Path) -> dict[tuple[str, str], InstalledPackage]:
    """The translation packages in the folder, the newest version of each pair. A broken
    package folder is logged and skipped, so one bad copy does not disable the others."""
    if not packages_dir.is_dir() or not any(packages_dir.iterdir()):
        return {}
    configure_argos(packages_dir)
    from argostranslate.package import Package
    from packaging.version import InvalidVersion, Version

    def version_key(version: str) -> Version:
        try:
            return Version(version)
        except InvalidVersion:
            return Version("0")

    found: dict[tuple[str, str], InstalledPackage] = {}
    for path in sorted(p for p in packages_dir.iterdir() if p.is_dir()):
        try:
            package = Package(path)
        except Exception as exc:
            log.warning("skipping %s: not a translation package (%s)", path, exc)
            continue
        if package.type != "translate" or not package.from_code or not package.to_code:
            continue
        pair = (package.from_code, package.to_code)
        installed = InstalledPackage(*pair, str(package.package_version or ""), path, package)
        known = found.get(pair)
        if known is None or version_key(installed.version) > version_key(known.version):
            found[pair] = installed
    return found


class _PunctuationSentences:
    """Sentence splitting for packages without a MiniSBD model, instead of a download."""

    def split_sentences(self, text: str) -> list[str]:
        return [part for part in _SENTENCE_END.split(text) if part.strip()]


class ArgosTranslator:
    """argostranslate models from one folder, run one at a time in a single worker thread, so a
    translation never blocks the event loop and two never compete for the 2 cores."""

    name = "argos"

    def __init__(self, packages_dir: Path, timeout_seconds: float = 10.0) -> None:
        self._timeout = timeout_seconds
        self._packages = installed_packages(packages_dir)
        self._hops: dict[tuple[str, str], Any] = {}  # touched by the worker thread only
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argos")
        if self._packages:
            # The first import pulls in torch (seconds); do it now rather than in a timeout.
            self._worker.submit(_import_translate)
        else:
            log.warning(
                "no translation models in %s: messages are relayed untranslated "
                "(engagiert mt install FILE.argosmodel)",
                packages_dir,
            )

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return sorted(self._packages)

    def route(self, source: str, target: str) -> list[str] | None:
        return find_route(self._packages, argos_code(source), argos_code(target))

    async def translate(
        self, text: str, source: str, target: str, *, person_id: int | None = None
    ) -> Translation:
        same = needs_no_engine(text, source, target, self.name)
        if same is not None:
            return same
        chain = self.route(source, target)
        if chain is None:
            return self._failed(source, target, f"no model {source}->{target}")
        if len(chain) == 1:  # e.g. easy German to German
            return Translation(text, source, target, self.name)
        job = asyncio.wrap_future(self._worker.submit(self._run, text, chain))
        try:
            translated = await asyncio.wait_for(job, self._timeout)
        except TimeoutError:
            return self._failed(source, target, f"timeout after {self._timeout:g} s")
        except Exception as exc:
            log.exception("argostranslate failed on %s", "->".join(chain))
            return self._failed(source, target, f"error: {type(exc).__name__}: {exc}"[:200])
        if not translated.strip():
            return self._failed(source, target, "error: the model returned nothing")
        return Translation(translated, source, target, self.name)

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _failed(self, source: str, target: str, why: str) -> Translation:
        return Translation(None, source, target, self.name, why)

    def _run(self, text: str, chain: list[str]) -> str:
        for source, target in pairwise(chain):
            text = self._hop(source, target).translate(text)
        return text

    def _hop(self, source: str, target: str) -> Any:
        hop = self._hops.get((source, target))
        if hop is None:
            translate = _import_translate()
            installed = self._packages[(source, target)]
            package = installed.package
            hop = translate.PackageTranslation(
                translate.Language(source, package.from_name),
                translate.Language(target, package.to_name),
                package,
            )
            if installed.has_sentence_model:
                from minisbd import SBDetect

                # argostranslate's own MiniSBD splitter, held to one thread like CTranslate2.
                hop.sentencizer.detector = SBDetect(
                    hop.sentencizer.lang, use_gpu=False, max_threads=1
                )
            else:
                hop.sentencizer = _PunctuationSentences()
            self._hops[(source, target)] = hop
        return hop


class _UnusedSplitter(ModuleType):
    """Stands in for Stanza: argostranslate imports it at module level for a sentence splitter
    this bot never uses (MiniSBD, or punctuation; never anything that goes online)."""

    def __getattr__(self, name: str) -> Any:
        # AttributeError, as for any missing module attribute: tools that walk sys.modules
        # (hypothesis, inspect) look for __file__ and the like and expect exactly that.
        raise AttributeError(f"{self.__name__}.{name}: Stanza is not used by engagiert-bot")


def keep_out_unused_splitters() -> None:
    """Stanza pulls in torch, and spaCy is heavy too: about 250 MB of memory and seconds of
    start-up (measured: 318 MB -> 64 MB for `import argostranslate.translate`) for nothing the
    bot runs. Only where nobody imported them already."""
    if "stanza" not in sys.modules:
        sys.modules["stanza"] = _UnusedSplitter("stanza")
    if "spacy" not in sys.modules:
        sys.modules["spacy"] = None  # type: ignore[assignment]  # argostranslate: "not installed"


def _import_translate() -> ModuleType:
    keep_out_unused_splitters()
    import argostranslate.translate

    # argostranslate logs every text it translates at INFO: people's words stay out of our logs.
    logging.getLogger("argostranslate.utils").setLevel(logging.WARNING)
    return argostranslate.translate
