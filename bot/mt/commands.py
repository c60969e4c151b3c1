"""`engagiert mt status | install FILE`: which translation models the bot has, and adding one.

Models come as .argosmodel files (zip archives) that an operator fetches with `argospm` on a
machine with internet; the bot's machine never downloads anything.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.mt.argos import (
    argos_code,
    argos_publishes,
    configure_argos,
    find_route,
    installed_packages,
)
from bot.mt.factory import INSTALL_HINT, argos_installed

GERMAN = "de"


class InvalidModel(ValueError):
    """The file is not an argostranslate translation package."""


def status(settings: Settings, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    mt = settings.mt
    out.write(f"engine:   {mt.engine}\n")
    out.write(f"models:   {mt.packages_dir}\n")
    if not argos_installed():
        out.write(f"argostranslate is not installed: {INSTALL_HINT}\n")
        return 1
    packages = installed_packages(mt.packages_dir)
    out.write(f"installed pairs: {len(packages) or 'none'}\n")
    for (source, target), package in sorted(packages.items()):
        note = "" if package.has_sentence_model else "  (no MiniSBD model: split at punctuation)"
        out.write(f"  {source}->{target}  {package.version:6} {package.path.name}{note}\n")
    out.write(f"\n  {'language':10} {'to German':14} from German\n")
    lacking: list[str] = []
    for code in settings.languages:
        to_german = _availability(packages, code, GERMAN)
        from_german = _availability(packages, GERMAN, code)
        remark = "" if argos_publishes(code) else "  argospm publishes no model for it"
        out.write(f"  {code:10} {to_german:14} {from_german:14}{remark}".rstrip() + "\n")
        if "missing" in (to_german, from_german):
            lacking.append(code)
    if lacking:
        out.write(f"\nno model yet for: {', '.join(lacking)} (their messages go untranslated)\n")
    if mt.engine == "none":
        out.write("machine translation is switched off (mt.engine / MT_ENGINE)\n")
    return 0


def _availability(packages: object, source: str, target: str) -> str:
    route = find_route(packages, argos_code(source), argos_code(target))
    if route is None:
        return "missing"
    return {1: "same language", 2: "direct"}.get(len(route), "via English")


def install(
    settings: Settings, path: Path, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Copies a .argosmodel into the packages folder; exit 2 with a reason if it is no model."""
    out, err = out or sys.stdout, err or sys.stderr
    if not argos_installed():
        err.write(f"engagiert: error: argostranslate is not installed: {INSTALL_HINT}\n")
        return 2
    try:
        folder, source, target = _check_model(path)
    except InvalidModel as exc:
        err.write(f"engagiert: error: {exc}\n")
        return 2
    packages_dir = settings.mt.packages_dir
    packages_dir.mkdir(parents=True, exist_ok=True)
    configure_argos(packages_dir)
    from argostranslate.package import install_from_path

    try:
        install_from_path(path)
    except Exception as exc:
        err.write(f"engagiert: error: could not install {path}: {exc}\n")
        return 2
    used = installed_packages(packages_dir).get((source, target))
    if used is None:
        err.write(f"engagiert: error: {path} was unpacked but is not a usable package\n")
        return 2
    out.write(f"installed {source}->{target} ({folder}) in {packages_dir}\n")
    if used.path.name != folder:
        out.write(f"  the newer {used.path.name} stays the one in use\n")
    elif not used.has_sentence_model:
        out.write("  it has no MiniSBD sentence model: sentences are split at punctuation\n")
    out.write("restart the bot to use it; `engagiert mt status` shows every language\n")
    return 0


def _check_model(path: Path) -> tuple[str, str, str]:
    """The package's folder name and language pair, read from the archive without unpacking."""
    if not path.is_file():
        raise InvalidModel(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise InvalidModel(f"{path} is not an .argosmodel file (not a zip archive)")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        folders = {name.split("/", 1)[0] for name in names}
        if len(folders) != 1 or not all("/" in name for name in names):
            raise InvalidModel(f"{path}: expected one package folder in the archive")
        folder = folders.pop()
        try:
            metadata = json.loads(archive.read(f"{folder}/metadata.json"))
        except KeyError:
            raise InvalidModel(f"{path}: {folder}/metadata.json is missing") from None
        except ValueError as exc:
            raise InvalidModel(f"{path}: metadata.json is not valid JSON ({exc})") from None
        if not any(name.startswith(f"{folder}/model/") for name in names):
            raise InvalidModel(f"{path}: the package has no model/ folder")
    if not isinstance(metadata, dict) or metadata.get("type", "translate") != "translate":
        raise InvalidModel(f"{path}: not a translation package")
    source, target = metadata.get("from_code"), metadata.get("to_code")
    if not isinstance(source, str) or not isinstance(target, str) or not source or not target:
        raise InvalidModel(f"{path}: metadata.json names no from_code and to_code")
    return folder, source, target
