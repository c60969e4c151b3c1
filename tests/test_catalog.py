"""The opportunities catalogue: shipped file, validation errors, intake drift, CSV round trip."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.pofile import read_po, write_po

from bot.catalog import commands
from bot.catalog.loader import CatalogueError, load_catalogue
from bot.catalog.model import Vocabulary
from bot.catalog.spreadsheet import ENCODING
from bot.catalog.texts import english_problems, opportunities_path, read_texts
from bot.cli import main
from bot.config import PROJECT_ROOT, Settings, load_settings
from bot.core.flows import ContentError, load_flow
from bot.core.matching import PHRASE_KEYS
from bot.i18n.check import check_catalogues

DIALOGS = PROJECT_ROOT / "dialogs"
TRANSLATIONS = PROJECT_ROOT / "translations"
SETTINGS = load_settings(environ={})
LANGUAGES = SETTINGS.languages
# DOMAIN.md: the only organisations the seed may name, and the projects that have ended.
ORGANISATIONS = (
    "Die Johanniter",
    "Wir sind Paten",
    "Internationaler Bund",
    "Integration & Bildung e.V.",
    "Stadtsportbund Leipzig",
    "Freiwilligen-Agentur Leipzig e.V.",
)
ENDED = ("VILLA", "Willkommen in Leipzig", "Lernpaten", "Gemeinsam engagiert")


# -- the shipped catalogue ---------------------------------------------------------------------


def test_the_shipped_catalogue_loads_and_mirrors_its_english():
    catalogue = load_catalogue(DIALOGS / "opportunities.yml")
    assert 10 <= len(catalogue) <= 14
    assert catalogue.active() == catalogue.opportunities
    assert english_problems(catalogue, TRANSLATIONS) == []


def test_the_seed_is_marked_as_examples_to_verify():
    catalogue = load_catalogue(DIALOGS / "opportunities.yml")
    assert all(o.example for o in catalogue)
    header = (DIALOGS / "opportunities.yml").read_text(encoding="utf-8").split("opportunities:")[0]
    assert "EXAMPLES TO VERIFY" in header


def test_the_seed_names_only_listed_organisations_and_no_ended_project():
    catalogue = load_catalogue(DIALOGS / "opportunities.yml")
    for opportunity in catalogue:
        assert opportunity.organisation.startswith(ORGANISATIONS), opportunity.organisation
    texts = [(DIALOGS / "opportunities.yml").read_text(encoding="utf-8")]
    texts += [opportunities_path(TRANSLATIONS, lang).read_text("utf-8") for lang in LANGUAGES]
    for text in texts:
        for ended in ENDED:
            assert ended not in text


def test_the_seed_covers_the_fields_of_leipzigs_integration_work():
    catalogue = load_catalogue(DIALOGS / "opportunities.yml")
    covered = {field for o in catalogue.active() for field in o.fields}
    wanted = {"mentoring", "homework_children", "language_support", "accompanying"}
    assert wanted | {"interpreting", "sport"} <= covered


def test_every_language_has_every_text_and_every_phrase():
    catalogue = load_catalogue(DIALOGS / "opportunities.yml")
    keys = catalogue.message_keys()
    texts = read_texts(TRANSLATIONS, LANGUAGES)
    for lang in LANGUAGES:
        assert {k for k in keys if not texts[lang].get(k)} == set(), lang
        with opportunities_path(TRANSLATIONS, lang).open("rb") as handle:
            phrases = {str(m.id) for m in read_po(handle) if m.id and m.string}
        assert set(PHRASE_KEYS) <= phrases, lang


# -- validation: every problem names the file, the line, the entry and the field ------------------

BASE: dict[str, Any] = {
    "id": "base_entry",
    "organisation": "Example e.V.",
    "title": "Homework help",
    "description": "You help children with their homework.",
    "fields": ["homework_children"],
    "districts": ["ost"],
    "german_level": "everyday",
    "languages": ["ar"],
    "hours_per_week": 2,
    "frequency": "regular",
    "availability": ["weekday_afternoons"],
    "min_age": 16,
    "fuehrungszeugnis": True,
    "checked": "2026-11-26",
}


def write_dialogs(folder: Path, *entries: dict[str, Any]) -> Path:
    """A dialogs folder with the real intake and the given entries (None removes a field)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DIALOGS / "intake.yml", folder / "intake.yml")
    cleaned = [{k: v for k, v in entry.items() if v is not None} for entry in entries]
    path = folder / "opportunities.yml"
    path.write_text(yaml.safe_dump({"opportunities": cleaned}, sort_keys=False), "utf-8")
    return path


