"""Property-based tests (hypothesis): random Unicode, control and bidi characters, markup and
huge strings on every free-text entry point and on button parsing. Nothing raises, and every
reply is valid Telegram HTML of at most 4096 characters a part.

Lone surrogates are left out: Telegram's JSON cannot carry them, so no update contains one.
"""

from __future__ import annotations

import html
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import Core
from bot.console import html_to_plain
from bot.core import actions
from bot.core.advisor_desk import AdvisorRef, ConfiguredAdvisors
from bot.core.answers import (
    Invalid,
    clean_text,
    compact,
    match_option,
    parse_email,
    parse_number,
    parse_phone,
    parse_text,
)
from bot.core.events import Command, Event, PersonRef, Press, Reply, Text
from bot.core.limits import MAX_TEXT_CHARS, overlong
from bot.core.outbox import Delivered, OutgoingMessage
from bot.i18n.rtl import LRI, PDI, RLM, isolate_ltr, rtl_paragraphs, strip_bidi_controls
from bot.telegram.callbacks import PressData
from bot.telegram.split import split_message
from tests.telegram_html import InvalidHtml, check_html, check_message, visible_text

FAST = settings(max_examples=200, deadline=None)
SLOW = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any character Telegram can carry: everything but surrogates.
characters = st.characters(exclude_categories=("Cs",))
TRICKS = [
    "<b>",
    "</b>",
    "</a>",
    "<a href='tg://user?id=1'>x</a>",
    "&amp;",
    "&",
    "&#60;",
    "&lt;",
    "<",
    ">",
    '"',
    "<script>alert(1)</script>",
    "<tg-spoiler>",
    "<pre><code>",
    "\u202e",  # right-to-left override
    "\u2066",
    "\u2069",
    "\u200f",
    "\u061c",  # Arabic letter mark
    "\ufeff",
    "\u200b",
    "\x00",
    "\x1b[31m",
    "\r\n",
    "\n\n",
    "\t",
    "👩‍👩‍👧",
    "مرحبا",
    "Leipzig 04109",
    "/start",
    "adv:claim:1",
    "a:district:mitte",
    "+49 341 1234567",
    "a@b.de",
]
tricks = st.sampled_from(TRICKS)
free_text = st.one_of(
    st.text(characters, max_size=200),
    st.lists(st.one_of(tricks, st.text(characters, max_size=20)), max_size=12).map("".join),
)
# Beyond any Telegram message: pasted documents, or a channel without Telegram's limit.
huge = st.builds(lambda piece, n: piece * n, tricks, st.integers(2_000, 25_000)).map(
    lambda text: text[:100_000]
)


# -- button data --------------------------------------------------------------------------------


@FAST
@given(st.one_of(free_text, huge, st.binary(max_size=80).map(lambda b: b.decode("latin-1"))))
def test_action_parsers_never_raise_and_bound_what_they_accept(data: str) -> None:
    parsed = actions.parse(data)
    if parsed is not None:
        assert len(data.encode()) <= actions.MAX_BYTES
        assert parsed.verb
    advisor = actions.parse_advisor(data)
    if advisor is not None:
        assert data.startswith("adv:") and 0 <= advisor.lead_id < 10**12
        assert advisor.verb in {"claim", "status", "close"}


@FAST
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12))
@example("²")  # a digit to str.isdigit, none to int()
@example("٣")
def test_advisor_buttons_with_any_lead_number_never_raise(number: str) -> None:
    for action in (f"adv:claim:{number}", f"adv:close:{number}", f"adv:status:{number}:placed"):
        parsed = actions.parse_advisor(action)
        assert parsed is None or parsed.lead_id >= 0


@FAST
@given(st.integers(0, 10**12 - 1), st.sampled_from(actions.ADVISOR_STATUSES))
def test_advisor_buttons_round_trip(lead_id: int, status: str) -> None:
    assert actions.parse_advisor(actions.claim(lead_id)) == actions.AdvisorAction("claim", lead_id)
    assert actions.parse_advisor(actions.close(lead_id)) == actions.AdvisorAction("close", lead_id)
    assert actions.parse_advisor(actions.set_status(lead_id, status)) == actions.AdvisorAction(
        "status", lead_id, status
    )


