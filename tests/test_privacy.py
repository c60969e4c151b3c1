"""Export, erasure and retention on SQLite and PostgreSQL: after erasure no table (found by
reflecting the schema, so a new table is covered too) and, on SQLite, no byte of the database
files holds the person's strings any more."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from bot.app import Core, open_core
from bot.config import ConfigError, PrivacySettings, load_settings
from bot.core import privacy as privacy_module
from bot.core.advisor_desk import AdvisorDesk, ConfiguredAdvisors
from bot.core.events import Command, PersonRef, Press, Text
from bot.core.outbox import Outbox
from bot.core.privacy import (
    EXPIRED,
    Privacy,
    export_json,
    is_erased,
    summary_lines,
    translation_forgetters,
)
from bot.core.relay import DatabaseTranslationCache
from bot.mt.cache import CachingTranslator, InMemoryTranslationCache
from bot.storage.database import Database
from bot.storage.models import RelayMessage
from tests.conftest import make_settings
from tests.test_handoff import LENA, FakeTranslator, RecordingChannel

NAME = "Zzyzx-Unique-Name"
USERNAME = "zzyzx_handle"
TELEGRAM_ID = "770011223344"
PHONE = "+49 170 5550199"
EMAIL = "zzyzx.mail@example.org"
FREE_TEXT = "Zzyzx-Free-Text about my Duldung"
TO_ADVISOR = "Zzyzx-Relay-To-Advisor please call me"
TO_PERSON = "Zzyzx-Relay-To-Person Termin am Dienstag"
ARABIC = "زيزكس سر خاص جدا"
NOTE = f"Zzyzx-Note: {NAME} called from {PHONE}"
UNCLEAR = "Zzyzx-Unclear-Question about papers"
PENDING = "Zzyzx-Pending-Message not yet sent"
STRINGS = (
    NAME, USERNAME, TELEGRAM_ID, PHONE, EMAIL, FREE_TEXT, TO_ADVISOR, TO_PERSON, ARABIC, NOTE,
    UNCLEAR, PENDING,
)  # fmt: skip

REF = PersonRef("telegram", TELEGRAM_ID, "en", display_name=NAME, username=USERNAME)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@dataclass
class World:
    core: Core
    desk: AdvisorDesk
    outbox: Outbox
    channel: RecordingChannel
    privacy: Privacy
    memory: InMemoryTranslationCache
    database: Database


@pytest.fixture
async def world(tmp_path: Path, any_database: Database) -> AsyncIterator[World]:
    core = await open_core(make_settings(tmp_path), database=any_database)
    memory = InMemoryTranslationCache(100)
    # The production chain: in-memory cache around the database cache around the engine.
    core.translator = CachingTranslator(
        CachingTranslator(FakeTranslator(), DatabaseTranslationCache(any_database)), memory
    )
    desk = core.advisor_desk(ConfiguredAdvisors(frozenset({LENA.id})))
    channel = RecordingChannel()
    outbox = core.outbox(channel, desk)
    privacy = Privacy(
        any_database,
        core.cards,
        core.settings.privacy,
        forgetters=translation_forgetters(core.translator),
    )
    yield World(core, desk, outbox, channel, privacy, memory, any_database)
    await core.close()


async def fill(world: World) -> int:
    """A person with every kind of data the bot keeps, each holding a distinctive string."""
    service, desk, outbox = world.core.service, world.desk, world.outbox
    await service.handle(REF, Command("start"))
    await service.handle(REF, Press("lang:en"))
    async with world.database.transaction() as repo:
        person = await repo.persons.find("telegram", TELEGRAM_ID)
        assert person is not None
        person.consent_version = world.core.content.privacy_version
        person.consent_at = NOW
        answers = {
            "first_name": NAME,
            "contact_method": "phone",
            "phone": PHONE,
            "email": EMAIL,
            "anything_else": FREE_TEXT,
        }
        await repo.profiles.save(person.id, answers)
        conversation = await repo.conversations.get_or_create(person.id)
        conversation.answers = {"first_name": NAME}
        await repo.nlu_review.add(
            person_id=person.id, language="en", text=UNCLEAR, intent="out_of_scope", confidence=0.2
        )
        person_id = person.id
    await service.handle(REF, Press("advisor"))
    await service.handle(REF, Press("advisor:yes"))
    assert (await desk.claim(LENA, 1)).ok
    await service.handle(REF, Text(TO_ADVISOR))
    await service.handle(REF, Text(ARABIC))
    assert (await desk.reply(LENA, 1, TO_PERSON)).ok
    assert (await desk.note(LENA, 1, NOTE)).ok
    await outbox.flush()  # card, relays and notices delivered; translations cached
    await service.handle(REF, Text(PENDING))  # queued, not yet delivered
    return person_id


async def table_dump(database: Database) -> dict[str, str]:
    """Every row of every table (reflected, not listed), as text, per table."""
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        dump = {}
        for table in tables:
            rows = (await connection.execute(text(f'SELECT * FROM "{table}"'))).all()
            dump[table] = "\n".join(
                json.dumps([_plain(value) for value in row], ensure_ascii=False) for row in rows
            )
    return dump


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, type(None))) else str(value)


def variants(value: str) -> list[str]:
    """The string as it may be stored: as typed, or escaped by a JSON column."""
    return list(dict.fromkeys([value, json.dumps(value)[1:-1]]))


def found_in(dump: dict[str, str], value: str) -> list[str]:
    return [table for table, content in dump.items() if any(v in content for v in variants(value))]


async def test_export_lists_everything_before_erasure(world: World) -> None:
    person_id = await fill(world)
    export = await world.privacy.export(person_id)
    assert export is not None
    data = export_json(export)
    parsed = json.loads(data.decode("utf-8"))
    assert parsed["format_version"] == 1 and parsed["exported_at"].startswith("20")
    for value in STRINGS:
        assert value in data.decode("utf-8"), value
    assert parsed["person"]["consent"]["privacy_notice_version"] == (
        world.core.content.privacy_version
    )
    (lead,) = parsed["leads"]
    assert lead["number"] == 1 and lead["handoff"] == "with_advisor"
    assert lead["contact"]["name"] == NAME
    directions = [m["direction"] for m in lead["messages"]]
    assert directions.count("to_advisors") == 3 and directions.count("to_person") == 1
    assert any(e["action"] == "note" and e["detail"] == NOTE for e in lead["history"])
    assert [m["text"] for m in parsed["unclear_messages"]] == [UNCLEAR]
    assert parsed["pending_messages"], "the message not yet relayed is listed"
    assert parsed["cached_translations"]

    english = summary_lines(export, world.core.catalogs.get("en"))
    assert "Requests to the advisors: 1" in english
    assert "Messages with the advisors: 4" in english
    assert "Saved answers: 5" in english
    german = "\n".join(summary_lines(export, world.core.catalogs.get("de")))
    assert "Anfrage #1 vom 20" in german and "/delete" in german


async def test_erasure_leaves_no_trace_in_any_table_or_file(world: World) -> None:
    person_id = await fill(world)
    before = await table_dump(world.database)
    for value in STRINGS:
        assert found_in(before, value), f"{value!r} was never stored: the test proves nothing"
    assert len(world.memory) > 0
    sqlite_files = _sqlite_files(world.database)
    if sqlite_files:
        assert any(NAME.encode() in path.read_bytes() for path in sqlite_files)

    report = await world.privacy.erase(person_id)

    assert report.found and report.leads == (1,) and report.cards_edited == 1
    after = await table_dump(world.database)
    leftovers = {value: found_in(after, value) for value in STRINGS if found_in(after, value)}
    assert leftovers == {}
    assert len(world.memory) == 0  # the in-memory translation cache forgot the person
    for path in _sqlite_files(world.database):
        raw = path.read_bytes()
        for value in STRINGS:
            for variant in variants(value):
                assert variant.encode("utf-8") not in raw, (path.name, value)

    async with world.database.transaction() as repo:
        assert await repo.persons.find("telegram", TELEGRAM_ID) is None
        lead = await repo.leads.get(1)
        assert lead is not None and is_erased(lead) and lead.person_id is None
        assert lead.handoff == "closed" and lead.answers == {} and lead.suggestions == []
        assert lead.contact == {"channel": "telegram", "erased": "erased"}
        assert sum(count for *_, count in await repo.leads.counts()) == 1  # still counted
        events = await repo.lead_events.for_lead(1)
        erased = [e for e in events if e.action == "erased"]
        assert len(erased) == 1 and erased[0].detail is None and erased[0].actor_id is None
        assert [e.detail for e in events if e.action == "note"] == [None]  # the note is kept
        # The delivered card stays known (a reply to it finds the closed lead), without text.
        (card,) = [i for i in await repo.outbox.all() if i.kind == "lead_card"]
        assert card.status == "sent" and card.external_ref and card.text == ""
        assert card.person_id is None and card.payload == {}

    await world.outbox.flush()
    edit = world.channel.to_advisors("card_edit")[-1]
    assert "#1" in edit.text and "Auf Wunsch der Person gelöscht" in edit.text
    assert NAME not in edit.text and edit.payload["buttons"] == []
    # The message queued before erasure never went out.
    assert not any(PENDING in m.text for m in world.channel.sent)


async def test_erasure_inside_a_conversation_turn_commits(world: World) -> None:
    """The lead may erase inside the turn that holds the person's rows: they leave the session
    instead of failing the commit."""
    person_id = await fill(world)
    async with world.database.transaction() as repo:
        person = await repo.persons.get(person_id)
        conversation = await repo.conversations.get_or_create(person_id)
        assert person is not None
        person.last_seen_at = NOW
        report = await world.privacy.erase_in(repo, person_id)
        conversation.screen = "menu"
        person.language = "de"
    await world.privacy.finish(report)
    async with world.database.transaction() as repo:
        assert await repo.persons.get(person_id) is None
    again = await world.core.service.handle(REF, Command("start"))
    assert again  # writing again starts afresh as a new person
    async with world.database.transaction() as repo:
        fresh = await repo.persons.find("telegram", TELEGRAM_ID)
        assert fresh is not None and fresh.consent_version is None and fresh.language is None
        assert await repo.profiles.get(fresh.id) is None


async def test_retention_erases_the_inactive_and_old_message_logs(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(privacy_module, "RETENTION_BATCH", 1)  # one erasure per transaction
    clock = Clock(NOW)
    privacy = Privacy(
        world.database,
        world.core.cards,
        PrivacySettings(inactive_days=180, closed_lead_message_days=90),
        clock=clock,
    )
    async with world.database.transaction() as repo:
        sleeper = await _person(repo, "1001", NOW - timedelta(days=181))
        other_sleeper = await _person(repo, "1003", NOW - timedelta(days=400))
        active = await _person(repo, "1002", NOW - timedelta(days=10))
        sleeper_lead = await _lead(repo, sleeper.id, NAME, closed=None)
        await repo.outbox.enqueue(
            kind="lead_card",
            destination="advisors",
            text=f"card of {NAME}",
            lead_id=sleeper_lead,
            person_id=sleeper.id,
            channel="telegram",
        )
        await repo.session.flush()
        for item in await repo.outbox.all():
            item.status = "sent"
        old = await _lead(repo, active.id, "old-relay-text", closed=NOW - timedelta(days=91))
        recent = await _lead(repo, active.id, "recent-relay-text", closed=NOW - timedelta(days=89))
        still_open = await _lead(repo, active.id, "open-relay-text", closed=None)

    caplog.set_level(logging.INFO, logger="bot.core.privacy")
    report = await privacy.run_retention()
    assert report.ran and report.persons_erased == (sleeper.id, other_sleeper.id)
    assert report.messages.leads == 1 and report.messages.relay_messages == 1

    async with world.database.transaction() as repo:
        assert await repo.persons.get(sleeper.id) is None
        assert await repo.persons.get(other_sleeper.id) is None
        assert await repo.persons.get(active.id) is not None
        lead = await repo.leads.get(sleeper_lead)
        assert lead is not None and is_erased(lead)
        assert [e.action for e in await repo.lead_events.for_lead(sleeper_lead)][-1] == EXPIRED
        assert await repo.relay.for_lead(old) == []
        assert [m.original for m in await repo.relay.for_lead(recent)] == ["recent-relay-text"]
        assert [m.original for m in await repo.relay.for_lead(still_open)] == ["open-relay-text"]
        edits = [i for i in await repo.outbox.pending() if i.kind == "card_edit"]
        assert len(edits) == 1 and "Aufbewahrungsfrist" in edits[0].text
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retention:")]
    assert "persons_erased=2" in line and "relay_messages=2" in line
    assert NAME not in caplog.text and "relay-text" not in caplog.text

    # Persisted: an hour later, or after a restart, the job is not due; a day later it is.
    clock.now = NOW + timedelta(hours=1)
    assert not (await privacy.run_retention()).ran
    await world.database.engine.dispose()  # a restart: new connections, a new service
    again = Privacy(
        world.database, world.core.cards, privacy.settings,
        clock=clock,
    )  # fmt: skip
    assert not (await again.run_retention()).ran
    clock.now = NOW + timedelta(days=1, minutes=1)
    later = await again.run_retention()
    assert later.ran and later.persons_erased == ()
    async with world.database.transaction() as repo:
        job = await repo.privacy.lock_job("retention")
        assert job.last_run_at is not None and job.result["persons_erased"] == 0


def test_retention_days_are_validated(tmp_path: Path) -> None:
    config = Path(__file__).resolve().parent.parent / "config.yml"
    broken = tmp_path / "config.yml"
    broken.write_text(
        config.read_text(encoding="utf-8").replace("inactive_days: 180", "inactive_days: 0"),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"privacy\.inactive_days"):
        load_settings(broken, environ={})
    assert load_settings(config, environ={}).privacy == PrivacySettings(180, 90)


# -- helpers ------------------------------------------------------------------------------------
@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


async def _person(repo: Any, external_id: str, last_seen: datetime) -> Any:
    person, _ = await repo.persons.get_or_create("telegram", external_id)
    person.language = "en"
    person.last_seen_at = last_seen
    return person


async def _lead(repo: Any, person_id: int, message: str, closed: datetime | None) -> int:
    lead = await repo.leads.create(
        person_id=person_id, kind="contact", language="en", answers={}, contact={"name": NAME}
    )
    lead.handoff = "closed" if closed else "waiting"
    lead.closed_at = closed
    await repo.relay.add(
        RelayMessage(
            lead_id=lead.id,
            person_id=person_id,
            direction="to_advisors",
            source_language="en",
            target_language="de",
            original=message,
        )
    )
    return int(lead.id)


def _sqlite_files(database: Database) -> list[Path]:
    if database.engine.dialect.name != "sqlite":
        return []
    path = Path(str(database.engine.url.database))
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]
