"""Storage on SQLite and on the PostgreSQL server: migrations, transactions, the outbox's claims."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text

from bot.app import open_core
from bot.core.events import Command, PersonRef, Press
from bot.core.handoff import Handoff
from bot.storage.database import Database
from tests.conftest import make_settings


async def test_migrations_create_every_table_and_are_idempotent(any_database: Database) -> None:
    await any_database.upgrade()  # a second run changes nothing and does not fail
    async with any_database.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert {
        "persons", "conversations", "profiles", "leads", "outbox", "nlu_review", "lead_events",
        "relay_messages", "translation_cache", "job_runs",
    } <= tables  # fmt: skip
    assert version == "0006"


async def test_person_is_unique_per_channel_and_id(any_database: Database) -> None:
    async with any_database.transaction() as repo:
        first, created = await repo.persons.get_or_create("telegram", "7")
        assert created
    async with any_database.transaction() as repo:
        again, created = await repo.persons.get_or_create("telegram", "7")
        other, other_created = await repo.persons.get_or_create("console", "7")
    assert not created and again.id == first.id
    assert other_created and other.id != first.id


async def test_conversation_state_round_trips_with_unicode(any_database: Database) -> None:
    answers = {
        "first_name": "أمل",
        "languages": ["ar", "other"],
        "languages_other": "ትግርኛ",
        "hours_per_week": 4,
        "availability": None,
    }
    async with any_database.transaction() as repo:
        person, _ = await repo.persons.get_or_create("telegram", "8")
        conversation = await repo.conversations.get_or_create(person.id)
        conversation.screen, conversation.step = "intake", "district"
        conversation.answers = answers
        conversation.history = ["first_name", "languages"]
        person_id = person.id
    async with any_database.transaction() as repo:
        conversation = await repo.conversations.get_or_create(person_id)
        assert (conversation.screen, conversation.step) == ("intake", "district")
        assert conversation.answers == answers
        assert conversation.history == ["first_name", "languages"]


async def test_a_failed_transaction_leaves_nothing_behind(any_database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with any_database.transaction() as repo:
            person, _ = await repo.persons.get_or_create("telegram", "9")
            await repo.leads.create(
                person_id=person.id, kind="intake", language="ar", answers={"x": 1}, contact={}
            )
            raise RuntimeError("crash between lead and card")
    async with any_database.transaction() as repo:
        assert await repo.persons.find("telegram", "9") is None
        assert await repo.outbox.all() == []


async def test_outbox_claims_only_due_items_oldest_first(any_database: Database) -> None:
    now = datetime.now(UTC)
    async with any_database.transaction() as repo:
        for number in range(3):
            await repo.outbox.enqueue(
                kind="lead_card", destination="advisors", text=f"card {number}", channel="telegram"
            )
        later = await repo.outbox.enqueue(
            kind="lead_card", destination="advisors", text="later", channel="telegram"
        )
        later.next_attempt_at = now + timedelta(hours=1)
        await repo.outbox.enqueue(
            kind="message", destination="person", text="console", channel="console"
        )
    async with any_database.transaction() as repo:
        due = await repo.outbox.claim_due(now + timedelta(seconds=1), ("telegram",))
    assert [item.text for item in due] == ["card 0", "card 1", "card 2"]


async def test_outbox_keeps_the_order_of_items_sharing_a_key(any_database: Database) -> None:
    """A card's edit waits while the card itself is pending (e.g. leased, or backing off)."""
    now = datetime.now(UTC)
    async with any_database.transaction() as repo:
        card = await repo.outbox.enqueue(
            kind="lead_card",
            destination="advisors",
            text="card",
            channel="telegram",
            ordering_key="lead:1",
        )
        await repo.outbox.enqueue(
            kind="card_edit",
            destination="advisors",
            text="edit",
            channel="telegram",
            ordering_key="lead:1",
        )
        await repo.outbox.enqueue(
            kind="lead_card", destination="advisors", text="other", channel="telegram",
            ordering_key="lead:2",
        )  # fmt: skip
        card.next_attempt_at = now + timedelta(minutes=5)  # backing off
    async with any_database.transaction() as repo:
        due = await repo.outbox.claim_due(now + timedelta(seconds=1), ("telegram",))
        assert [item.text for item in due] == ["other"]
        (card,) = [i for i in await repo.outbox.pending() if i.text == "card"]
        card.status = "sent"
    async with any_database.transaction() as repo:
        due = await repo.outbox.claim_due(now + timedelta(seconds=1), ("telegram",))
        assert [item.text for item in due] == ["edit", "other"]