identifier = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz_0123456789"), min_size=1)


@FAST
@given(identifier, identifier)
def test_step_actions_round_trip_within_telegrams_64_bytes(step: str, option: str) -> None:
    action = actions.answer(step, option)
    parsed = actions.parse(action)
    if len(action.encode()) > actions.MAX_BYTES:
        assert parsed is None
        return
    assert parsed == actions.Parsed("a", step=step, value=option)
    for make, verb in ((actions.done, "d"), (actions.skip, "s"), (actions.back, "b")):
        assert actions.parse(make(step)) == actions.Parsed(verb, step=step)


@FAST
@given(identifier, identifier)
@example("s" * 30, "o" * 31)  # "a:" + 30 + ":" + 31 = 64 bytes
def test_every_action_the_core_accepts_fits_a_telegram_button(step: str, option: str) -> None:
    action = actions.answer(step, option)
    if actions.parse(action) is not None:
        assert PressData.unpack(PressData(action=action).pack()).action == action


@FAST
@given(
    st.one_of(free_text, st.builds(lambda t: "p|" + t, free_text)).filter(
        lambda data: len(data.encode()) <= 64  # Telegram's limit for callback data
    )
)
@example("p|a|b")
@example("p|")
@example("p")
@example("")
def test_callback_data_unpacks_or_is_refused_as_aiogram_expects(data: str) -> None:
    try:
        unpacked = PressData.unpack(data)
    except (TypeError, ValueError):
        return  # aiogram's filter treats these as "not ours": the core shows the current screen
    assert data == "p|" + unpacked.action == PressData(action=unpacked.action).pack()


# -- answers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def steps():  # type: ignore[no-untyped-def]
    from bot.config import PROJECT_ROOT
    from bot.core.content import load_content

    intake = load_content(PROJECT_ROOT / "dialogs").intake
    return {step.id: step for step in intake.steps}


_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


@FAST
@given(st.one_of(free_text, huge))
def test_clean_text_drops_controls_and_bidi_and_is_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
    assert not _BIDI & set(cleaned)
    assert all(ch == "\n" or ch >= " " for ch in cleaned if ord(ch) < 0x20 or ch == "\x7f")
    assert cleaned == cleaned.strip()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(free_text, huge))
def test_typed_answer_parsers_never_raise_and_bound_their_values(steps, text: str) -> None:  # type: ignore[no-untyped-def]
    for step_id in ("first_name", "anything_else"):
        step = steps[step_id]
        value = parse_text(step, text)
        if not isinstance(value, Invalid):
            assert 0 < len(value) <= step.max_length and not _BIDI & set(value)
    hours = steps["hours_per_week"]
    number = parse_number(hours, text)
    assert isinstance(number, Invalid) or hours.min <= number <= hours.max
    phone = parse_phone(steps["phone"], text)
    assert isinstance(phone, Invalid) or (phone.startswith("+") and len(phone) < 40)
    email = parse_email(steps["email"], text)
    if not isinstance(email, Invalid):
        assert len(email) <= 254 and email.count("@") == 1 and "<" not in email
    for step_id in ("district", "languages", "interests"):
        option = match_option(steps[step_id], text, lambda key: key)
        assert option is None or option in steps[step_id].options
    assert compact(text) == compact(compact(text))


@FAST
@given(st.one_of(free_text, huge))
@example("x" * 4096)
@example("x" * 4097)
def test_overlong_text_is_refused_with_the_length_and_the_limit(text: str) -> None:
    refusal = overlong(text)
    if len(text) <= MAX_TEXT_CHARS:
        assert refusal is None
    else:
        assert refusal == Invalid("hint.text_too_long", {"max": 4096, "length": len(text)})


# -- rendering ----------------------------------------------------------------------------------