def test_a_valid_entry_loads(tmp_path: Path):
    catalogue = load_catalogue(write_dialogs(tmp_path, BASE))
    (opportunity,) = catalogue
    assert opportunity.start == "agency" and opportunity.active and not opportunity.example
    assert opportunity.checked.isoformat() == "2026-11-26"
    assert opportunity.line == 2


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"fields": ["homework"]}, "fields", "'homework' not known"),
        ({"fields": "homework_children"}, "fields", "must be a list"),
        ({"fields": []}, "fields", "is missing"),
        ({"districts": ["leipzig_ost"]}, "districts", "'leipzig_ost' not known"),
        ({"districts": ["outside"]}, "districts", "'outside' not known"),
        ({"german_level": "fluent"}, "german_level", "'fluent' is not one of"),
        ({"languages": ["other"]}, "languages", "'other' not known"),
        ({"availability": ["nights"]}, "availability", "'nights' not known"),
        ({"availability": ["weekends", "weekends"]}, "availability", "twice"),
        ({"min_age": "16"}, "min_age", "whole number"),
        ({"min_age": 120}, "min_age", "between 0 and 99"),
        ({"hours_per_week": 41}, "hours_per_week", "between 1 and 40"),
        ({"frequency": "one_off"}, "hours_per_week", "one-off"),
        ({"frequency": "weekly"}, "frequency", "'weekly' is not one of"),
        ({"start": "organisation"}, "contact", "is needed"),
        ({"contact": "info@example.org"}, "contact", "must be empty"),
        ({"checked": "last week"}, "checked", "YYYY-MM-DD"),
        ({"title": "A title far too long to fit on a Telegram button"}, "title", "at most 40"),
        ({"title": "Two\nlines"}, "title", "one line"),
        ({"description": "Kids < 10 & parents"}, "description", "Telegram HTML"),
        ({"description": "<b>open"}, "description", "unclosed"),
        ({"fuehrungszeugnis": "yes"}, "fuehrungszeugnis", "true or false"),
        ({"organisation": None}, "organisation", "is missing"),
        ({"checked": None}, "checked", "is missing"),
        ({"id": "Bad-Id"}, "id", "lower-case"),
    ],
)
def test_each_problem_names_file_line_entry_and_field(
    tmp_path: Path, changes: dict[str, Any], field: str, fragment: str
):
    entry = {**BASE, **changes}
    path = write_dialogs(tmp_path, entry)
    with pytest.raises(CatalogueError) as error:
        load_catalogue(path)
    name = entry["id"]
    expected = f"{path}:2: opportunity '{name}', field '{field}'"
    assert any(expected in p and fragment in p for p in error.value.problems), error.value.problems


def test_an_unknown_field_is_named(tmp_path: Path):
    path = write_dialogs(tmp_path, {**BASE, "oganisation": "typo"})
    with pytest.raises(CatalogueError, match=r"opportunities.yml:2: opportunity 'base_entry': "
                       r"unknown field 'oganisation'"):  # fmt: skip
        load_catalogue(path)


def test_all_problems_are_reported_at_once_and_duplicates_are_found(tmp_path: Path):
    broken = {**BASE, "id": "broken", "german_level": "fluent", "min_age": -1}
    path = write_dialogs(tmp_path, BASE, broken, BASE)
    with pytest.raises(CatalogueError) as error:
        load_catalogue(path)
    problems = error.value.problems
    assert len(problems) == 3, problems
    assert any("opportunity 'broken', field 'german_level'" in p for p in problems)
    assert any("opportunity 'broken', field 'min_age'" in p for p in problems)
    assert any("opportunity 'base_entry', field 'id': the id is used twice" in p for p in problems)


def test_a_missing_file_and_a_wrong_top_level_are_named(tmp_path: Path):
    write_dialogs(tmp_path, BASE)
    with pytest.raises(ContentError, match="file not found"):
        load_catalogue(tmp_path / "nothing.yml", intake_path=tmp_path / "intake.yml")
    (tmp_path / "opportunities.yml").write_text("opportunity: []\n", "utf-8")
    with pytest.raises(CatalogueError, match="unknown top-level key"):
        load_catalogue(tmp_path / "opportunities.yml")


