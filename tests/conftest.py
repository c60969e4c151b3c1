"""Shared fixtures: settings on a temporary SQLite file, the core, PostgreSQL when reachable."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.app import Core, open_core
from bot.config import Settings, load_settings
from bot.storage.database import Database

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
# .ci/run sets this: there, an unreachable PostgreSQL is a failure, not a skip.
REQUIRE_POSTGRES = os.environ.get("ENGAGIERT_REQUIRE_POSTGRES") == "1"


def make_settings(tmp_path: Path, **env: str) -> Settings:
    environ = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}", **env}
    return load_settings(environ=environ)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def core(settings: Settings) -> AsyncIterator[Core]:
    core = await open_core(settings)
    yield core
    await core.close()


async def _postgres_reachable() -> str | None:
    import asyncpg

    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    try:
        connection = await asyncio.wait_for(asyncpg.connect(dsn), timeout=5)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[Database]:
    """A Database on a fresh, migrated schema of the PostgreSQL test server, dropped afterwards.
    Skips where no server is reachable, except in CI (ENGAGIERT_REQUIRE_POSTGRES=1)."""
    problem = await _postgres_reachable()
    if problem is not None:
        message = f"PostgreSQL at {POSTGRES_URL} is not reachable ({problem})"
        if REQUIRE_POSTGRES:
            pytest.fail(message + "; CI requires it")
        pytest.skip(message)
    import asyncpg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    database = Database(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        await database.upgrade()
        yield database
    finally:
        await database.dispose()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


@pytest.fixture
async def postgres_database() -> AsyncIterator[Database]:
    async with postgres_schema() as database:
        yield database


@pytest.fixture(params=["sqlite", "postgres"])
async def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """Runs a storage test once on SQLite and once on PostgreSQL."""
    if request.param == "postgres":
        async with postgres_schema() as database:
            yield database
        return
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'any.sqlite3'}")
    await database.upgrade()
    yield database
    await database.dispose()
