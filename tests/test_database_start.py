"""Start-up with a database that is not there (yet): clear warnings, retries with backoff, then
exit 2 with a message naming the database; a server that comes up while waiting is taken."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage.database import Database, DatabaseUnavailable
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES, _postgres_reachable

TOKEN = "123456:" + "S" * 35


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config_file(tmp_path: Path, attempts: int) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(
        "database:\n"
        f"  connect_attempts: {attempts}\n"
        "  connect_wait_seconds: 0.01\n"
        "  connect_max_wait_seconds: 0.02\n"
    )
    return path


async def test_backoff_doubles_up_to_the_maximum_then_gives_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"postgresql+asyncpg://bot:hunter2@127.0.0.1:{closed_port()}/engagiert"
    database = Database(url)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    try:
        with caplog.at_level(logging.WARNING), pytest.raises(DatabaseUnavailable) as failure:
            await database.wait_until_reachable(5, 2, 10, sleep=sleep)
    finally:
        await database.dispose()
    assert waits == [2, 4, 8, 10]  # no wait after the last attempt
    message = str(failure.value)
    assert "after 5 attempt(s)" in message and "ConnectionRefusedError" in message
    assert "127.0.0.1" in message and "hunter2" not in message
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4 and "attempt 1 of 5, next in 2 s" in warnings[0]
    assert all("hunter2" not in line for line in warnings)


@pytest.mark.parametrize("command", [["db", "upgrade"], ["run"], ["chat"]])
def test_cli_exits_2_with_a_clear_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    port = closed_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test")
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    code = main(["--config", str(config_file(tmp_path, 3)), *command])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        f"engagiert: error: cannot reach the database at "
        f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test after 3 attempt(s)" in err
    )
    assert "Traceback" not in err and TOKEN not in err


async def test_a_missing_database_is_refused_at_once_without_waiting() -> None:
    problem = await _postgres_reachable()
    if problem is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is not reachable ({problem}); CI requires it")
        pytest.skip(f"PostgreSQL is not reachable ({problem})")
    base = POSTGRES_URL.rsplit("/", 1)[0]
    database = Database(f"{base}/no_such_database_here")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    try:
        with pytest.raises(DatabaseUnavailable, match="does not exist"):
            await database.wait_until_reachable(5, 1, 1, sleep=sleep)
    finally:
        await database.dispose()
    assert waits == []  # waiting cannot create a database


async def test_a_server_that_comes_up_while_waiting_is_used() -> None:
    """The port is closed at first; during the first wait a forwarder to the PostgreSQL test
    server starts listening there (as a database container finishing its start would)."""
    problem = await _postgres_reachable()
    if problem is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is not reachable ({problem}); CI requires it")
        pytest.skip(f"PostgreSQL is not reachable ({problem})")
    target = POSTGRES_URL.split("@", 1)[1].split("/", 1)[0]
    target_host, target_port = target.rsplit(":", 1)
    port = closed_port()
    servers: list[asyncio.Server] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(target_host, int(target_port))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def sleep(_seconds: float) -> None:
        if not servers:
            servers.append(await asyncio.start_server(forward, "127.0.0.1", port))

    url = POSTGRES_URL.replace(target, f"127.0.0.1:{port}")
    database = Database(url)
    try:
        await database.wait_until_reachable(3, 0.01, 0.01, sleep=sleep)
    finally:
        await database.dispose()
        for server in servers:
            server.close()
    assert len(servers) == 1