# Valid Telegram HTML made of escaped random text in the tags the bot uses.
plain_piece = st.one_of(free_text, tricks).map(lambda t: html.escape(t, quote=False))
html_piece = st.one_of(
    plain_piece,
    plain_piece.map(lambda t: f"<b>{t}</b>"),
    plain_piece.map(lambda t: f"<i>{t}</i>"),
    st.tuples(st.integers(1, 10**10), plain_piece).map(
        lambda p: f'<a href="tg://user?id={p[0]}">{p[1]}</a>'
    ),
)
html_text = st.lists(html_piece, min_size=1, max_size=30).map("".join)
long_html = st.builds(
    lambda piece, n: piece * n,
    html_piece.filter(lambda p: visible_text(p).strip()),
    st.integers(1, 3000),
)


@FAST
@given(st.one_of(html_text, long_html))
def test_split_parts_are_valid_html_within_the_limit_and_lose_no_text(text: str) -> None:
    check_html(text)
    parts = split_message(text)
    for part in parts:
        assert len(part) <= 4096
        check_html(part)
    if len(parts) > 1:
        for part in parts:
            check_message(part)
    joined = "".join(visible_text(part) for part in parts)
    assert "".join(joined.split()) == "".join(visible_text(text).split())


@FAST
@given(st.one_of(html_text, long_html))
def test_rtl_layout_keeps_html_valid_and_only_adds_marks(text: str) -> None:
    laid_out = rtl_paragraphs(text)
    check_html(laid_out)
    isolated = isolate_ltr(text)
    assert isolated.count(LRI) - text.count(LRI) == isolated.count(PDI) - text.count(PDI)
    if not _BIDI & set(text):
        assert strip_bidi_controls(laid_out) == text
    assert all(line.startswith(RLM) for line in laid_out.split("\n") if line)


@FAST
@given(st.one_of(free_text, huge))
def test_html_to_plain_undoes_escaping(text: str) -> None:
    assert html_to_plain(html.escape(text, quote=False)) == text
    html_to_plain(text)  # anything at all: never raises


# -- the core, end to end -----------------------------------------------------------------------

LOCATIONS = [
    "new",
    "language",
    "menu",
    "faq",
    "privacy",
    "advisor_confirm",
    "consent",
    "intake:first_name",
    "intake:languages",
    "interests:other",
    "intake:hours_per_week",
    "intake:phone",
    "intake:email",
    "intake:anything_else",
    "summary",
    "waiting",
    "with_advisor",
]
ADVISOR = AdvisorRef(7, "Lena")
TYPED = {"text": "Amira", "number": "4", "phone": "0341 1234567", "email": "amira@example.de"}


def check_reply(reply: Reply) -> None:
    for part in split_message(reply.text):
        assert len(part) <= 4096
        check_message(part)
    for row in reply.buttons:
        for button in row:
            assert button.label.strip()
            assert len(PressData(action=button.action).pack().encode()) <= 64
            assert actions.parse(button.action) is not None, button.action


def current_step(reply: Reply) -> str | None:
    """The intake step on screen, read from its "Back" button."""
    for row in reply.buttons:
        for button in row:
            parsed = actions.parse(button.action)
            if parsed is not None and parsed.verb == "b":
                return parsed.step
    return None


