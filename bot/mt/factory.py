"""Picks the translator the settings ask for; never lets machine translation stop the bot."""

from __future__ import annotations

import importlib.util
import logging

from bot.config import Settings
from bot.mt.translator import MachineTranslator, NoTranslator

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install torch==2.13.0 && pip install -e '.[mt]'"


def argos_installed() -> bool:
    return importlib.util.find_spec("argostranslate") is not None


def build_translator(settings: Settings) -> MachineTranslator:
    """The configured engine, uncached (the caller wraps it in `CachingTranslator`)."""
    mt = settings.mt
    if mt.engine == "none":
        return NoTranslator()
    if not argos_installed():
        log.warning(
            "machine translation is off: argostranslate is not installed (%s)", INSTALL_HINT
        )
        return NoTranslator()
    from bot.mt.argos import ArgosTranslator

    try:
        return ArgosTranslator(mt.packages_dir, mt.timeout_seconds)
    except Exception:
        log.exception("machine translation is off: argostranslate could not start")
        return NoTranslator()