# -- drift: the catalogue speaks the intake's ids, and notices when they change -------------------


def test_a_renamed_intake_option_is_caught_in_the_catalogue(tmp_path: Path):
    path = write_dialogs(tmp_path, BASE)
    intake = tmp_path / "intake.yml"
    intake.write_text(
        intake.read_text("utf-8").replace("homework_children", "homework_kids"), "utf-8"
    )
    with pytest.raises(CatalogueError) as error:
        load_catalogue(path)
    (problem,) = error.value.problems
    assert "opportunity 'base_entry', field 'fields'" in problem
    assert "'homework_children' not known" in problem and "step 'interests'" in problem
    assert "homework_kids" in problem


def test_a_new_age_group_in_the_intake_must_be_taught_to_the_matcher(tmp_path: Path):
    path = write_dialogs(tmp_path, BASE)
    intake = tmp_path / "intake.yml"
    intake.write_text(
        intake.read_text("utf-8").replace("age_65_plus]", "age_65_plus, age_80_plus]"), "utf-8"
    )
    with pytest.raises(ContentError, match=r"intake.yml: step 'age_group'.*AGE_RANGES"):
        load_catalogue(path)


def test_an_intake_step_of_another_type_is_caught(tmp_path: Path):
    flow = load_flow(DIALOGS / "intake.yml")
    changed = dataclasses.replace(
        flow,
        steps=tuple(
            dataclasses.replace(s, type="choice") if s.id == "availability" else s
            for s in flow.steps
        ),
    )
    with pytest.raises(ContentError, match="step 'availability' must be of type multi"):
        Vocabulary.from_intake(changed)


# -- the spreadsheet ---------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Settings:
    """Settings pointing at a copy of the real dialogs and translations."""
    shutil.copytree(DIALOGS, tmp_path / "dialogs")
    shutil.copytree(TRANSLATIONS, tmp_path / "translations")
    return dataclasses.replace(
        SETTINGS, dialogs_dir=tmp_path / "dialogs", translations_dir=tmp_path / "translations"
    )


def run(settings: Settings, action: str, file: Path | None = None) -> str:
    out = io.StringIO()
    args = argparse.Namespace(catalog_command=action, file=str(file) if file else None)
    assert commands.run(settings, args, out) == 0
    return out.getvalue()


def snapshot(settings: Settings) -> dict[Path, bytes]:
    files = [settings.dialogs_dir / "opportunities.yml"]
    files += sorted(settings.translations_dir.glob("*/LC_MESSAGES/opportunities.po"))
    return {path: path.read_bytes() for path in files}


def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(ENCODING), newline="")))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(ENCODING))


def cell(rows: list[list[str]], opportunity_id: str, column: str) -> tuple[int, int]:
    row = next(i for i, r in enumerate(rows) if r[0] == opportunity_id)
    return row, rows[0].index(column)


def test_export_import_export_is_byte_identical_and_writes_nothing(project: Settings, tmp_path):
    before = snapshot(project)
    run(project, "export", tmp_path / "first.csv")
    assert "0 added, 0 changed, 0 removed" in run(project, "import", tmp_path / "first.csv")
    run(project, "export", tmp_path / "second.csv")
    assert (tmp_path / "first.csv").read_bytes() == (tmp_path / "second.csv").read_bytes()
    assert snapshot(project) == before