async def walk(core: Core, ref: PersonRef, where: str, advisor: AdvisorRef = ADVISOR) -> None:
    """Brings a new person to `where` with ordinary answers."""

    async def send(event: Event) -> list[Reply]:
        replies = await core.service.handle(ref, event)
        for reply in replies:
            check_reply(reply)
        return replies

    if where == "new":
        return
    await send(Command("start"))
    if where == "language":
        return
    await send(Press(actions.choose_language("en")))
    if where == "menu":
        return
    simple = {"faq": actions.FAQ, "privacy": actions.PRIVACY, "advisor_confirm": actions.ADVISOR}
    if where in simple:
        await send(Press(simple[where]))
        return
    if where in {"waiting", "with_advisor"}:
        await send(Press(actions.ADVISOR))
        await send(Press(actions.ADVISOR_YES))
        if where == "with_advisor":
            async with core.database.transaction() as repo:
                person = await repo.persons.find(ref.channel, ref.external_id)
                assert person is not None and person.active_lead_id is not None
                lead_id = person.active_lead_id
            desk = core.advisor_desk(ConfiguredAdvisors(frozenset({advisor.id})))
            assert (await desk.claim(advisor, lead_id)).ok
        return
    await send(Press(actions.INTAKE))
    if where == "consent":
        return
    replies = await send(Press(actions.CONSENT_YES))
    contact = {"intake:phone": "phone", "intake:email": "email"}.get(where, "telegram")
    for _ in range(30):
        step_id = current_step(replies[-1])
        if step_id is None:
            assert where == "summary", (where, replies[-1].text)
            return
        if where == f"intake:{step_id}":
            return
        step = core.content.intake.step(step_id)
        if where == "interests:other" and step_id == "interests":
            await send(Press(actions.answer(step_id, "other")))
            return
        if step.type == "choice":
            option = contact if step_id == "contact_method" else step.options[0]
            replies = await send(Press(actions.answer(step_id, option)))
        elif step.type == "multi":
            await send(Press(actions.answer(step_id, step.options[0])))
            replies = await send(Press(actions.done(step_id)))
        else:
            replies = await send(Text(TYPED[step.type]))
    raise AssertionError(f"never reached {where}")


class Recorder:
    """An outbox channel that checks every message as Telegram would parse it (the outbox
    catches a channel's errors, so problems are collected, not raised)."""

    name = "test"

    def __init__(self) -> None:
        self.seen: list[OutgoingMessage] = []
        self.problems: list[str] = []

    async def deliver(self, message: OutgoingMessage) -> Delivered:
        self.seen.append(message)
        for part in split_message(message.text) if message.text else []:
            try:
                check_message(part)
            except InvalidHtml as exc:
                self.problems.append(f"{message.kind} to {message.destination}: {exc}")
        return Delivered(chat_id=1, message_id=str(message.id))


names = st.one_of(st.just("Amal"), st.text(characters, min_size=1, max_size=64), tricks)


@SLOW
@given(where=st.sampled_from(LOCATIONS), text=free_text, name=names)
@example(where="menu", text="x" * 100_000, name="Amal")
@example(where="intake:anything_else", text="<b>" * 30_000, name="<b>Amal</b>")
@example(where="with_advisor", text="ä " * 50_000, name="&amp; </a>")
@example(where="interests:other", text="&" * 100_000, name="\u202eAmal")
@example(where="new", text="<script>alert(1)</script> " * 4000, name="Amal")
async def test_any_text_anywhere_gets_valid_replies(
    core: Core, where: str, text: str, name: str
) -> None:
    ref = PersonRef(
        "test", uuid.uuid4().hex, platform_language="en", display_name=name, username="amal_l"
    )
    await walk(core, ref, where)
    replies = await core.service.handle(ref, Text(text))
    for reply in replies:
        check_reply(reply)
    if len(text) > 4096:  # more than Telegram allows: refused with a hint, wherever it comes
        assert len(replies) == 1 and "too long" in replies[0].text
    elif where == "with_advisor":
        assert replies == []  # relayed, not answered
    else:
        assert replies
    # Whatever it queued (a relay, the lead's card with the person's name) is valid too.
    recorder = Recorder()
    await core.outbox(recorder).flush()
    assert recorder.seen or where not in {"waiting", "with_advisor"} or len(text) > 4096
    assert not recorder.problems


async def test_an_advisor_name_with_markup_is_escaped_everywhere_the_person_reads_it(
    core: Core,
) -> None:
    advisor = AdvisorRef(8, "<b>Lena & Co")
    ref = PersonRef("test", uuid.uuid4().hex, platform_language="en")
    problems: list[str] = []
    await walk(core, ref, "with_advisor", advisor)
    for event in (Command("menu"), Press(actions.ADVISOR)):
        for reply in await core.service.handle(ref, event):
            try:
                check_html(reply.text)
            except InvalidHtml as exc:
                problems.append(f"{event}: {exc}")
    recorder = Recorder()
    await core.outbox(recorder).flush()
    assert not problems + recorder.problems, problems + recorder.problems
