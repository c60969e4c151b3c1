"""The engine, one transaction per handled event, and Alembic migrations run from code."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.storage.repositories import Repositories

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


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
            url, echo=echo, pool_pre_ping=True, connect_args=connect_args or {}
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


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _run_upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)
