"""Machine translation: the real argostranslate path on a tiny model built offline, the cache,
the "none" engine, the settings and `engagiert mt status | install`.

argostranslate reads its environment once, at first import, so whichever test imports it first
would fix the settings for the whole session. These tests run in-process anyway, on purpose:
`bot.mt.argos.configure_argos` sets the environment before importing and then sets
argostranslate's settings module itself, and the translator hands argostranslate each package
by path instead of relying on its global packages folder. So the tests prove exactly what the
bot relies on: it works whether or not something imported argostranslate before it.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.mt.cache import CachingTranslator, InMemoryTranslationCache, cache_key
from bot.mt.factory import build_translator
from bot.mt.translator import NoTranslator, Translation

FARSI = "سلام، من برای کارهای داوطلبانه کمک می‌خواهم. آیا ممکن است؟"
GERMAN = "Hallo! Wir haben einen Termin für Sie. Passt Ihnen Dienstag?"


# --- the tiny model ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The .argosmodel files, built once per session (about a second)."""
    pytest.importorskip("argostranslate", reason="needs the [mt] extra")
    from tests.argos_tiny_model import build_parts, write_package

    out = tmp_path_factory.mktemp("argos-models")
    started = time.perf_counter()
    parts = build_parts(out / "parts")
    built = {
        "fa_en": write_package(parts, out, "fa", "en"),
        "en_de": write_package(parts, out, "en", "de"),
        # Like the public index's packages: a stanza/ folder, no MiniSBD model.
        "uk_de": write_package(parts, out, "uk", "de", sentence_splitter=False, stanza_dir=True),
        "tr_de": _broken(write_package(parts, out, "tr", "de")),
    }
    print(f"\ntiny argos models built in {time.perf_counter() - started:.2f} s")
    return built


def _broken(archive: Path) -> Path:
    """The same package with a truncated CTranslate2 model, which fails to load."""
    broken = archive.with_name("broken-" + archive.name)
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data[:100] if item.filename.endswith("model.bin") else data)
    return broken