def test_the_spreadsheet_has_a_row_per_opportunity_and_a_column_per_field_and_language(
    project: Settings, tmp_path: Path
):
    run(project, "export", tmp_path / "list.csv")
    rows = read_rows(tmp_path / "list.csv")
    assert (tmp_path / "list.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8
    assert len(rows) == 1 + len(load_catalogue(project.dialogs_dir / "opportunities.yml"))
    header = rows[0]
    assert header[:3] == ["id", "active", "example"]
    assert {f"title.{lang}" for lang in LANGUAGES} <= set(header)
    assert {f"description.{lang}" for lang in LANGUAGES} <= set(header)
    row, column = cell(rows, "sprachmittlung", "districts")
    assert rows[row][column] == "all_leipzig; online"
    row, column = cell(rows, "sprachmittlung", "hours_per_week")
    assert rows[row][column] == ""


def test_an_edited_spreadsheet_is_imported_losslessly(project: Settings, tmp_path: Path):
    run(project, "export", tmp_path / "list.csv")
    rows = read_rows(tmp_path / "list.csv")
    edits = {
        "min_age": "21",
        "languages": "ar; ti",
        "active": "no",
        "title.ar": "عنوان جديد",
        "description.uk": "Новий опис.\nДругий рядок.",
        "contact": "",
    }
    for column, value in edits.items():
        row, index = cell(rows, "ankommen_patenschaft", column)
        rows[row][index] = value
    write_rows(tmp_path / "edited.csv", rows)

    output = run(project, "import", tmp_path / "edited.csv")
    assert "1 changed" in output and "changed: ankommen_patenschaft" in output
    catalogue = load_catalogue(project.dialogs_dir / "opportunities.yml")
    changed = catalogue.get("ankommen_patenschaft")
    assert (changed.min_age, changed.languages, changed.active) == (21, ("ar", "ti"), False)
    texts = read_texts(project.translations_dir, ["ar", "uk"])
    assert texts["ar"]["opportunity.ankommen_patenschaft.title"] == "عنوان جديد"
    assert texts["uk"]["opportunity.ankommen_patenschaft.description"].endswith("Другий рядок.")
    run(project, "export", tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "edited.csv").read_bytes()


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("districts", "ost; leipzig_ost", "'leipzig_ost' not known"),
        ("min_age", "achtzehn", "whole number"),
        ("fuehrungszeugnis", "vielleicht", "yes or no"),
        ("checked", "Nov 2026", "YYYY-MM-DD"),
        ("title.en", "", "is missing"),
        ("title.ar", "<b>عنوان", "Telegram HTML"),
        ("title.de", "Ein viel zu langer Titel für einen Knopf in Telegram", "at most 40"),
    ],
)
def test_a_bad_cell_is_refused_naming_row_and_column_and_nothing_is_written(
    project: Settings, tmp_path: Path, column: str, value: str, fragment: str
):
    run(project, "export", tmp_path / "list.csv")
    rows = read_rows(tmp_path / "list.csv")
    row, index = cell(rows, "gespraechsgruppe_ost", column)
    rows[row][index] = value
    rows[1][rows[0].index("min_age")] = "17"  # a valid change elsewhere must not be written either
    write_rows(tmp_path / "bad.csv", rows)
    before = snapshot(project)
    with pytest.raises(CatalogueError) as error:
        run(project, "import", tmp_path / "bad.csv")
    where = f"row {row + 1} (opportunity 'gespraechsgruppe_ost'), column '{column}'"
    assert any(where in p and fragment in p for p in error.value.problems), error.value.problems
    assert snapshot(project) == before


def test_missing_unknown_and_doubled_columns_are_refused(project: Settings, tmp_path: Path):
    run(project, "export", tmp_path / "list.csv")
    rows = read_rows(tmp_path / "list.csv")
    drop = rows[0].index("checked")
    rows = [[*r[:drop], *r[drop + 1 :]] for r in rows]
    rows[0][-1] = "title.xx"
    rows[0][1] = "id"
    write_rows(tmp_path / "bad.csv", rows)
    with pytest.raises(CatalogueError) as error:
        run(project, "import", tmp_path / "bad.csv")
    text = str(error.value)
    assert "row 1: missing column(s)" in text and "checked" in text
    assert "unknown column(s) title.xx" in text and "column(s) id appear twice" in text


def test_a_doubled_id_names_the_later_row(project: Settings, tmp_path: Path):
    run(project, "export", tmp_path / "list.csv")
    rows = read_rows(tmp_path / "list.csv")
    write_rows(tmp_path / "doubled.csv", [*rows, rows[1], rows[1]])
    with pytest.raises(CatalogueError) as error:
        run(project, "import", tmp_path / "doubled.csv")
    first = rows[1][0]
    assert error.value.problems == [
        f"{tmp_path / 'doubled.csv'}: row {n} (opportunity '{first}'), column 'id': the id is "
        "used twice"
        for n in (len(rows) + 1, len(rows) + 2)
    ]


