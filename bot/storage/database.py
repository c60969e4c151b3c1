"""The engine, one transaction per handled event, and Alembic migrations run from code."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.storage.repositories import Repositories

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# PostgreSQL's "the database system is starting up" and "too many connections": worth waiting for.
_TRANSIENT_SQLSTATES = frozenset({"57P03", "53300"})


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened; the message says which URL (without password)."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL keeps readers and the single writer apart; foreign keys make ON DELETE work;
    # secure_delete overwrites erased text instead of leaving it in free pages.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Database:
    """Owns the engine. `transaction()` gives the repositories of one unit of work."""

    def __init__(
        self, url: str, *, echo: bool = False, connect_args: dict[str, Any] | None = None
    ) -> None:
        self.url = url
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[1] if ":///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(
            url,
            echo=echo,
            pool_pre_ping=True,
            # A database error's text would otherwise carry the SQL parameters (people's words)
            # into the logs.
            hide_parameters=True,
            connect_args=connect_args or {},
        )
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Repositories]:
        """Commits when the block ends normally, rolls back on any error."""
        async with self._sessions() as session, session.begin():
            yield Repositories(session)

    async def wait_until_reachable(
        self,
        attempts: int,
        wait_seconds: float,
        max_wait_seconds: float,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """Start-up: tries a connection up to `attempts` times, waiting `wait_seconds` and then
        twice as long each time (at most `max_wait_seconds`), so a bot started together with its
        database waits for it. A refusal that waiting cannot fix (no such database, wrong
        password) and the last failed attempt raise DatabaseUnavailable at once."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
                if attempt > 1:
                    log.info("database at %s reached (attempt %d)", self.safe_url, attempt)
                return
            except (OSError, DBAPIError) as exc:
                problem = _problem(exc)
                if not is_transient(exc):
                    raise DatabaseUnavailable(
                        f"cannot use the database at {self.safe_url}: {problem}"
                    ) from exc
                if attempt == attempts:
                    raise DatabaseUnavailable(
                        f"cannot reach the database at {self.safe_url} after {attempts} "
                        f"attempt(s): {problem}. Is it running, and is DATABASE_URL right?"
                    ) from exc
                delay = min(wait_seconds * 2 ** (attempt - 1), max_wait_seconds)
                log.warning(
                    "database at %s not reachable (%s); attempt %d of %d, next in %.0f s",
                    self.safe_url,
                    problem,
                    attempt,
                    attempts,
                    delay,
                )
                await sleep(delay)

    async def upgrade(self, revision: str = "head") -> None:
        """Applies Alembic migrations up to `revision` on this engine."""
        try:
            async with self.engine.begin() as connection:
                await connection.run_sync(_run_upgrade, revision)
        except OSError as exc:
            raise DatabaseUnavailable(
                f"cannot reach the database at {self.safe_url}: {exc}"
            ) from exc

    async def dispose(self) -> None:
        await self.engine.dispose()


def is_transient(exc: BaseException) -> bool:
    """Unreachable or not ready yet (worth a retry), as opposed to refused for good."""
    if isinstance(exc, OSError):
        return True
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return exc.connection_invalidated or sqlstate in _TRANSIENT_SQLSTATES
    return False


def _problem(exc: BaseException) -> str:
    """One line for an operator; the driver's own first line, without SQLAlchemy's links."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _run_upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)
