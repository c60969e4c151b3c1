"""Alembic environment: the bot passes its connection; the alembic CLI uses DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage.models import Base

target_metadata = Base.metadata


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _migrate_from_settings() -> None:
    from bot.config import load_settings

    engine = create_async_engine(load_settings().database_url)
    async with engine.begin() as connection:
        await connection.run_sync(_migrate)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _migrate(connection)
else:
    asyncio.run(_migrate_from_settings())
