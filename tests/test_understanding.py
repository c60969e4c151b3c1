"""Free text in every language: understood, answered from content, or asked back about."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from bot.app import Core
from bot.config import load_settings
from bot.core.events import Command, PersonRef, Press, Text
from bot.nlu.model_store import load_or_train, model_fingerprint

SETTINGS = load_settings(environ={})

# The issue's own examples, and one per language of the same kind.
UNDERSTOOD = [
    ("geht ehrenamt auch ohne aufenthaltstitel?", "faq_residence_status"),
    ("في مصاري؟", "faq_money_benefits"),
    ("komak lazem daram, ba ki sohbat konam?", "human_handoff"),
    ("I want to help children with homework", "want_to_volunteer"),
    ("мне нужно знать немецкий?", "faq_german_level"),
    ("Bu gönüllülük için sigortalı mıyım?", "faq_insurance"),
    ("où se trouve votre bureau ?", "faq_contact_office"),
    ("¿me dan un certificado?", "faq_certificate"),
    ("видаліть мої дані будь ласка", "delete_my_data"),
]


@pytest.fixture(scope="module")
def model():
    return load_or_train(SETTINGS.nlu_data_dir, SETTINGS.nlu_cache_dir).models.intents


@pytest.mark.parametrize(("text", "intent"), UNDERSTOOD)
def test_the_classifier_understands_questions_in_many_languages(model, text, intent) -> None:
    prediction = model.predict(text)
    assert prediction.intent == intent, prediction.ranking[:3]


def test_the_model_is_cached_and_retrained_when_the_data_changes(tmp_path: Path) -> None:
    data = tmp_path / "nlu_data" / "en"
    data.mkdir(parents=True)
    lines = ['version: "3.1"', "nlu:"]
    for intent, examples in (
        ("greet", ["hello", "hi", "good morning"]),
        ("goodbye", ["bye", "see you", "good night"]),
    ):
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {e}" for e in examples]
    (data / "nlu.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cache = tmp_path / "cache"
    first = load_or_train(tmp_path / "nlu_data", cache)
    assert first.trained_seconds is not None and first.examples == 6
    again = load_or_train(tmp_path / "nlu_data", cache)
    assert again.trained_seconds is None  # loaded from the cache
    (data / "nlu.yml").write_text("\n".join([*lines, "    - farewell"]) + "\n", encoding="utf-8")
    changed = load_or_train(tmp_path / "nlu_data", cache)
    assert changed.trained_seconds is not None and changed.fingerprint != first.fingerprint
    assert len(list(cache.glob("intent-model-*.pkl"))) == 1  # the stale model is gone
    assert model_fingerprint(tmp_path / "nlu_data") == changed.fingerprint
    assert changed.examples == 7


async def _person(core: Core, name: str, language: str = "en") -> PersonRef:
    ref = PersonRef("test", name, language)
    await core.service.handle(ref, Command("start"))
    await core.service.handle(ref, Press(f"lang:{language}"))
    return ref


async def test_a_question_is_answered_from_the_content(core: Core) -> None:
    ref = await _person(core, "faq")
    (reply,) = await core.service.handle(ref, Text("do I lose my Jobcenter money if I volunteer?"))
    assert "Bürgergeld" in reply.text and "960 €" in reply.text
    assert "menu" in [b.action for row in reply.buttons for b in row]


async def test_arabic_question_gets_the_arabic_answer(core: Core) -> None:
    ref = await _person(core, "ar", "ar")
    (reply,) = await core.service.handle(ref, Text("في مصاري؟"))
    assert "Ehrenamtspauschale" in reply.text and "العمل التطوعي" in reply.text


async def test_asking_for_a_human_leads_to_the_advisor(core: Core) -> None:
    ref = await _person(core, "human")
    (reply,) = await core.service.handle(ref, Text("I want to talk to a real person please"))
    assert next(b.action for row in reply.buttons for b in row) == "advisor:yes"
    # A typed yes on that screen confirms it.
    (done,) = await core.service.handle(ref, Text("yes please"))
    assert "#1" in done.text


async def test_wanting_to_volunteer_starts_the_intake_with_consent(core: Core) -> None:
    ref = await _person(core, "volunteer")
    (reply,) = await core.service.handle(ref, Text("I would like to volunteer, how can I join?"))
    assert "Before we start" in reply.text
    (question,) = await core.service.handle(ref, Text("yes ok"))
    assert "What is your first name?" in question.text


async def test_out_of_scope_is_declined_politely(core: Core) -> None:
    ref = await _person(core, "scope")
    (reply,) = await core.service.handle(ref, Text("can you find me a paid job in a warehouse?"))
    assert "only help with volunteering" in reply.text
    assert reply.buttons  # the menu comes with it


async def test_gibberish_gets_guesses_and_an_advisor_and_is_kept_for_review(core: Core) -> None:
    ref = await _person(core, "unclear")
    await core.service.handle(ref, Press("intake"))
    await core.service.handle(ref, Press("consent:yes"))
    await core.service.handle(ref, Command("menu"))
    (reply,) = await core.service.handle(ref, Text("qzx vbnm"))
    assert "Did you mean" in reply.text
    actions = [b.action for row in reply.buttons for b in row]
    assert "advisor" in actions and actions[-1] == "menu"
    assert 2 <= len(actions) <= 5
    async with core.database.transaction() as repo:
        (kept,) = await repo.nlu_review.oldest()
        assert kept.text == "qzx vbnm" and kept.confidence < SETTINGS.nlu_threshold


async def test_without_consent_nothing_is_kept_for_review(core: Core) -> None:
    ref = await _person(core, "private")
    await core.service.handle(ref, Text("qzx vbnm"))
    async with core.database.transaction() as repo:
        assert await repo.nlu_review.oldest() == []


async def test_a_question_during_the_intake_is_answered_then_the_question_repeated(
    core: Core,
) -> None:
    ref = await _person(core, "aside")
    for event in (Press("intake"), Press("consent:yes"), Text("Sami")):
        await core.service.handle(ref, event)
    replies = await core.service.handle(ref, Text("do I need a Führungszeugnis? does it cost?"))
    assert len(replies) == 2
    answer, question = replies
    assert "Führungszeugnis" in answer.text
    assert "How old are you?" in question.text
    # A typed answer that is an answer stays an answer.
    (next_question,) = await core.service.handle(ref, Text("27–64"))
    assert "Which languages" in next_question.text


async def test_text_questions_are_answers_not_intents(core: Core) -> None:
    ref = await _person(core, "name")
    for event in (Press("intake"), Press("consent:yes")):
        await core.service.handle(ref, event)
    (reply,) = await core.service.handle(ref, Text("Hello"))  # a name, even if it greets
    assert "How old are you?" in reply.text


async def test_nlu_predict_command_writes_json_lines(tmp_path: Path) -> None:
    env = dict(os.environ) | {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite3'}"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "nlu",
        "predict",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        process.communicate("في مصاري؟\n\ngeht ehrenamt auch ohne aufenthaltstitel?\n".encode()),
        timeout=180,
    )
    assert process.returncode == 0, err.decode()
    rows = [json.loads(line) for line in out.decode().splitlines()]
    assert [row["intent"] for row in rows] == ["faq_money_benefits", "faq_residence_status"]
    assert [row["language"] for row in rows] == ["ar", "de"]
    assert set(rows[0]) == {"text", "intent", "confidence", "language"}
    assert 0 < rows[0]["confidence"] <= 1


async def test_typing_a_language_name_on_the_picker_chooses_it(core: Core) -> None:
    ref = PersonRef("test", "picker", None)
    await core.service.handle(ref, Command("start"))
    (reply,) = await core.service.handle(ref, Text("Türkçe"))
    assert "Türkçe" in reply.text  # "Size bundan sonra Türkçe yazacağım" or similar
    async with core.database.transaction() as repo:
        assert (await repo.persons.find("test", "picker")).language == "tr"


async def test_noise_gets_no_far_fetched_suggestions(core: Core) -> None:
    ref = await _person(core, "noise")
    (reply,) = await core.service.handle(ref, Text("asdkjh qwe"))
    actions = [b.action for row in reply.buttons for b in row]
    assert "privacy:forget" not in actions


async def test_saying_you_only_speak_arabic_mid_intake_opens_the_language_picker(
    core: Core,
) -> None:
    ref = await _person(core, "only-ar")
    for event in (
        Press("intake"),
        Press("consent:yes"),
        Text("Sami"),
        Press("a:age_group:age_18_26"),
    ):
        await core.service.handle(ref, event)
    replies = await core.service.handle(ref, Text("بالعربي لو سمحت، ما بفهم انكليزي"))
    assert "choose your language" in replies[0].text
    # The intake waits where it was.
    await core.service.handle(ref, Press("lang:ar"))
    (question,) = await core.service.handle(ref, Press("intake"))
    assert "a:languages:ar" in [b.action for row in question.buttons for b in row]


@pytest.fixture(scope="module")
def identifier():
    from bot.nlu.langid import LanguageIdentifier

    models = load_or_train(SETTINGS.nlu_data_dir, SETTINGS.nlu_cache_dir).models
    return LanguageIdentifier(SETTINGS.languages, romanized=models.romanized)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("fi masari? ana 3andi duldung", "ar"),
        ("bdi sa3ed el wlad bl madrase", "ar"),
        ("komak lazem daram, ba ki sohbat konam?", "fa"),
        ("salam, mikham dar Leipzig komak konam", "fa"),
        # Real Latin-script languages are not taken for them.
        ("I would like to help children with homework", "en"),
        ("Ich möchte Kindern bei den Hausaufgaben helfen", "de"),
        ("Çocuklara ödevlerinde yardım etmek istiyorum", "tr"),
        ("Ez dixwazim alîkariya zarokan bikim", "ku"),
    ],
)
def test_arabic_and_farsi_in_latin_letters_are_recognised(identifier, text, language) -> None:
    detection = identifier.detect(text)
    assert detection is not None and detection.language == language


def test_the_telegram_language_decides_a_close_call_only(identifier) -> None:
    # "ok danke" is a close call between Kurdish and German for py3langid.
    assert identifier.detect("ok danke", prior="de").language == "de"
    assert identifier.detect("ok danke", prior="ku").language == "ku"
    assert identifier.detect("thank you very much for your help", prior="de").language == "en"


def test_nlu_evaluate_reports_heldout_languages_thresholds_and_confusions() -> None:
    import io

    from bot.nlu.commands import evaluate_command

    out = io.StringIO()
    assert evaluate_command(SETTINGS, folds=1, out=out) == 0
    report = out.getvalue()
    assert "held-out set" in report and "messages that also occur in the training data" in report
    for language in ("ar", "de", "fa", "ti"):
        assert f"\n  {language} " in report
    assert "worst confusions" in report
    assert "<- config" in report  # the configured threshold is marked in the table
    assert "language identification on native-script held-out messages" in report
    assert "Latin-script Arabic/Farsi/Pashto" in report


async def test_nlu_review_lists_kept_messages_and_deletes_them(tmp_path: Path) -> None:
    import dataclasses
    import io

    from bot.nlu.commands import review
    from bot.storage.database import Database

    settings = dataclasses.replace(
        SETTINGS, database_url=f"sqlite+aiosqlite:///{tmp_path / 'review.sqlite3'}"
    )
    database = Database(settings.database_url)
    await database.upgrade()
    async with database.transaction() as repo:
        person, _ = await repo.persons.get_or_create("test", "r1")
        await repo.nlu_review.add(
            person_id=person.id, language="ar", text="شو هاد؟", intent="help", confidence=0.21
        )
    await database.dispose()

    out = io.StringIO()
    assert await review(settings, delete=True, out=out) == 0
    assert "شو هاد؟" in out.getvalue() and "help" in out.getvalue()
    assert "deleted 1 reviewed message(s)" in out.getvalue()
    again = io.StringIO()
    await review(settings, delete=False, out=again)
    assert "0 message(s) to review" in again.getvalue()
