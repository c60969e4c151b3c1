"""`engagiert i18n check / extract / update`: each failure the check must catch, on a small copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.config import PROJECT_ROOT
from bot.i18n.check import check_catalogues, html_problems, is_button
from bot.i18n.workflow import compile_all, extract, update

HEADER = "# Test catalogue.\n# Reviewed by a native speaker: no (test)."
ENGLISH = {
    "menu.find": "🔎 Find volunteering for me",
    "faq.money_benefits.answer": "Up to {ehrenamtspauschale} a year stay free. Ask the Jobcenter.",
    "intake.sent": "Your request <b>#{number}</b> has been sent to the team.",
    "command.menu": "Main menu",
}
GERMAN = {
    "menu.find": "🔎 Ehrenamt für mich finden",
    "faq.money_benefits.answer": (
        "Bis {ehrenamtspauschale} im Jahr bleiben frei. Fragen Sie das Jobcenter."
    ),
    "intake.sent": "Ihre Anfrage <b>#{number}</b> ist beim Team angekommen.",
    "command.menu": "Hauptmenü",
}


def write_catalogue(
    folder: Path,
    lang: str,
    messages: dict[str, str],
    header: str = HEADER,
    fuzzy: set[str] | None = None,
) -> Path:
    path = folder / lang / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(
        locale="de" if lang == "de_simple" else lang, header_comment=header, fuzzy=False
    )
    for key, text in messages.items():
        catalog.add(key, text, flags=("fuzzy",) if key in (fuzzy or set()) else ())
    with path.open("wb") as handle:
        write_po(handle, catalog)
    return path


@pytest.fixture
def translations(tmp_path: Path) -> Path:
    folder = tmp_path / "translations"
    write_catalogue(folder, "en", ENGLISH)
    write_catalogue(folder, "de", GERMAN)
    shutil.copy(PROJECT_ROOT / "translations" / "glossary.yml", folder / "glossary.yml")
    return folder


def errors_for(folder: Path, languages=("de", "en")) -> list[str]:
    return check_catalogues(folder, languages, {"ehrenamtspauschale": "960 €"}).errors


def test_a_good_catalogue_passes(translations: Path) -> None:
    report = check_catalogues(translations, ("de", "en"), {"ehrenamtspauschale": "960 €"})
    assert report.errors == []
    assert report.reviewed == {"de": False, "en": True}


@pytest.mark.parametrize(
    ("key", "text", "fragment"),
    [
        ("menu.find", "", "missing translation"),
        (
            "faq.money_benefits.answer",
            "Bis {pauschale} frei. Fragen Sie das Jobcenter.",
            "placeholders",
        ),
        ("faq.money_benefits.answer", "Bis frei. Fragen Sie das Jobcenter.", "placeholders"),
        ("intake.sent", "Ihre Anfrage <b>#{number} ist beim Team angekommen.", "unclosed tag"),
        ("intake.sent", "Ihre Anfrage <b>#{number}</i> ist angekommen.", "does not close"),
        ("intake.sent", "Ihre Anfrage <h1>#{number}</h1> ist angekommen.", "not supported"),
        ("intake.sent", "Anfrage #{number} < 5 & angekommen", "bare"),
        ("intake.sent", "Anfrage #{number} " + "sehr " * 900 + "lang", "over Telegram's 4096"),
        ("menu.find", "🔎 Ein Ehrenamt finden, das wirklich gut zu mir passt", "button label"),
        (
            "command.menu",
            "Das Hauptmenü mit allen Möglichkeiten, die dieser Bot bietet, öffnen",
            "command description",
        ),
        (
            "intake.sent",
            "Your request <b>#{number}</b> has been sent to the team.",
            "identical to the English",
        ),
        (
            "faq.money_benefits.answer",
            "Bis {ehrenamtspauschale} im Jahr bleiben frei. Fragen Sie das Amt.",
            "glossary word 'Jobcenter'",
        ),
    ],
)
def test_each_problem_is_reported_with_file_and_key(
    translations: Path, key: str, text: str, fragment: str
) -> None:
    write_catalogue(translations, "de", {**GERMAN, key: text})
    errors = errors_for(translations)
    assert any(
        fragment in error and f"de/LC_MESSAGES/messages.po: {key}" in error for error in errors
    ), errors


def test_fuzzy_entries_and_a_missing_review_line_fail(translations: Path) -> None:
    write_catalogue(translations, "de", GERMAN, header="# no review statement", fuzzy={"menu.find"})
    errors = errors_for(translations)
    assert any("menu.find: marked fuzzy" in e for e in errors)
    assert any("Reviewed by a native speaker" in e for e in errors)


def test_a_configured_language_without_catalogue_fails(translations: Path) -> None:
    errors = errors_for(translations, languages=("de", "en", "ar"))
    assert any("enables 'ar'" in e for e in errors)


def test_easy_german_must_differ_from_standard_german(translations: Path) -> None:
    write_catalogue(translations, "de_simple", GERMAN)
    errors = errors_for(translations, languages=("de", "de_simple", "en"))
    assert any("de_simple" in e and "not simplified" in e for e in errors)


def test_button_keys() -> None:
    assert is_button("button.back") and is_button("menu.find") and is_button("faq.x.title")
    assert is_button("intake.district.alt_west") and is_button("consent.yes")
    assert not is_button("menu.text") and not is_button("intake.district.question")
    assert not is_button("intake.progress") and not is_button("faq.x.answer")


def test_html_problems_accepts_what_telegram_accepts() -> None:
    assert html_problems('<b>a</b> <i>b</i> <a href="tg://user?id=1">c</a> &amp; &lt; &#39;') == []


def test_extract_then_update_adds_new_ids_and_marks_changed_english_fuzzy(
    translations: Path,
) -> None:
    pot = extract(translations)
    assert pot.exists() and "#. en: 🔎 Find volunteering for me" in pot.read_text()
    update(translations)  # records the English each German entry belongs to

    changed = {**ENGLISH, "menu.find": "🔎 Find volunteering", "menu.new": "New entry"}
    write_catalogue(translations, "en", changed)
    extract(translations)
    (result,) = update(translations)
    assert (result.language, result.added, result.fuzzy) == ("de", 1, 1)
    with (translations / "de" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        german = read_po(handle)
    assert german["menu.find"].fuzzy and german["menu.find"].string == GERMAN["menu.find"]
    assert german["menu.new"].string == ""
    assert not german["intake.sent"].fuzzy
    errors = errors_for(translations)
    assert any("menu.new: missing translation" in e for e in errors)
    assert any("menu.find: marked fuzzy" in e for e in errors)


def test_compile_writes_mo_files(translations: Path) -> None:
    written = compile_all(translations)
    assert {p.parent.parent.name for p in written} == {"de", "en"}
    assert all(p.stat().st_size > 0 for p in written)


def test_the_projects_catalogues_pass_the_check() -> None:
    """What CI enforces on the real catalogues (the same as `engagiert i18n check`)."""
    from bot.app import placeholder_values
    from bot.config import load_settings
    from bot.core.content import load_content

    settings = load_settings(environ={})
    values = placeholder_values(settings, load_content(settings.dialogs_dir))
    report = check_catalogues(settings.translations_dir, settings.languages, values)
    assert report.errors == []


def test_a_message_id_in_two_domains_of_a_language_fails(translations: Path) -> None:
    """The domains of a language are merged: the advisors' "closed" must not replace the
    person's "Your conversation ... is closed"."""
    for lang, text in (("en", "🔎 Find"), ("de", "🔎 Finden")):
        path = write_catalogue(translations, lang, {"menu.find": text})
        path.rename(path.with_name("advisors.po"))
    write_catalogue(translations, "en", ENGLISH)
    write_catalogue(translations, "de", GERMAN)
    errors = errors_for(translations)
    assert any("menu.find is also in messages.po" in error for error in errors), errors