def test_a_row_added_and_a_row_removed(project: Settings, tmp_path: Path):
    run(project, "export", tmp_path / "list.csv")
    rows = read_rows(tmp_path / "list.csv")
    new = list(rows[1])
    new[0] = "neue_stelle"
    new[rows[0].index("title.en")] = "A new opportunity"
    new[rows[0].index("title.de")] = "Eine neue Stelle"
    for lang in LANGUAGES:
        if lang not in {"en", "de"}:
            new[rows[0].index(f"title.{lang}")] = ""
    removed = rows.pop(2)[0]
    write_rows(tmp_path / "changed.csv", [*rows, new])

    output = run(project, "import", tmp_path / "changed.csv")
    assert "1 added, 0 changed, 1 removed" in output
    catalogue = load_catalogue(project.dialogs_dir / "opportunities.yml")
    assert catalogue.opportunities[-1].id == "neue_stelle"
    assert removed not in {o.id for o in catalogue}
    assert english_problems(catalogue, project.translations_dir) == []
    texts = read_texts(project.translations_dir, LANGUAGES)
    assert texts["de"]["opportunity.neue_stelle.title"] == "Eine neue Stelle"
    assert texts["ar"]["opportunity.neue_stelle.title"] == ""  # to translate: i18n check says so
    assert all(f"opportunity.{removed}.title" not in texts[lang] for lang in LANGUAGES)
    errors = check_catalogues(project.translations_dir, LANGUAGES).errors
    assert any("ar/LC_MESSAGES/opportunities.po: opportunity.neue_stelle.title: missing" in e
               for e in errors)  # fmt: skip


def test_changed_english_with_an_unchanged_translation_becomes_fuzzy(
    project: Settings, tmp_path: Path
):
    run(project, "export", tmp_path / "list.csv")
    rows = read_rows(tmp_path / "list.csv")
    row, index = cell(rows, "sportfest_helfer", "title.en")
    rows[row][index] = "Helper at a sports day"
    row, index = cell(rows, "sportfest_helfer", "title.fr")
    rows[row][index] = "Aide lors d'une journée sportive"
    write_rows(tmp_path / "changed.csv", rows)
    run(project, "import", tmp_path / "changed.csv")

    def fuzzy(lang: str) -> bool:
        with opportunities_path(project.translations_dir, lang).open("rb") as handle:
            return read_po(handle).get("opportunity.sportfest_helfer.title").fuzzy

    assert fuzzy("ar") and fuzzy("de") and not fuzzy("fr")


def test_sync_copies_edited_english_from_the_yaml(project: Settings):
    path = project.dialogs_dir / "opportunities.yml"
    path.write_text(
        path.read_text("utf-8").replace(
            "title: Volunteer interpreter", "title: Volunteer interpreter (on call)"
        ),
        "utf-8",
    )
    with pytest.raises(CatalogueError, match=r"opportunity 'sprachmittlung', field 'title'.*sync"):
        run(project, "check")
    assert "opportunities.po" in run(project, "sync")
    assert "11 opportunities" in run(project, "check")
    texts = read_texts(project.translations_dir, ["en"])
    assert texts["en"]["opportunity.sprachmittlung.title"].endswith("(on call)")


def test_the_cli_checks_and_reports_a_broken_catalogue(project: Settings, tmp_path: Path, capsys):
    config = tmp_path / "config.yml"
    config.write_text(
        (PROJECT_ROOT / "config.yml").read_text("utf-8")
        + "\ndialogs_dir: dialogs\ntranslations_dir: translations\n",
        "utf-8",
    )
    assert main(["--config", str(config), "catalog", "check"]) == 0
    assert "11 marked as examples to verify" in capsys.readouterr().out
    path = project.dialogs_dir / "opportunities.yml"
    path.write_text(
        path.read_text("utf-8").replace("districts: [ost]", "districts: [east]"), "utf-8"
    )
    assert main(["--config", str(config), "catalog", "check"]) == 2
    error = capsys.readouterr().err
    assert re.search(r"opportunities.yml:\d+: opportunity '\w+', field 'districts'", error), error


# -- the i18n check knows the new domain -----------------------------------------------------------


def test_the_i18n_check_covers_the_opportunities_catalogues(project: Settings):
    path = opportunities_path(project.translations_dir, "ar")
    with path.open("rb") as handle:
        catalog = read_po(handle)
    catalog.get("match.reason.speaks_language").string = "تتحدث"
    catalog.header_comment = "# Arabic opportunities catalogue."
    with path.open("wb") as handle:
        write_po(handle, catalog)
    errors = check_catalogues(project.translations_dir, LANGUAGES).errors
    assert any("ar/LC_MESSAGES/opportunities.po: match.reason.speaks_language: placeholders" in e
               for e in errors)  # fmt: skip
    assert any("ar/LC_MESSAGES/opportunities.po: the header must say" in e for e in errors)
