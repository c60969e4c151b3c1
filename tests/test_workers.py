"""Two bot processes on one PostgreSQL database (a webhook behind a load balancer), played by two
complete cores with their own engines and connection pools on one schema, and for the outbox
also by two real OS processes.

Concurrent updates of one person lose no answer (row lock on the person); concurrent outbox
workers send no item twice and keep each ordering key's order (SKIP LOCKED plus a committed
lease); two advisors pressing "Übernehmen" at once: one wins (row lock on the lead).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, text

from bot.app import open_core
from bot.config import Settings
from bot.core import actions
from bot.core.advisor_desk import AdvisorDesk, AdvisorRef, ConfiguredAdvisors
from bot.core.conversation import ConversationService
from bot.core.events import Command, PersonRef, Press
from bot.core.outbox import Delivered, Outbox, OutgoingMessage
from bot.storage.database import Database
from bot.storage.models import Lead, LeadEvent, OutboxItem, Person
from tests.conftest import POSTGRES_URL, postgres_schema

pytestmark = pytest.mark.postgres

ADVISORS = frozenset({1, 2})


@dataclass
class Worker:
    """What one bot process holds: its own engine and pool, its own core objects."""

    database: Database
    service: ConversationService
    desk: AdvisorDesk


async def schema_of(database: Database) -> str:
    async with database.engine.connect() as connection:
        path = (await connection.execute(text("SHOW search_path"))).scalar_one()
    return str(path).strip('"')


async def make_worker(database: Database, settings: Settings) -> Worker:
    """A whole core, as `engagiert run` builds it, on its own engine."""
    core = await open_core(settings, database=database)
    return Worker(database, core.service, core.advisor_desk(ConfiguredAdvisors(ADVISORS)))


@pytest.fixture
async def workers(settings: Settings) -> AsyncIterator[tuple[Worker, Worker]]:
    async with postgres_schema() as first:
        schema = await schema_of(first)
        second = Database(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
        try:
            assert first.engine is not second.engine
            yield await make_worker(first, settings), await make_worker(second, settings)
        finally:
            await second.dispose()


async def conversation_of(worker: Worker, ref: PersonRef):  # type: ignore[no-untyped-def]
    async with worker.database.transaction() as repo:
        person = await repo.persons.find(ref.channel, ref.external_id)
        assert person is not None
        return person, await repo.conversations.get_or_create(person.id)


# -- one person, two processes ------------------------------------------------------------------


async def test_concurrent_presses_of_one_person_lose_no_answer(workers) -> None:  # type: ignore[no-untyped-def]
    a, b = workers
    ref = PersonRef("telegram", "111", "en")
    for event in (Command("start"), Press("lang:en"), Press("intake"), Press("consent:yes")):
        await a.service.handle(ref, event)
    await a.service.handle(ref, Press(actions.skip("first_name")))
    await b.service.handle(ref, Press(actions.answer("age_group", "age_27_64")))
    _person, conversation = await conversation_of(a, ref)
    assert conversation.step == "languages"

    options = ["ar", "fa", "uk", "ru", "tr", "ku", "ps", "ti", "en", "fr", "es", "de"]
    presses = [
        (a if index % 2 else b).service.handle(ref, Press(actions.answer("languages", option)))
        for index, option in enumerate(options)
    ]
    await asyncio.gather(*presses)
    _person, conversation = await conversation_of(b, ref)
    assert sorted(conversation.pending["selected"]) == sorted(options)  # every toggle kept

    # ... and the answer moves on exactly once, whichever process takes "Done".
    await asyncio.gather(
        a.service.handle(ref, Press(actions.done("languages"))),
        b.service.handle(ref, Press(actions.done("languages"))),
    )
    _person, conversation = await conversation_of(a, ref)
    assert sorted(conversation.answers["languages"]) == sorted(options)
    assert conversation.step == "german_level"  # the second "Done" was a stale button


async def test_concurrent_first_messages_of_a_new_person_make_one_person(workers) -> None:  # type: ignore[no-untyped-def]
    """Telegram may deliver a double tap to two processes at once, before the person exists."""
    a, b = workers
    results = await asyncio.gather(
        *(
            worker.service.handle(PersonRef("telegram", str(900 + n), "en"), Command("start"))
            for n in range(5)
            for worker in (a, b)
        ),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    async with a.database.transaction() as repo:
        count = await repo.session.scalar(select(func.count()).select_from(Person))
    assert count == 5


# -- outbox workers -----------------------------------------------------------------------------


class Recording:
    """A delivery channel shared by both workers: counts deliveries per item."""

    name = "test"

    def __init__(self) -> None:
        self.delivered: Counter[int] = Counter()
        self.order: list[tuple[str | None, int]] = []
        self.keys: dict[int, str | None] = {}

    async def deliver(self, message: OutgoingMessage) -> Delivered:
        await asyncio.sleep(random.uniform(0, 0.003))  # a network call: let the other run
        self.delivered[message.id] += 1
        self.order.append((self.keys.get(message.id), message.id))
        return Delivered()


async def test_two_outbox_workers_never_send_an_item_twice(workers) -> None:  # type: ignore[no-untyped-def]
    a, b = workers
    channel = Recording()
    async with a.database.transaction() as repo:
        for n in range(300):
            key = f"person:{n % 7}" if n % 3 else None  # some ordered, some free
            item = await repo.outbox.enqueue(
                kind="message",
                destination="person",
                text=f"message {n}",
                channel="test",
                ordering_key=key,
            )
            await repo.session.flush()
            channel.keys[item.id] = key
    outboxes = [Outbox(worker.database, channel) for worker in (a, b)]
    results = await asyncio.gather(*(outbox.flush() for outbox in outboxes for _ in range(3)))

    assert sum(result.sent for result in results) == 300
    assert set(channel.delivered) == set(channel.keys)
    assert max(channel.delivered.values()) == 1  # no item twice
    per_key: dict[str, list[int]] = {}
    for key, item_id in channel.order:
        if key is not None:
            per_key.setdefault(key, []).append(item_id)
    assert all(ids == sorted(ids) for ids in per_key.values())  # order kept per key
    async with b.database.transaction() as repo:
        statuses = await repo.session.scalars(select(OutboxItem.status))
        assert set(statuses) == {"sent"}


async def test_two_os_processes_flushing_one_outbox_send_each_item_once(workers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same as above with two real processes, as two webhook workers would run."""
    import sys
    from pathlib import Path

    a, _b = workers
    async with a.database.transaction() as repo:
        for n in range(200):
            key = f"person:{n % 5}" if n % 2 else None
            await repo.outbox.enqueue(
                kind="message", destination="person", text=f"m{n}", channel="test",
                ordering_key=key,
            )  # fmt: skip
    out = tmp_path / "delivered.txt"
    schema = await schema_of(a.database)
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "tests.outbox_worker_process", POSTGRES_URL, schema, str(out)]
    processes = [await asyncio.create_subprocess_exec(*command, cwd=root) for _ in range(2)]
    codes = await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), timeout=120)
    assert codes == [0, 0]
    lines = [line.split() for line in out.read_text(encoding="utf-8").splitlines()]
    delivered = Counter(item_id for _pid, item_id in lines)
    assert len(delivered) == 200 and max(delivered.values()) == 1  # each item exactly once
    assert len({pid for pid, _item in lines}) == 2  # both processes did work
    async with a.database.transaction() as repo:
        statuses = await repo.session.scalars(select(OutboxItem.status))
        assert set(statuses) == {"sent"}


