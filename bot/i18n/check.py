"""`engagiert i18n check`: what would make a catalogue fail a person on a phone.

Errors (the check fails): a missing, empty or fuzzy entry; placeholders that differ from the
English source; HTML that Telegram rejects (unbalanced or unsupported tags, a bare < or &); a
message over Telegram's 4096 characters; a button label or command description over its limit;
an untranslated sentence (identical to the English); a glossary term whose German word is lost;
a language in config.yml without a catalogue; a catalogue header that does not say whether a
native speaker reviewed it. Warnings: entries the English no longer has.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.i18n.catalogs import (
    ADVISORS_DOMAIN,
    DOMAIN,
    OPPORTUNITIES_DOMAIN,
    SOURCE_LANGUAGE,
    catalog_path,
)

TELEGRAM_MESSAGE_LIMIT = 4096
BUTTON_LABEL_LIMIT = 40
COMMAND_DESCRIPTION_LIMIT = 60
# Catalogues whose advisors' texts are checked too (advisors read German).
ADVISOR_LANGUAGES = frozenset({"de"})
# Tags Telegram's HTML parse mode accepts.
TELEGRAM_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "span",
        "blockquote",
        "tg-emoji",
    }
)
BUTTON_KEY_RE = re.compile(
    r"^(button\.|menu\.(?!text$)|faq\.[a-z_]+\.title$|intake\.[a-z_]+\.(?!question$|label$|"
    r"other_prompt$)[a-z0-9_]+$|consent\.(yes|no|read_full)$|advisor\.yes$|summary\.confirm$|"
    r"privacy\.forget(_yes)?$|language\.offer_(yes|no)$|opportunity\.[a-z0-9_]+\.title$)"
)
NOT_BUTTONS = frozenset({"intake.current_answer"})
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?>")
ENTITY_RE = re.compile(r"&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")
REVIEW_RE = re.compile(r"Reviewed by a native speaker:\s*(yes|no)\b", re.IGNORECASE)
SENTENCE_WORDS = 3


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reviewed: dict[str, bool] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def is_button(key: str) -> bool:
    return bool(BUTTON_KEY_RE.match(key)) and key not in NOT_BUTTONS


def html_problems(text: str) -> list[str]:
    """What Telegram's HTML parser would reject in `text`."""
    problems: list[str] = []
    stack: list[str] = []
    for match in TAG_RE.finditer(text):
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in TELEGRAM_TAGS:
            problems.append(f"tag <{name}> is not supported by Telegram")
        elif closing:
            if not stack or stack[-1] != name:
                problems.append(f"</{name}> does not close the open tag")
            else:
                stack.pop()
        else:
            stack.append(name)
    if stack:
        problems.append("unclosed tag(s): " + ", ".join(f"<{name}>" for name in stack))
    rest = ENTITY_RE.sub("", TAG_RE.sub("", text))
    if "<" in rest or ">" in rest:
        problems.append("a bare < or > (write &lt; / &gt;)")
    if "&" in rest:
        problems.append("a bare & (write &amp;)")
    return problems


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _sample(text: str, values: Mapping[str, str]) -> str:
    """The text as a person sees it, with content placeholders filled and others as 12 chars."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), "x" * 12), text)


def _sentence(text: str) -> bool:
    words = re.findall(r"[^\W\d_]{2,}", PLACEHOLDER_RE.sub("", TAG_RE.sub("", text)))
    return len(words) >= SENTENCE_WORDS


def load_glossary(path: Path) -> list[str]:
    """German words that must survive translation (policies keep and translate+de)."""
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    words: list[str] = []
    for term, entry in (data.get("terms") or {}).items():
        if not isinstance(entry, dict) or entry.get("policy") not in {"keep", "translate+de"}:
            continue
        if term == "Stadtbezirk names":
            words += [w.strip() for w in str(entry.get("en", "")).split(",") if w.strip()]
        else:
            words.append(str(term))
    return words


def _domains(lang: str) -> Iterable[str]:
    yield DOMAIN
    if lang in ADVISOR_LANGUAGES:
        yield ADVISORS_DOMAIN
    yield OPPORTUNITIES_DOMAIN


def check_catalogues(
    translations_dir: Path,
    languages: Iterable[str],
    placeholder_values: Mapping[str, str] | None = None,
) -> Report:
    """Checks every catalogue folder plus the languages config.yml enables."""
    report = Report()
    values = dict(placeholder_values or {})
    glossary = load_glossary(translations_dir / "glossary.yml")
    present = sorted(p.name for p in translations_dir.iterdir() if (p / "LC_MESSAGES").is_dir())
    for lang in languages:
        if not catalog_path(translations_dir, lang).exists():
            report.errors.append(
                f"config.yml enables '{lang}' but {catalog_path(translations_dir, lang)} is missing"
            )
    for lang in present:
        for domain in _domains(lang):
            path = catalog_path(translations_dir, lang, domain)
            source_path = catalog_path(translations_dir, SOURCE_LANGUAGE, domain)
            if not source_path.exists():
                continue
            if not path.exists():
                report.errors.append(f"{path}: missing")
                continue
            _check_one(
                report,
                lang,
                path,
                _read(source_path),
                _read(path),
                values,
                glossary,
                translations_dir,
            )
        _check_domains_apart(report, translations_dir, lang)
    return report


def _check_domains_apart(report: Report, translations_dir: Path, lang: str) -> None:
    """A language's domains are merged into one translator, so a message id used in two of
    them would show one domain's text where the other's was meant."""
    seen: dict[str, str] = {}
    for domain in _domains(lang):
        path = catalog_path(translations_dir, lang, domain)
        if not path.exists():
            continue
        for message in _read(path):
            if not message.id:
                continue
            key = str(message.id)
            if key in seen and seen[key] != domain:
                report.errors.append(
                    f"{path}: {key} is also in {seen[key]}.po; message ids must be unique "
                    "across a language's catalogues"
                )
            seen.setdefault(key, domain)


def _check_one(
    report: Report,
    lang: str,
    path: Path,
    source: Catalog,
    catalog: Catalog,
    values: Mapping[str, str],
    glossary: list[str],
    translations_dir: Path,
) -> None:
    if path.name in {f"{DOMAIN}.po", f"{OPPORTUNITIES_DOMAIN}.po"}:
        review = REVIEW_RE.search(catalog.header_comment or "")
        if lang != SOURCE_LANGUAGE and review is None:
            report.errors.append(
                f"{path}: the header must say 'Reviewed by a native speaker: yes' or '... no'"
            )
    if path.name == f"{DOMAIN}.po":
        report.reviewed[lang] = lang == SOURCE_LANGUAGE or bool(
            review and review.group(1).lower() == "yes"
        )
    german = None
    if lang == "de_simple":
        german_path = catalog_path(translations_dir, "de", path.stem)
        german = _read(german_path) if german_path.exists() else None
    english = {str(m.id): str(m.string) for m in source if m.id}
    seen = 0
    for key, english_text in english.items():
        message = catalog.get(key)
        where = f"{path}: {key}"
        if message is None or not message.string:
            report.errors.append(f"{where}: missing translation")
            continue
        seen += 1
        text = str(message.string)
        if message.fuzzy:
            report.errors.append(f"{where}: marked fuzzy (check it, then remove the flag)")
        if Counter(PLACEHOLDER_RE.findall(text)) != Counter(PLACEHOLDER_RE.findall(english_text)):
            report.errors.append(
                f"{where}: placeholders {sorted(PLACEHOLDER_RE.findall(text))} differ from the "
                f"English {sorted(PLACEHOLDER_RE.findall(english_text))}"
            )
        report.errors += [f"{where}: {problem}" for problem in html_problems(text)]
        shown = _sample(text, values)
        if len(shown) > TELEGRAM_MESSAGE_LIMIT:
            report.errors.append(f"{where}: {len(shown)} characters, over Telegram's 4096")
        if is_button(key) and len(shown) > BUTTON_LABEL_LIMIT:
            report.errors.append(
                f"{where}: button label of {len(shown)} characters (at most {BUTTON_LABEL_LIMIT})"
            )
        if key.startswith("command.") and not 1 <= len(text) <= COMMAND_DESCRIPTION_LIMIT:
            report.errors.append(
                f"{where}: command description must be 1-{COMMAND_DESCRIPTION_LIMIT} characters"
            )
        if lang != SOURCE_LANGUAGE and text == english_text and _sentence(text):
            report.errors.append(f"{where}: identical to the English: not translated?")
        if german is not None:
            german_message = german.get(key)
            if german_message and text == german_message.string and _sentence(text):
                report.errors.append(f"{where}: identical to standard German: not simplified?")
        for word in glossary:
            if word in english_text and word not in text:
                report.errors.append(f"{where}: glossary word '{word}' is missing")
    for message in catalog:
        if message.id and str(message.id) not in english:
            report.warnings.append(f"{path}: {message.id}: not in the English catalogue (obsolete)")
    report.counts[f"{lang}/{path.name}"] = seen