@pytest.mark.postgres
async def test_two_workers_never_claim_the_same_outbox_item(postgres_database: Database) -> None:
    async with postgres_database.transaction() as repo:
        for number in range(6):
            await repo.outbox.enqueue(
                kind="lead_card", destination="advisors", text=f"card {number}", channel="telegram"
            )
    now = datetime.now(UTC) + timedelta(seconds=1)
    first_claimed = asyncio.Event()
    release = asyncio.Event()

    async def worker(limit: int, hold: bool) -> list[int]:
        async with postgres_database.transaction() as repo:
            items = await repo.outbox.claim_due(now, ("telegram",), limit=limit)
            if hold:
                first_claimed.set()
                await release.wait()
            return [item.id for item in items]

    holder = asyncio.create_task(worker(3, hold=True))
    await first_claimed.wait()
    second = await worker(10, hold=False)
    release.set()
    first = await holder
    assert len(first) == 3 and len(second) == 3
    assert not set(first) & set(second)


@pytest.mark.postgres
async def test_whole_conversation_runs_on_postgresql(tmp_path, postgres_database: Database) -> None:
    settings = make_settings(tmp_path)
    core = await open_core(settings, database=postgres_database)
    ref = PersonRef("telegram", "4242", "de")
    await core.service.handle(ref, Command("start"))
    await core.service.handle(ref, Press("lang:de"))
    await core.service.handle(ref, Press("intake"))
    await core.service.handle(ref, Press("consent:yes"))
    replies = await core.service.handle(ref, Press("s:first_name"))
    assert "Wie alt" in replies[0].text
    await core.service.handle(ref, Press("a:age_group:age_18_26"))
    async with postgres_database.transaction() as repo:
        person = await repo.persons.find("telegram", "4242")
        conversation = await repo.conversations.get_or_create(person.id)
        assert person.language == "de" and person.consent_version == core.content.privacy_version
        assert conversation.step == "languages"
        assert conversation.answers == {"first_name": None, "age_group": "age_18_26"}


open_handoff = Handoff.open


async def _advisor_requests(service, ref: PersonRef) -> None:  # type: ignore[no-untyped-def]
    await service.handle(ref, Command("start"))
    await service.handle(ref, Press("lang:en"))
    await service.handle(ref, Press("advisor"))


async def test_a_double_tap_creates_one_lead(tmp_path, any_database: Database) -> None:
    core = await open_core(make_settings(tmp_path), database=any_database)
    ref = PersonRef("telegram", "31", "en")
    await _advisor_requests(core.service, ref)
    replies = await asyncio.gather(
        *(core.service.handle(ref, Press("advisor:yes")) for _ in range(2))
    )
    texts = sorted(r[0].text for r in replies)
    assert sum("Done! Your request has the number" in text for text in texts) == 1
    assert sum("already with the agency" in text for text in texts) == 1
    async with any_database.transaction() as repo:
        cards = [item for item in await repo.outbox.all() if item.kind == "lead_card"]
        assert len(cards) == 1


@pytest.mark.postgres
async def test_two_bot_processes_serialise_one_persons_updates(
    tmp_path, postgres_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two services with separate in-process locks, like two webhook workers behind a load
    balancer: the row lock on the person in PostgreSQL still lets only one tap create a lead."""
    settings = make_settings(tmp_path)
    first = await open_core(settings, database=postgres_database)
    second = await open_core(settings, database=postgres_database)
    ref = PersonRef("telegram", "32", "en")
    await _advisor_requests(first.service, ref)

    async def slow_open(self, lead, person):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.3)  # both workers are inside their transaction by now
        return await open_handoff(self, lead, person)

    monkeypatch.setattr("bot.core.handoff.Handoff.open", slow_open)
    await asyncio.gather(
        first.service.handle(ref, Press("advisor:yes")),
        second.service.handle(ref, Press("advisor:yes")),
    )
    async with postgres_database.transaction() as repo:
        assert len(await repo.leads.open()) == 1
