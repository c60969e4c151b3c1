"""The terminal channel and the `engagiert` command, run as a real process with piped input."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
from pathlib import Path

import pytest

from bot.app import open_core
from bot.console import CONSOLE_ADVISOR_ID, ConsoleChat, html_to_plain
from bot.core.advisor_desk import ConfiguredAdvisors
from bot.i18n.rtl import strip_bidi_controls
from tests.conftest import make_settings
from tests.test_handoff import FakeTranslator

# The intake in English, one line per input, as a person types it in `engagiert chat --lang en`.
# Numbers press the numbered buttons of the last message.
FIRST_HALF = [
    "2",  # menu: Find volunteering for me
    "1",  # consent: Yes, I agree
    "Amal",  # first name
    "4",  # age group: 27-64
    "1",
    "9",
    "13",
    "Tigrinya",
    "14",  # languages: Arabic, English, Other -> "Tigrinya", Done
]
SECOND_HALF = [
    "2",  # German: a little
    "5",
    "2",
    "12",  # interests: interpreting, mentoring, Done
    "3",  # district: Ost
    "maybe 4 hours",  # hours per week, typed (a number inside text)
    "2",
    "4",
    "6",  # availability: weekday afternoons, weekends, Done
    "2",  # contact: phone
    "0341 12",  # invalid phone: asked again
    "+49 176 12345678",
    "Ich kann Arabisch <übersetzen> & helfen",
    "12",  # summary: Send to the team
]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "ADVISOR_CHAT_ID"}}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}"
    return env


async def _start_cli(args: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _run_cli(args: list[str], lines: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    process = await _start_cli(args, env)
    out, err = await asyncio.wait_for(
        process.communicate("".join(f"{line}\n" for line in lines).encode()), timeout=120
    )
    return process.returncode or 0, out.decode(), err.decode()


async def _run_until_killed(
    args: list[str], lines: list[str], env: dict[str, str], marker: str
) -> str:
    """Feeds the lines, waits until `marker` is printed, then kills the process (SIGKILL)."""
    process = await _start_cli(args, env)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("".join(f"{line}\n" for line in lines).encode())
    await process.stdin.drain()
    seen = ""
    while marker not in seen:
        chunk = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        if not chunk:
            raise AssertionError(f"process ended before printing {marker!r}:\n{seen}")
        seen += chunk.decode()
    process.kill()  # no EOF, no clean shutdown: a crash mid-intake
    await process.wait()
    return seen


async def test_scripted_chat_completes_the_intake_and_shows_the_lead_card(tmp_path) -> None:
    code, out, err = await _run_cli(
        ["chat", "--lang", "en"], FIRST_HALF + SECOND_HALF, _env(tmp_path)
    )
    assert code == 0, err
    assert "That does not look like a phone number" in out
    assert "Hours per week: 4" in out
    assert "Your request #1 has been sent" in out
    card = [line for line in out.splitlines() if line.startswith("[advisors] ")]
    assert card[0] == "[advisors] Neue Anfrage #1 · Interessenprofil"
    card_text = "\n".join(card)
    assert "Sprachen: Arabisch, Englisch, Andere: Tigrinya" in card_text
    assert "Telefon: +49 176 12345678" in card_text
    assert "Ich kann Arabisch <übersetzen> & helfen" in card_text  # own words, as written


async def test_killed_mid_intake_continues_exactly_where_it_stopped(tmp_path) -> None:
    env = _env(tmp_path)
    before = await _run_until_killed(
        ["chat", "--lang", "en"], FIRST_HALF, env, marker="How good is your German?"
    )
    assert "Question 4 of" in before
    code, out, err = await _run_cli(["chat", "--lang", "en"], SECOND_HALF, env)
    assert code == 0, err
    first_screen = out.split("you>", 1)[0]
    assert "Welcome back" in first_screen and "How good is your German?" in first_screen
    assert "Your request #1 has been sent" in out
    card_text = "\n".join(line for line in out.splitlines() if line.startswith("[advisors] "))
    assert "Vorname: Amal" in card_text
    assert "Andere: Tigrinya" in card_text


async def test_without_a_token_the_default_command_starts_the_terminal_chat(tmp_path) -> None:
    code, out, err = await _run_cli([], ["1"], _env(tmp_path))
    assert code == 0
    assert "No BOT_TOKEN is set" in err and "BOT_TOKEN=<token>" in err
    assert "Deutsch" in out and "English" in out


async def test_a_wrong_setting_stops_start_up_naming_it(tmp_path) -> None:
    env = _env(tmp_path) | {"ADVISOR_CHAT_ID": "advisors"}
    code, _out, err = await _run_cli(["chat"], [], env)
    assert code == 2
    assert "ADVISOR_CHAT_ID" in err and "whole number" in err
    assert "Traceback" not in err


async def test_db_upgrade_command(tmp_path) -> None:
    code, out, err = await _run_cli(["db", "upgrade"], [], _env(tmp_path))
    assert code == 0, err
    assert "up to date" in out
    assert (tmp_path / "chat.sqlite3").exists()


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        ("<b>Hi</b> &amp; <i>you</i>", "Hi & you"),
        ('<a href="tg://user?id=1">Amal</a>', "Amal"),
        ("a &lt;b&gt; c", "a <b> c"),
    ],
)
def test_html_is_shown_as_plain_text(html: str, plain: str) -> None:
    assert html_to_plain(html) == plain


async def console(tmp_path: Path, out: io.StringIO):  # type: ignore[no-untyped-def]
    core = await open_core(make_settings(tmp_path))
    core.translator = FakeTranslator()
    desk = core.advisor_desk(ConfiguredAdvisors(frozenset({CONSOLE_ADVISOR_ID})))
    chat = ConsoleChat(core.service, desk, out=out)
    chat.attach(core.outbox(chat, desk))
    return core, chat


async def test_console_chat_in_process_prints_numbered_buttons(tmp_path) -> None:
    out = io.StringIO()
    core, chat = await console(tmp_path, out)
    await chat.start(language="de")
    await chat.handle_line("4\n")  # Persönliche Beratung
    await chat.handle_line("1\n")  # Ja, bitte
    await core.close()
    text = out.getvalue()
    assert "[1] ❓" in text and "[6] 🔒" in text
    assert "[advisors] Neue Anfrage #1 · Beratungswunsch" in text


async def test_the_terminal_plays_the_advisor_for_the_whole_relay(tmp_path) -> None:
    out = io.StringIO()
    core, chat = await console(tmp_path, out)
    await chat.start(language="ar")
    await chat.handle_line("4")  # talk to an advisor
    await chat.handle_line("1")  # yes, please
    await chat.handle_line("@advisor leads")
    await chat.handle_line("@advisor claim 1")
    await chat.handle_line("@advisor 1 Hallo, wie kann ich helfen?")
    await chat.handle_line("أريد أن أساعد في الترجمة")
    await chat.handle_line("@advisor note 1 spricht gut Englisch")
    await chat.handle_line("@advisor status 1 contacted")
    await chat.handle_line("@advisor close 1")
    await chat.handle_line("@advisor dance")
    await core.close()
    text = strip_bidi_controls(out.getvalue())
    assert "[advisors] Neue Anfrage #1 · Beratungswunsch" in text
    assert "[advisors]   [Übernehmen] -> @advisor claim 1" in text
    assert "[advisors] #1 · Arabisch · wartet" in text
    assert "Lena" in text  # the person is told who is with them
    assert "[de→ar] Hallo, wie kann ich helfen?" in text
    assert "[advisors] أريد أن أساعد في الترجمة" in text
    assert "[advisors] [ar→de] أريد أن أساعد في الترجمة" in text
    assert "[advisors] Notiz zu Anfrage #1 gespeichert" in text
    assert "[advisors] Anfrage #1: kontaktiert." in text
    assert "[advisors] Anfrage #1 ist geschlossen" in text
    assert "[advisors] @advisor leads | lead N" in text  # unknown verbs get the help line
    assert "spricht gut Englisch" not in text.split("[advisors] Notiz")[0]


ARABIC_INTAKE = [
    "2", "1", "أمل", "4",  # find volunteering, consent, first name, age 27-64
    "1", "14",  # languages: Arabic, done
    "2",  # German: a little
    "5", "3", "2", "12",  # interests: interpreting, homework, mentoring, done
    "3", "4",  # district Ost, 6 hours a week
    "2", "6",  # weekday afternoons, done
    "1",  # contact: Telegram
    "أستطيع الترجمة",
    "11",  # summary: send to the team
]  # fmt: skip


async def test_arabic_intake_in_the_terminal_shows_three_suggestions_and_the_card_lists_them(
    tmp_path,
) -> None:
    code, out, err = await _run_cli(["chat", "--lang", "ar"], ARABIC_INTAKE, _env(tmp_path))
    assert code == 0, err
    plain = strip_bidi_controls(out)
    person, _, card = plain.partition("[advisors] Neue Anfrage #1")
    # Three suggestions in Arabic, each with its reasons, and a star to mark interest.
    assert "فرص تطوع قد تناسبك" in person  # "Opportunities that might suit you"
    stars = [line for line in person.splitlines() if line.strip().startswith("[") and "☆" in line]
    assert len(stars) == 3
    assert "✓ تتحدث العربية" in person
    # The advisors' card lists the same three in German.
    assert "Vorschläge aus dem Katalog" in card
    listed = [line for line in card.splitlines() if re.match(r"\[advisors\] \d\. ", line)]
    assert len(listed) == 3
    assert "Sie sprechen Arabisch" in card


async def test_mydata_and_delete_work_in_the_terminal(tmp_path) -> None:
    out = io.StringIO()
    core, chat = await console(tmp_path, out)
    await chat.start(language="en")
    await chat.handle_line("/mydata")
    await chat.handle_line("/delete")
    await chat.handle_line("1")  # Yes, delete everything
    await core.close()
    text = out.getvalue()
    assert "[file my-data.json: " in text and '"format_version": 1' in text
    assert "Everything stored about you is deleted" in text