def unpack(archives: dict[str, Path], directory: Path, *names: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        with zipfile.ZipFile(archives[name]) as archive:
            archive.extractall(directory)
    return directory


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach another machine fails the translation it is part of."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"tests may not use the network (tried {address})")
        real_connect(self, address)  # type: ignore[arg-type]

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host not in (None, "localhost", "127.0.0.1", "::1"):
            raise OSError(f"tests may not use the network (looked up {host})")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def translator(archives: dict[str, Path], tmp_path: Path) -> Iterator[object]:
    from bot.mt.argos import ArgosTranslator

    packages = unpack(archives, tmp_path / "packages", "fa_en", "en_de", "uk_de", "tr_de")
    argos = ArgosTranslator(packages, timeout_seconds=60)
    yield argos
    argos.close()


# --- argostranslate, for real ------------------------------------------------------------------


async def test_direct_pair_translates(translator) -> None:
    assert translator.route("fa", "en") == ["fa", "en"]
    result = await translator.translate(FARSI, "fa", "en")
    assert result.ok and result.text and result.text.strip()
    assert result.text != FARSI
    assert (result.source, result.target, result.engine, result.failure) == (
        "fa",
        "en",
        "argos",
        None,
    )


async def test_pivots_through_english(translator) -> None:
    assert translator.route("fa", "de") == ["fa", "en", "de"]
    assert translator.route("fa", "de_simple") == ["fa", "en", "de"]
    pivoted = await translator.translate(FARSI, "fa", "de")
    first = await translator.translate(FARSI, "fa", "en")
    second = await translator.translate(first.text, "en", "de")
    assert pivoted.ok and pivoted.text
    # The chain is exactly the two installed models one after the other.
    assert pivoted.text == second.text
    assert pivoted.text != first.text


async def test_package_with_stanza_folder_translates_offline(translator) -> None:
    """Packages from the public index carry stanza/; argostranslate would download Stanza's
    resources for it. The translator splits at punctuation instead (and the network is off)."""
    assert translator.route("uk", "de") == ["uk", "de"]
    result = await translator.translate("Привіт! Як справи? Дякую.", "uk", "de")
    assert result.ok and result.text, result.failure


async def test_missing_pair_is_a_failure_not_an_exception(translator) -> None:
    assert translator.route("de", "fa") is None
    result = await translator.translate(GERMAN, "de", "fa")
    assert result == Translation(None, "de", "fa", "argos", "no model de->fa")
    assert not result.ok


async def test_engine_error_is_a_failure_and_other_pairs_still_work(translator) -> None:
    broken = await translator.translate("Merhaba, nasılsınız?", "tr", "de")
    assert not broken.ok
    assert broken.failure and broken.failure.startswith("error: ")
    assert (await translator.translate(FARSI, "fa", "en")).ok


async def test_same_language_and_empty_text_need_no_model(translator) -> None:
    assert (await translator.translate(GERMAN, "de_simple", "de")).text == GERMAN
    assert (await translator.translate("  ", "fa", "de")).text == "  "
    assert translator.route("de_simple", "de") == ["de"]


async def test_timeout_is_a_failure_and_the_worker_recovers(
    archives: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.mt.argos import ArgosTranslator

    # 2 s: ten times what the tiny model needs, so only the stuck call can time out.
    argos = ArgosTranslator(unpack(archives, tmp_path / "p", "fa_en"), timeout_seconds=2)
    import argostranslate.translate

    real = argostranslate.translate.PackageTranslation.hypotheses
    release = threading.Event()

    def stuck(self: object, text: str, num_hypotheses: int = 4) -> object:
        release.wait(10)
        return real(self, text, num_hypotheses)

    try:
        with monkeypatch.context() as patch:
            patch.setattr(argostranslate.translate.PackageTranslation, "hypotheses", stuck)
            result = await argos.translate(FARSI, "fa", "en")
        assert result == Translation(None, "fa", "en", "argos", "timeout after 2 s")
        release.set()  # the stuck translation finishes in the background; the next one queues
        assert (await argos.translate(FARSI, "fa", "en")).ok
    finally:
        release.set()
        argos.close()


async def test_factory_builds_argos_from_settings(archives, tmp_path: Path) -> None:
    packages = unpack(archives, tmp_path / "models", "fa_en", "en_de")
    settings = _settings(tmp_path, {"mt": {"packages_dir": "models", "timeout_seconds": 30}})
    translator = build_translator(settings)
    try:
        assert translator.name == "argos"
        assert translator.route("fa", "de") == ["fa", "en", "de"]
        assert (await translator.translate(FARSI, "fa", "de")).ok
    finally:
        translator.close()
    assert settings.mt.packages_dir == packages


# --- cache -------------------------------------------------------------------------------------


class CountingTranslator:
    name = "counting"

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def route(self, source: str, target: str) -> list[str] | None:
        return [source, target]

    async def translate(
        self, text: str, source: str, target: str, *, person_id: int | None = None
    ) -> Translation:
        self.calls += 1
        if self.fail:
            return Translation(None, source, target, self.name, "timeout after 10 s")
        return Translation(f"{text} [{target}]", source, target, self.name)


async def test_cache_hit_does_not_call_the_engine_again() -> None:
    inner = CountingTranslator()
    cache = InMemoryTranslationCache(10)
    cached = CachingTranslator(inner, cache)
    first = await cached.translate("hallo", "de", "fa", person_id=7)
    second = await cached.translate("hallo", "de", "fa", person_id=7)
    assert first == second == Translation("hallo [fa]", "de", "fa", "counting")
    assert inner.calls == 1
    await cached.translate("hallo", "de", "ar")
    assert inner.calls == 2
    assert await cache.forget_person(7) == 1
    await cached.translate("hallo", "de", "fa", person_id=7)
    assert inner.calls == 3


async def test_failures_are_not_cached() -> None:
    inner = CountingTranslator(fail=True)
    cache = InMemoryTranslationCache(10)
    cached = CachingTranslator(inner, cache)
    for _ in range(2):
        result = await cached.translate("hallo", "de", "fa")
        assert not result.ok and result.failure == "timeout after 10 s"
    assert inner.calls == 2
    assert len(cache) == 0


async def test_a_broken_cache_never_costs_the_translation() -> None:
    class Broken:
        async def get(self, key: str) -> str | None:
            raise RuntimeError("database down")

        async def put(self, key: str, translation_text: str, person_id: int | None) -> None:
            raise RuntimeError("database down")

    result = await CachingTranslator(CountingTranslator(), Broken()).translate("hi", "en", "de")
    assert result.text == "hi [de]"


async def test_lru_keeps_the_most_recently_used() -> None:
    cache = InMemoryTranslationCache(2)
    await cache.put("a", "A", None)
    await cache.put("b", "B", None)
    assert await cache.get("a") == "A"
    await cache.put("c", "C", None)
    assert (await cache.get("a"), await cache.get("b"), await cache.get("c")) == ("A", None, "C")


def test_cache_key_separates_its_parts() -> None:
    key = cache_key("argos", "de", "fa", "hallo")
    assert len(key) == 64 and key == cache_key("argos", "de", "fa", "hallo")
    assert key != cache_key("argos", "de", "fah", "allo")
    assert key != cache_key("none", "de", "fa", "hallo")


# --- the "none" engine -------------------------------------------------------------------------


async def test_no_translator() -> None:
    none = NoTranslator()
    result = await none.translate("Hallo", "de", "fa", person_id=3)
    assert result == Translation(None, "de", "fa", "none", "machine translation is switched off")
    assert (await none.translate("Hallo", "de", "de")).text == "Hallo"
    assert none.route("de", "fa") is None


# --- settings ----------------------------------------------------------------------------------


def _settings(tmp_path: Path, config: dict, **env: str):
    import yaml

    path = tmp_path / "config.yml"
    config = {"database": {"url": "sqlite+aiosqlite:///bot.sqlite3"}, **config}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_settings(path, environ=env)


def test_settings_defaults_and_environment(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {})
    assert settings.mt.engine == "argos"
    assert settings.mt.packages_dir.name == "argos-packages"
    assert (settings.mt.timeout_seconds, settings.mt.cache_size) == (10.0, 2000)
    configured = _settings(
        tmp_path,
        {"mt": {"engine": "argos", "packages_dir": "m", "timeout_seconds": 3, "cache_size": 0}},
        MT_ENGINE="none",
    )
    assert configured.mt.engine == "none"
    assert configured.mt.packages_dir == (tmp_path / "m").resolve()
    assert (configured.mt.timeout_seconds, configured.mt.cache_size) == (3.0, 0)
    assert isinstance(build_translator(configured), NoTranslator)


@pytest.mark.parametrize(
    ("config", "env", "named"),
    [
        ({}, {"MT_ENGINE": "deepl"}, "MT_ENGINE (mt.engine)"),
        ({"mt": {"engine": "google"}}, {}, "MT_ENGINE (mt.engine)"),
        ({"mt": {"timeout_seconds": 0}}, {}, "mt.timeout_seconds"),
        ({"mt": {"cache_size": -1}}, {}, "mt.cache_size"),
        ({"mt": {"cache_size": "many"}}, {}, "mt.cache_size"),
        ({"mt": ["argos"]}, {}, "'mt'"),
    ],
)
def test_settings_errors_name_the_setting(tmp_path: Path, config, env, named) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        _settings(tmp_path, config, **env)


def test_without_the_extra_the_bot_runs_untranslated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("bot.mt.factory.argos_installed", lambda: False)
    with caplog.at_level("WARNING", logger="bot.mt.factory"):
        translator = build_translator(_settings(tmp_path, {}))
    assert isinstance(translator, NoTranslator)
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "argostranslate is not installed" in caplog.records[0].getMessage()


# --- engagiert mt status | install ---------------------------------------------------------------


@pytest.fixture
def cli_config(tmp_path: Path) -> Path:
    import yaml

    path = tmp_path / "config.yml"
    config = {
        "database": {"url": "sqlite+aiosqlite:///bot.sqlite3"},
        "languages": {"enabled": ["de", "de_simple", "en", "fa", "ps"], "fallback": "en"},
        "mt": {"packages_dir": "models"},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_mt_install_and_status(archives, cli_config: Path, capsys) -> None:
    models = cli_config.parent / "models"
    for name in ("fa_en", "en_de", "uk_de"):
        assert main(["--config", str(cli_config), "mt", "install", str(archives[name])]) == 0
    out = capsys.readouterr().out
    assert f"installed fa->en (translate-fa_en-0_1) in {models}" in out
    assert "no MiniSBD sentence model" in out  # the uk->de package
    assert (models / "translate-en_de-0_1" / "model" / "model.bin").is_file()

    assert main(["--config", str(cli_config), "mt", "status"]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["engine:", "argos"] in lines
    assert ["en->de", "0.1", "translate-en_de-0_1"] in lines
    assert ["fa", "via", "English", "missing"] in lines
    assert ["en", "direct", "missing"] in lines
    assert ["de_simple", "same", "language", "same", "language"] in lines
    assert ["ps", "missing", "missing", "argospm", "publishes", "no", "model", "for", "it"] in lines
    assert ["no", "model", "yet", "for:", "en,", "fa,", "ps", "(their", "messages", "go",
            "untranslated)"] in lines  # fmt: skip


def test_mt_install_rejects_what_is_no_model(cli_config: Path, tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nothing.argosmodel"
    assert main(["--config", str(cli_config), "mt", "install", str(missing)]) == 2
    assert "no such file" in capsys.readouterr().err

    text = tmp_path / "notes.argosmodel"
    text.write_text("not a model", encoding="utf-8")
    assert main(["--config", str(cli_config), "mt", "install", str(text)]) == 2
    assert "not a zip archive" in capsys.readouterr().err

    loose = tmp_path / "loose.argosmodel"
    with zipfile.ZipFile(loose, "w") as archive:
        archive.writestr("translate-fa_en/README.md", "no metadata here")
    assert main(["--config", str(cli_config), "mt", "install", str(loose)]) == 2
    assert "metadata.json is missing" in capsys.readouterr().err
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_translating_loads_neither_torch_nor_stanza(archives, tmp_path: Path) -> None:
    """In a fresh process (argostranslate reads its settings at first import): the real
    argostranslate pipeline translates while Stanza, spaCy and torch stay out of memory."""
    import subprocess
    import sys

    packages = unpack(archives, tmp_path / "models", "fa_en", "en_de")
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from bot.mt.argos import ArgosTranslator\n"
        f"argos = ArgosTranslator(Path({str(packages)!r}), timeout_seconds=60)\n"
        f"result = asyncio.run(argos.translate({FARSI!r}, 'fa', 'de'))\n"
        "argos.close()\n"
        # VmHWM: the peak of this program (ru_maxrss would include the forking pytest's).
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "mb = int(hwm.split()[1]) // 1024\n"
        "print(result.ok, 'torch' in sys.modules, type(sys.modules.get('stanza')).__name__, mb)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    ok, torch_loaded, stanza_kind, megabytes = done.stdout.splitlines()[0].split()
    assert (ok, torch_loaded, stanza_kind) == ("True", "False", "_UnusedSplitter")
    assert int(megabytes) < 200, megabytes
