"""One outbox worker as its own OS process, for tests/test_workers.py: flushes the outbox of a
PostgreSQL schema and appends "pid item-id" to a file for every item it delivers.

    python -m tests.outbox_worker_process URL SCHEMA OUT_FILE
"""

from __future__ import annotations

import asyncio
import os
import sys

from bot.core.outbox import Delivered, Outbox, OutgoingMessage
from bot.storage.database import Database


class AppendingChannel:
    name = "test"

    def __init__(self, path: str) -> None:
        self._path = path

    async def deliver(self, message: OutgoingMessage) -> Delivered:
        await asyncio.sleep(0.01)  # a network round trip, so the two processes overlap
        # O_APPEND: lines of both processes interleave but never overwrite each other.
        with open(self._path, "a", encoding="utf-8") as out:
            out.write(f"{os.getpid()} {message.id}\n")
        return Delivered(message_id=str(message.id))


async def main(url: str, schema: str, out: str) -> None:
    database = Database(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await Outbox(database, AppendingChannel(out)).flush()
    finally:
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
