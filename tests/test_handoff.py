"""The handoff lifecycle in the core: waiting -> with_advisor -> closed, relays, reminders, 403."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Core, open_core
from bot.core.advisor_desk import AdvisorDesk, AdvisorRef, ConfiguredAdvisors
from bot.core.events import Command, PersonRef, Press, Reply, Text, Unsupported
from bot.core.outbox import Delivered, DeliveryFailed, Outbox, OutgoingMessage
from bot.i18n.rtl import strip_bidi_controls
from bot.mt.translator import Translation
from bot.storage.database import Database
from tests.conftest import make_settings

LENA = AdvisorRef(7, "Lena")
STRANGER = AdvisorRef(99, "Mallory")
TOM = AdvisorRef(8, "Tom")


@dataclass
class FakeTranslator:
    """Marks what it translated, so tests can see which text went through translation."""

    name: str = "fake"
    fail: bool = False
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def route(self, source: str, target: str) -> list[str] | None:
        return [source, target]

    async def translate(
        self, text: str, source: str, target: str, *, person_id: int | None = None
    ) -> Translation:
        self.calls.append((text, source, target))
        if self.fail:
            return Translation(None, source, target, self.name, "no model ar->de")
        return Translation(f"[{source}→{target}] {text}", source, target, self.name, None)


@dataclass
class RecordingChannel:
    """Delivers by remembering; `refuse` makes the next deliveries to a person fail as told."""

    name: str = "telegram"
    sent: list[OutgoingMessage] = field(default_factory=list)
    refuse: list[DeliveryFailed] = field(default_factory=list)

    async def deliver(self, message: OutgoingMessage) -> Delivered:
        if self.refuse and message.destination == "person":
            raise self.refuse.pop(0)
        self.sent.append(message)
        return Delivered(chat_id=-100, message_id=str(len(self.sent)))

    def to_person(self) -> list[str]:
        return [m.text for m in self.sent if m.destination == "person"]

    def to_advisors(self, kind: str | None = None) -> list[OutgoingMessage]:
        return [m for m in self.sent if m.destination == "advisors" and kind in (None, m.kind)]


@dataclass
class Desk:
    core: Core
    desk: AdvisorDesk
    outbox: Outbox
    channel: RecordingChannel
    translator: FakeTranslator


def wire(core: Core, translator: FakeTranslator | None = None) -> Desk:
    translator = translator or FakeTranslator()
    core.translator = translator
    desk = core.advisor_desk(ConfiguredAdvisors(frozenset({LENA.id, TOM.id})))
    channel = RecordingChannel()
    return Desk(core, desk, core.outbox(channel, desk), channel, translator)


@pytest.fixture
def wired(core: Core) -> Desk:
    return wire(core)


AMAL = PersonRef("telegram", "111", "ar", display_name="Amal")


async def ask_for_advisor(core: Core, ref: PersonRef = AMAL, lang: str = "ar") -> list[Reply]:
    await core.service.handle(ref, Command("start"))
    await core.service.handle(ref, Press(f"lang:{lang}"))
    await core.service.handle(ref, Press("advisor"))
    return await core.service.handle(ref, Press("advisor:yes"))


async def test_a_request_waits_with_a_card_and_a_claim_button(wired: Desk) -> None:
    replies = await ask_for_advisor(wired.core)
    assert "#1" in replies[0].text
    await wired.outbox.flush()
    kinds = [m.kind for m in wired.channel.to_advisors()]
    assert kinds == ["open_topic", "lead_card"]
    card = wired.channel.to_advisors("lead_card")[0]
    assert "wartet auf Übernahme" in card.text
    assert card.payload["buttons"] == [[["Übernehmen", "adv:claim:1"]]]
    async with wired.core.database.transaction() as repo:
        lead = await repo.leads.get(1)
        person = await repo.persons.find("telegram", "111")
        assert lead.handoff == "waiting" and person.active_lead_id == 1
        assert lead.reannounce_at is not None
        assert lead.card_message_id == 2  # remembered from the delivery receipt


async def test_asking_again_while_waiting_creates_no_second_lead(wired: Desk) -> None:
    await ask_for_advisor(wired.core)
    again = await wired.core.service.handle(AMAL, Press("advisor"))
    assert "#1" in again[0].text
    assert any(b.action == "handoff:end" for row in again[0].buttons for b in row)
    async with wired.core.database.transaction() as repo:
        assert [lead.id for lead in await repo.leads.open()] == [1]


async def test_only_advisors_can_claim_and_every_try_is_audited(wired: Desk) -> None:
    await ask_for_advisor(wired.core)
    refused = await wired.desk.claim(STRANGER, 1)
    assert not refused.ok and "Nur Beraterinnen" in refused.text
    async with wired.core.database.transaction() as repo:
        assert (await repo.leads.get(1)).handoff == "waiting"
        events = [(e.action, e.actor_id) for e in await repo.lead_events.for_lead(1)]
    assert ("refused", STRANGER.id) in events
    assert not (await wired.desk.open_leads(STRANGER)).ok
    assert not (await wired.desk.press(STRANGER, "adv:close:1")).ok


async def test_claim_relay_both_ways_and_close(wired: Desk) -> None:
    core, desk, channel = wired.core, wired.desk, wired.channel
    await ask_for_advisor(core)
    claimed = await desk.claim(LENA, 1)
    assert claimed.ok and "übernommen" in claimed.text
    second = await desk.claim(TOM, 1)
    assert not second.ok and "bereits Lena" in second.text  # no second claim
    await wired.outbox.flush()
    notice = channel.to_person()[-1]
    assert "Lena" in notice and "#1" in notice and "\u200f" in notice  # Arabic, right-to-left
    edit = channel.to_advisors("card_edit")[-1]
    assert "übernommen von Lena" in edit.text
    assert ["kontaktiert", "adv:status:1:contacted"] in edit.payload["buttons"][0]

    # The person's free text now goes to Lena, translated, instead of being answered.
    replies = await core.service.handle(AMAL, Text("مرحبا، متى يمكنني أن أبدأ؟"))
    assert replies == []
    await wired.outbox.flush()
    relayed = channel.to_advisors("relay")[-1].text
    assert "مرحبا، متى يمكنني أن أبدأ؟" in relayed
    assert "[ar→de] مرحبا" in relayed and "Maschinelle Übersetzung" in relayed

    # Lena answers in German; the person reads Arabic with the German original beside it.
    assert (await desk.reply(LENA, 1, "Am Dienstag um 10 Uhr <im Büro>.")).ok
    await wired.outbox.flush()
    to_person = strip_bidi_controls(channel.to_person()[-1])
    assert "[de→ar] Am Dienstag um 10 Uhr &lt;im Büro&gt;." in to_person
    assert to_person.rstrip().endswith("Am Dienstag um 10 Uhr &lt;im Büro&gt;.")

    # Menus and commands still work while the advisor is with the person.
    menu = await core.service.handle(AMAL, Command("menu"))
    assert "Lena" in menu[0].text

    assert (await desk.set_status(LENA, 1, "appointment")).ok
    assert (await desk.close(LENA, 1)).ok
    await wired.outbox.flush()
    assert "#1" in channel.to_person()[-1]
    async with core.database.transaction() as repo:
        lead = await repo.leads.get(1)
        person = await repo.persons.find("telegram", "111")
        assert (lead.handoff, lead.status) == ("closed", "appointment")
        assert person.active_lead_id is None
        actions = [e.action for e in await repo.lead_events.for_lead(1)]
    assert actions == ["created", "claim", "status", "close"]
    # Back with the bot: free text is understood again, not relayed.
    after = await core.service.handle(AMAL, Text("شكرا"))
    assert after and len(channel.to_advisors("relay")) == 1


async def test_the_person_can_end_the_conversation(wired: Desk) -> None:
    core = wired.core
    await ask_for_advisor(core)
    await wired.desk.claim(LENA, 1)
    menu = await core.service.handle(AMAL, Command("menu"))
    (end,) = [b for row in menu[0].buttons for b in row if b.action == "handoff:end"]
    ended = await core.service.handle(AMAL, Press(end.action))
    assert "#1" in ended[0].text
    await wired.outbox.flush()
    notes = [m.text for m in wired.channel.to_advisors("thread_note")]
    assert any("beendet" in note for note in notes)
    async with core.database.transaction() as repo:
        assert (await repo.leads.get(1)).handoff == "closed"
    assert not (await wired.desk.reply(LENA, 1, "Hallo?")).ok  # closed: nothing relayed


async def test_a_failed_translation_still_relays_the_original(core: Core) -> None:
    wired = wire(core, FakeTranslator(fail=True))
    await ask_for_advisor(core)
    await wired.desk.claim(LENA, 1)
    await core.service.handle(AMAL, Text("هل أحتاج أوراق؟"))
    await wired.outbox.flush()
    relayed = wired.channel.to_advisors("relay")[-1].text
    assert "هل أحتاج أوراق؟" in relayed and "Keine maschinelle Übersetzung" in relayed
    async with core.database.transaction() as repo:
        (message,) = await repo.relay.for_lead(1)
        assert message.translation is None and "no model" in (message.translation_note or "")


async def test_media_is_copied_to_the_advisor_with_a_note(wired: Desk) -> None:
    await ask_for_advisor(wired.core)
    await wired.desk.claim(LENA, 1)
    source = {"chat_id": 111, "message_id": 55}
    assert await wired.core.service.handle(AMAL, Unsupported("photo", source)) == []
    await wired.outbox.flush()
    (copy,) = wired.channel.to_advisors("copy")
    assert copy.payload["source"] == source and "nicht übersetzt" in copy.text


async def test_notes_stay_internal_and_overviews_list_open_leads(wired: Desk) -> None:
    await ask_for_advisor(wired.core)
    await ask_for_advisor(wired.core, PersonRef("telegram", "222", "fa"), lang="fa")
    await wired.desk.claim(LENA, 2)
    assert (await wired.desk.note(LENA, 1, "Spricht auch Französisch")).ok
    await wired.outbox.flush()
    assert all("Französisch" not in text for text in wired.channel.to_person())
    overview = (await wired.desk.open_leads(LENA)).text
    assert overview.index("#1") < overview.index("#2")
    assert "#1 · Arabisch" in overview and "#2 · Farsi/Dari" in overview
    assert "in Beratung (Lena)" in overview
    details = await wired.desk.lead_details(LENA, 1)
    assert "Spricht auch Französisch" in details.text and details.buttons
    stats = (await wired.desk.stats(LENA)).text
    assert "insgesamt: 2" in stats and "wartet: 1" in stats


async def test_unclaimed_leads_are_announced_again_and_the_schedule_survives_a_restart(
    tmp_path,
) -> None:
    settings = make_settings(tmp_path)
    core = await open_core(settings)
    wired = wire(core)
    await ask_for_advisor(core)
    assert await wired.desk.reannounce_due() == 0  # not due for 24 hours
    await core.close()

    # A restart 25 hours later: the reminder is still due, and it is sent once.
    later = datetime.now(UTC) + timedelta(hours=25)
    core = await open_core(settings)
    wired = wire(core)
    wired.desk.clock = lambda: later
    assert await wired.desk.reannounce_due() == 1
    assert await wired.desk.reannounce_due() == 0
    await wired.outbox.flush()
    (note,) = wired.channel.to_advisors("thread_note")
    assert "#1 wartet seit 25 Std." in note.text
    assert note.payload["buttons"] == [[["Übernehmen", "adv:claim:1"]]]
    async with core.database.transaction() as repo:
        lead = await repo.leads.get(1)
        assert lead.handoff == "waiting"
        next_time = lead.reannounce_at.replace(tzinfo=UTC)
        assert timedelta(hours=23) < next_time - later <= timedelta(hours=24)
    await core.close()


async def test_a_blocked_bot_marks_the_person_unreachable_and_tells_the_advisors(
    wired: Desk,
) -> None:
    await ask_for_advisor(wired.core)
    await wired.outbox.flush()
    await wired.desk.claim(LENA, 1)
    wired.channel.refuse.append(DeliveryFailed("forbidden: bot was blocked", permanent=True))
    await wired.outbox.flush()
    async with wired.core.database.transaction() as repo:
        person = await repo.persons.find("telegram", "111")
        assert person.unreachable_at is not None
        items = await repo.outbox.all()
        assert [i.status for i in items if i.destination == "person"] == ["undeliverable"]
    edits = wired.channel.to_advisors("card_edit")
    assert "nicht erreichbar" in edits[-1].text
    assert any("blockiert" in m.text for m in wired.channel.to_advisors("thread_note"))
    # Writing again makes them reachable again.
    await wired.core.service.handle(AMAL, Text("عدت"))
    async with wired.core.database.transaction() as repo:
        assert (await repo.persons.find("telegram", "111")).unreachable_at is None


async def test_rate_limits_delay_but_never_drop_a_relayed_message(wired: Desk) -> None:
    await ask_for_advisor(wired.core)
    await wired.desk.claim(LENA, 1)
    await wired.outbox.flush()
    await wired.desk.reply(LENA, 1, "Hallo Amal")
    wired.channel.refuse.append(DeliveryFailed("Telegram asks to slow down", retry_after=0))
    result = await wired.outbox.flush()
    assert result.failed == 1
    await wired.outbox.flush()
    assert "Hallo Amal" in wired.channel.to_person()[-1]
    assert len(wired.translator.calls) == 1  # the translation was stored, not redone


@pytest.mark.postgres
async def test_two_advisors_claiming_at_once_on_postgresql(
    tmp_path, postgres_database: Database
) -> None:
    import asyncio

    settings = make_settings(tmp_path)
    first = wire(await open_core(settings, database=postgres_database))
    second = wire(await open_core(settings, database=postgres_database))
    second.desk.directory = ConfiguredAdvisors(frozenset({8}))
    await ask_for_advisor(first.core)
    answers = await asyncio.gather(
        first.desk.claim(LENA, 1), second.desk.claim(AdvisorRef(8, "Tom"), 1)
    )
    assert sorted(a.ok for a in answers) == [False, True]
    async with postgres_database.transaction() as repo:
        claims = [e for e in await repo.lead_events.for_lead(1) if e.action == "claim"]
        assert len(claims) == 1


async def test_with_an_advisor_the_language_picker_still_takes_a_typed_language(
    wired: Desk,
) -> None:
    await ask_for_advisor(wired.core)
    await wired.desk.claim(LENA, 1)
    await wired.core.service.handle(AMAL, Command("language"))
    assert await wired.core.service.handle(AMAL, Text("كيف حالك يا لينا؟")) == []  # relayed
    switched = await wired.core.service.handle(AMAL, Text("English"))
    assert "Language changed" in switched[0].text or "English" in switched[0].text
    async with wired.core.database.transaction() as repo:
        assert (await repo.persons.find("telegram", "111")).language == "en"
    await wired.outbox.flush()
    assert len(wired.channel.to_advisors("relay")) == 1


async def test_an_english_person_reads_the_person_texts_not_the_advisors_ones(
    wired: Desk,
) -> None:
    """en and de also have advisors' catalogues; their texts must not stand in for the
    person's (once "closed" replaced "Your conversation ... is closed")."""
    tom = PersonRef("telegram", "333", "en")
    await ask_for_advisor(wired.core, tom, lang="en")
    await wired.desk.claim(LENA, 1)
    await wired.desk.reply(LENA, 1, "Hallo")
    await wired.desk.close(LENA, 1)
    await wired.outbox.flush()
    relayed, closed = wired.channel.to_person()[-2:]
    assert "The original in German" in relayed
    assert closed.startswith("Your conversation with the agency (request #1) is closed")


async def test_a_german_speaking_person_gets_the_words_without_a_translation(
    wired: Desk,
) -> None:
    hans = PersonRef("telegram", "444", "de")
    await ask_for_advisor(wired.core, hans, lang="de_simple")  # easy German is German
    await wired.desk.claim(LENA, 1)
    await wired.desk.reply(LENA, 1, "Hallo Hans")
    await wired.core.service.handle(hans, Text("Danke, bis Dienstag"))
    await wired.outbox.flush()
    assert wired.translator.calls == []
    to_person = wired.channel.to_person()[-1]
    assert to_person.endswith("Hallo Hans") and "Übersetzung" not in to_person
    relayed = wired.channel.to_advisors("relay")[-1].text
    assert "Danke, bis Dienstag" in relayed and "Übersetzung" not in relayed
