"""The content in dialogs/: the shipped files load, their texts exist, broken files are named."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.core import actions
from bot.core.content import check_messages, load_content
from bot.core.flows import ContentError, load_flow
from bot.i18n.catalogs import catalog_path, read_catalog

DIALOGS = PROJECT_ROOT / "dialogs"
TRANSLATIONS = PROJECT_ROOT / "translations"


def catalogue(lang: str) -> dict[str, str]:
    return read_catalog(catalog_path(TRANSLATIONS, lang))


# -- the shipped content ---------------------------------------------------------------------------


def test_real_dialogs_load():
    content = load_content(DIALOGS)
    intake = content.intake
    assert intake.id == "intake"
    assert [step.id for step in intake.steps] == [
        "first_name",
        "age_group",
        "languages",
        "german_level",
        "interests",
        "district",
        "hours_per_week",
        "availability",
        "contact_method",
        "phone",
        "email",
        "anything_else",
    ]
    assert intake.step("languages").other == "other"
    assert intake.step("hours_per_week").suggestions == (1, 2, 4, 6, 10)
    assert intake.step("phone").when is not None
    assert intake.step("phone").when.values == ("phone",)
    # The twelve questions migrants ask most; issue 4's faq_* intents map onto these ids.
    assert content.faq_topics == (
        "what_is_volunteering",
        "residence_status",
        "german_level",
        "money_benefits",
        "insurance",
        "time_commitment",
        "fields_of_engagement",
        "certificate",
        "costs_requirements",
        "contact_office",
        "training",
        "accompaniment",
    )
    assert content.faq_next["contact_office"] == ("advisor",)
    assert content.privacy_version >= 1
    assert content.placeholders()["ehrenamtspauschale"] == "960 €"
    assert content.placeholders()["facts_checked"] == "26.11.2026"


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_message_id_used_by_dialogs_exists(lang: str):
    content = load_content(DIALOGS)
    keys = content.message_keys()
    assert "intake.district.suedost" in keys
    assert "faq.money_benefits.answer" in keys
    assert "intake.languages.other_prompt" in keys
    messages = catalogue(lang)
    missing = sorted(keys - set(messages))
    assert missing == []
    for key in keys:
        assert messages[key].strip(), key


def test_placeholders_in_content_texts_are_known():
    """Every {name} in an FAQ answer is a fact or an agency field, in both languages."""
    import string

    content = load_content(DIALOGS)
    known = set(content.placeholders()) | {
        "agency_name",
        "agency_email",
        "agency_phone",
        "agency_address",
        "agency_checked",
    }
    for lang in ("en", "de"):
        messages = catalogue(lang)
        for key in content.message_keys():
            names = {name for _, name, _, _ in string.Formatter().parse(messages[key]) if name}
            assert names <= known, (lang, key, names - known)


def test_intake_loads_with_the_english_ids_and_check_messages_passes():
    english = frozenset(catalogue("en"))
    load_flow(DIALOGS / "intake.yml", english)
    check_messages(load_content(DIALOGS), english, TRANSLATIONS / "en")


def test_check_messages_names_a_missing_id():
    english = frozenset(catalogue("en")) - {"intake.district.suedost"}
    where = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
    with pytest.raises(ContentError, match=r"intake\.district\.suedost") as caught:
        check_messages(load_content(DIALOGS), english, where)
    assert str(where) in str(caught.value)


def test_load_flow_names_a_missing_id():
    english = frozenset(catalogue("en")) - {"intake.phone.label"}
    with pytest.raises(ContentError, match=r"step 'phone'.*intake\.phone\.label"):
        load_flow(DIALOGS / "intake.yml", english)


def test_every_button_action_of_the_intake_fits_telegram():
    for step in load_content(DIALOGS).intake.steps:
        for made in [
            actions.back(step.id),
            actions.skip(step.id),
            actions.done(step.id),
            actions.edit(step.id),
            *(actions.answer(step.id, option) for option in step.options),
            *(actions.answer(step.id, str(n)) for n in step.suggestions),
        ]:
            assert len(made.encode()) <= actions.MAX_BYTES
            assert actions.parse(made) is not None


# -- broken flow files -----------------------------------------------------------------------------

HEADER = "flow: intake\nsteps:\n"
FIRST = "  - id: name\n    type: text\n"  # lines 3-4


def flow_file(tmp_path: Path, steps: str) -> Path:
    """Writes a flow whose first step (lines 3-4) is fine and whose second step starts on line 5."""
    path = tmp_path / "intake.yml"
    path.write_text(
        HEADER + FIRST + textwrap.indent(textwrap.dedent(steps), "  "), encoding="utf-8"
    )
    return path


def assert_names(exc: pytest.ExceptionInfo[ContentError], path: Path, line: int, *words: str):
    message = str(exc.value)
    assert f"{path}:{line}:" in message, message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize(
    ("steps", "line", "words"),
    [
        (  # unknown type
            """\
            - id: mood
              type: slider
            """,
            5,
            ["'mood'", "'slider'"],
        ),
        (  # duplicate id
            """\
            - id: name
              type: text
            """,
            5,
            ["'name'", "twice"],
        ),
        (  # unknown key
            """\
            - id: mood
              type: text
              colour: red
            """,
            5,
            ["unknown key", "colour"],
        ),
        (  # 'other' not among the options
            """\
            - id: langs
              type: multi
              options: [ar, fa]
              other: elvish
            """,
            5,
            ["'langs'", "'other'"],
        ),
        (  # 'other' on a choice step
            """\
            - id: langs
              type: choice
              options: [ar, other]
              other: other
            """,
            5,
            ["'other'"],
        ),
        (  # suggestions below min
            """\
            - id: hours
              type: number
              min: 1
              max: 10
              suggestions: [0, 5]
            """,
            5,
            ["'hours'", "suggestions"],
        ),
        (  # suggestions above max
            """\
            - id: hours
              type: number
              min: 1
              max: 10
              suggestions: [5, 20]
            """,
            5,
            ["suggestions"],
        ),
        (  # min above max
            """\
            - id: hours
              type: number
              min: 10
              max: 1
            """,
            5,
            ["min <= max"],
        ),
        (  # options on a text step
            """\
            - id: mood
              type: text
              options: [a, b]
            """,
            5,
            ["cannot have 'options'"],
        ),
        (  # a choice without options
            """\
            - id: mood
              type: choice
            """,
            5,
            ["needs 'options'"],
        ),
        (  # an option twice
            """\
            - id: mood
              type: choice
              options: [a, b, a]
            """,
            5,
            ["option twice"],
        ),
        (  # an id with a character that would break the button actions
            """\
            - id: "mood:x"
              type: text
            """,
            5,
            ["'id'"],
        ),
        (  # columns out of range
            """\
            - id: mood
              type: choice
              options: [a, b]
              columns: 5
            """,
            5,
            ["columns"],
        ),
        (  # max_length out of range
            """\
            - id: mood
              type: text
              max_length: 0
            """,
            5,
            ["max_length"],
        ),
        (  # 'when' naming a step that does not exist
            """\
            - id: mood
              type: text
              when: {step: nothing, is: [a]}
            """,
            5,
            ["when.step"],
        ),
        (  # 'when.is' naming an option the step does not have
            """\
            - id: how
              type: choice
              options: [phone, email]
            - id: number
              type: phone
              when: {step: how, is: [fax]}
            """,
            8,
            ["'number'", "fax"],
        ),
        (  # 'when.is' that is not a list
            """\
            - id: how
              type: choice
              options: [phone, email]
            - id: number
              type: phone
              when: {step: how, is: phone}
            """,
            8,
            ["when.is"],
        ),
    ],
)
def test_broken_step_names_file_and_line(tmp_path: Path, steps: str, line: int, words: list[str]):
    path = flow_file(tmp_path, steps)
    with pytest.raises(ContentError) as caught:
        load_flow(path)
    assert_names(caught, path, line, *words)


def test_when_naming_a_later_step(tmp_path: Path):
    path = tmp_path / "intake.yml"
    path.write_text(
        HEADER
        + "  - id: number\n"  # line 3
        + "    type: phone\n"
        + "    when: {step: how, is: [phone]}\n"
        + "  - id: how\n"
        + "    type: choice\n"
        + "    options: [phone, email]\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as caught:
        load_flow(path)
    assert_names(caught, path, 3, "'number'", "earlier step")


def test_when_naming_itself(tmp_path: Path):
    path = flow_file(
        tmp_path,
        """\
        - id: how
          type: choice
          options: [a, b]
          when: {step: how, is: [a]}
        """,
    )
    with pytest.raises(ContentError) as caught:
        load_flow(path)
    assert_names(caught, path, 5, "earlier step")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("steps:\n  - id: a\n    type: text\n", ["'flow'"]),
        ("flow: intake\n", ["'steps'"]),
        ("flow: intake\nsteps: []\n", ["'steps'"]),
        ("flow: intake\nsteps: [unclosed\n", ["not valid YAML"]),
        ("- just a list\n", ["mapping"]),
        ("flow: intake\nsteps:\n  - just text\n", ["mapping"]),
    ],
)
def test_broken_flow_file_names_the_file(tmp_path: Path, text: str, words: list[str]):
    path = tmp_path / "intake.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_flow(path)
    assert str(caught.value).startswith(str(path))
    for word in words:
        assert word in str(caught.value)


def test_missing_flow_file(tmp_path: Path):
    with pytest.raises(ContentError, match="file not found"):
        load_flow(tmp_path / "intake.yml")


@pytest.mark.parametrize(
    "field", ["max: many", "min: one", "suggestions: [a]", "columns: two", "max_length: long"]
)
def test_non_numeric_number_fields_name_file_and_line(tmp_path: Path, field: str):
    path = flow_file(tmp_path, f"- id: hours\n  type: number\n  min: 1\n  max: 10\n  {field}\n")
    # the step repeats min/max when `field` overrides one; YAML keeps the last one
    with pytest.raises(ContentError) as caught:
        load_flow(path)
    assert_names(caught, path, 5)


def test_option_ids_too_long_for_a_button_are_rejected(tmp_path: Path):
    option = "a_very_long_option_id_that_an_editor_might_write_by_hand"
    assert len(actions.answer("district", option).encode()) > actions.MAX_BYTES
    path = flow_file(tmp_path, f"- id: district\n  type: choice\n  options: [mitte, {option}]\n")
    with pytest.raises(ContentError) as caught:
        load_flow(path)
    assert_names(caught, path, 5)


def test_when_on_a_multi_step_is_rejected_or_works(tmp_path: Path):
    path = flow_file(
        tmp_path,
        """\
        - id: langs
          type: multi
          options: [ar, other]
        - id: which
          type: text
          when: {step: langs, is: [other]}
        """,
    )
    try:
        flow = load_flow(path)
    except ContentError:
        return
    assert flow.applies(flow.step("which"), {"langs": ["ar", "other"]})


# -- broken content files besides the flow ---------------------------------------------------------


@pytest.fixture
def dialogs(tmp_path: Path) -> Path:
    target = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, target)
    return target


def test_copied_dialogs_load(dialogs: Path):
    assert load_content(dialogs).intake.has_step("district")


def test_load_content_reports_the_broken_intake(dialogs: Path):
    intake = dialogs / "intake.yml"
    text = intake.read_text(encoding="utf-8")
    lines = text.splitlines()
    index = lines.index("  - id: district")
    lines[index + 1] = "    type: map"
    intake.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_content(dialogs)
    assert_names(caught, intake, index + 1, "'district'", "'map'")


def test_duplicate_faq_topic(dialogs: Path):
    faq = dialogs / "faq.yml"
    text = faq.read_text(encoding="utf-8")
    faq.write_text(text + "  - id: money_benefits\n", encoding="utf-8")
    line = len(text.splitlines()) + 1
    with pytest.raises(ContentError) as caught:
        load_content(dialogs)
    assert_names(caught, faq, line, "money_benefits")


def test_fact_with_a_bad_date(dialogs: Path):
    facts = dialogs / "facts.yml"
    text = facts.read_text(encoding="utf-8")
    facts.write_text(text.replace('checked: "2026-11-26"', 'checked: "26.11.2026"', 1), "utf-8")
    with pytest.raises(ContentError, match=r"facts\.yml:\d+: 'checked' must be a date"):
        load_content(dialogs)


@pytest.mark.parametrize("version", ["0", "one", "-1"])
def test_privacy_version_must_be_positive(dialogs: Path, version: str):
    privacy = dialogs / "privacy.yml"
    text = privacy.read_text(encoding="utf-8")
    privacy.write_text(
        re.sub(r"^version: \d+", f"version: {version}", text, flags=re.M), encoding="utf-8"
    )
    with pytest.raises(ContentError, match=r"privacy\.yml: 'version'"):
        load_content(dialogs)


def test_missing_content_file(dialogs: Path):
    (dialogs / "facts.yml").unlink()
    with pytest.raises(ContentError, match=r"facts\.yml: file not found"):
        load_content(dialogs)