# -- advisors -----------------------------------------------------------------------------------


async def test_two_advisors_claiming_one_lead_at_once_one_wins(workers) -> None:  # type: ignore[no-untyped-def]
    a, b = workers
    for round_ in range(5):
        ref = PersonRef("telegram", str(500 + round_), "en", display_name="Amal")
        for event in (Command("start"), Press("lang:en"), Press("advisor"), Press("advisor:yes")):
            await a.service.handle(ref, event)
        person, _conversation = await conversation_of(a, ref)
        lead_id = person.active_lead_id
        assert lead_id is not None

        answers = await asyncio.gather(
            a.desk.claim(AdvisorRef(1, "Lena"), lead_id),
            b.desk.claim(AdvisorRef(2, "Jonas"), lead_id),
        )
        assert sorted(answer.ok for answer in answers) == [False, True]
        winner = 1 if answers[0].ok else 2
        async with a.database.transaction() as repo:
            lead = await repo.session.get(Lead, lead_id)
            assert lead is not None and lead.advisor_id == winner
            claims = await repo.session.scalar(
                select(func.count())
                .select_from(LeadEvent)
                .where(LeadEvent.lead_id == lead_id, LeadEvent.action == "claim")
            )
            notices = await repo.session.scalar(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.person_id == person.id, OutboxItem.destination == "person")
            )
        assert claims == 1 and notices == 1  # the person hears of one advisor, once
