"""Every language the project knows, named in its own script, and how to pick one for a person."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str
    native_name: str
    german_name: str
    rtl: bool = False


KNOWN_LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("de", "Deutsch", "Deutsch"),
        Language("de_simple", "Einfaches Deutsch", "Einfache Sprache"),
        Language("en", "English", "Englisch"),
        Language("ar", "العربية", "Arabisch", rtl=True),
        Language("fa", "فارسی / دری", "Farsi/Dari", rtl=True),
        Language("uk", "Українська", "Ukrainisch"),
        Language("ru", "Русский", "Russisch"),
        Language("tr", "Türkçe", "Türkisch"),
        Language("fr", "Français", "Französisch"),
        Language("es", "Español", "Spanisch"),
        Language("ps", "پښتو", "Paschtu", rtl=True),
        Language("ku", "Kurdî (Kurmancî)", "Kurdisch (Kurmandschi)"),
        Language("ti", "ትግርኛ", "Tigrinya"),
    )
}


def language(code: str) -> Language:
    """The language for a code, or a plain stand-in so an unknown code never crashes a card."""
    return KNOWN_LANGUAGES.get(code, Language(code, code, code))


def pick_language(telegram_code: str | None, enabled: tuple[str, ...], fallback: str) -> str:
    """Maps Telegram's IETF tag (``de-AT``, ``uk``) to an enabled language or the fallback."""
    if telegram_code:
        primary = telegram_code.replace("_", "-").split("-")[0].lower()
        if primary in {"prs", "fa-af"}:  # Dari has its own code; it shares the Farsi catalogue
            primary = "fa"
        if primary == "kmr":  # Kurmanji's own ISO 639-3 code
            primary = "ku"
        if primary in enabled:
            return primary
    return fallback


# Catalogues that are a register of another language, not a language of their own.
_REGISTER_OF = {"de_simple": "de"}


def spoken_language(code: str) -> str:
    """The language a catalogue's text is in: easy German is German (for translation and for
    telling whether a message is in the person's language)."""
    return _REGISTER_OF.get(code, code)


def is_rtl(code: str) -> bool:
    return language(code).rtl


def telegram_code(code: str) -> str | None:
    """The ISO 639-1 code Telegram accepts for a catalogue, or None (Easy German has none)."""
    return code if len(code) == 2 and code.isalpha() else None
