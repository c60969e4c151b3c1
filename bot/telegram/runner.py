"""Runs the bot: long polling, or an aiohttp webhook server that checks Telegram's secret header."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import Core
from bot.core.advisor_desk import AdvisorDesk
from bot.core.outbox import Outbox
from bot.core.rate_limit import build_rate_limiter
from bot.telegram.advisor_directory import TelegramAdvisorDirectory
from bot.telegram.delivery import TelegramDelivery
from bot.telegram.middlewares import InFlightUpdates
from bot.telegram.setup import (
    build_bot,
    build_dispatcher,
    register_advisor_commands,
    register_commands,
)

log = logging.getLogger(__name__)


REMINDER_POLL_SECONDS = 60.0


SHUTDOWN_GRACE_SECONDS = 8.0


def build_parts(
    core: Core, bot: Bot, *, webhook: bool = False
) -> tuple[Dispatcher, AdvisorDesk, Outbox]:
    """The dispatcher, the advisors' desk and the outbox, wired to one Bot."""
    settings = core.settings
    chat_id = settings.telegram.advisor_chat_id
    directory = TelegramAdvisorDirectory(
        bot,
        chat_id,
        settings.advisors.ids,
        cache_seconds=settings.advisors.membership_cache_seconds,
    )
    desk = core.advisor_desk(directory)
    outbox = core.outbox(TelegramDelivery(bot, chat_id), desk)
    rate = settings.rate_limit
    limiter = build_rate_limiter(rate.messages_per_minute, rate.redis_url)
    in_flight = InFlightUpdates()
    dispatcher = build_dispatcher(
        core, desk, limiter=limiter, in_flight=in_flight, redeliver_on_failure=webhook
    )
    dispatcher["in_flight"], dispatcher["rate_limiter"] = in_flight, limiter
    return dispatcher, desk, outbox


async def run_reminders(desk: AdvisorDesk, stop: asyncio.Event, poll_seconds: float) -> None:
    """Re-announces unclaimed leads when due; the schedule itself lives in the database."""
    while not stop.is_set():
        try:
            await desk.reannounce_due()
        except Exception:  # a database hiccup must not end the reminders
            log.exception("re-announcing leads failed; will retry")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)


def _wire_lifecycle(dispatcher: Dispatcher, core: Core, desk: AdvisorDesk, outbox: Outbox) -> None:
    """Registers commands and runs the outbox and reminders while the dispatcher runs; flushes
    on shutdown."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def on_startup(bot: Bot) -> None:
        settings = core.settings
        await register_commands(bot, core.catalogs, settings.languages, settings.fallback_language)
        await register_advisor_commands(bot, core.catalogs, settings.telegram.advisor_chat_id)
        if settings.telegram.advisor_chat_id is None:
            log.warning("ADVISOR_CHAT_ID is not set: leads are stored and queued, not sent")
        tasks.append(asyncio.create_task(outbox.run(stop, settings.outbox_poll_seconds)))
        tasks.append(asyncio.create_task(run_reminders(desk, stop, REMINDER_POLL_SECONDS)))
        tasks.append(asyncio.create_task(core.privacy.run_forever(stop)))

    async def on_shutdown(dispatcher: Dispatcher) -> None:
        # Updates still being handled finish first: their turn commits, their replies go out
        # (or into the outbox). Then the loops stop and the outbox gets a last flush.
        await dispatcher["in_flight"].drain(SHUTDOWN_GRACE_SECONDS)
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # One last try; whatever still fails stays queued in the database for the next start.
        with contextlib.suppress(Exception):
            await outbox.flush()
        await dispatcher["rate_limiter"].close()

    dispatcher.startup.register(on_startup)
    dispatcher.shutdown.register(on_shutdown)


async def run_polling(core: Core) -> None:
    bot = build_bot(core.settings)
    dispatcher, desk, outbox = build_parts(core, bot)
    _wire_lifecycle(dispatcher, core, desk, outbox)
    try:
        await bot.delete_webhook(drop_pending_updates=False)
        await dispatcher.start_polling(bot, allowed_updates=dispatcher.resolve_used_update_types())
    finally:
        await bot.session.close()


def build_webhook_app(
    dispatcher: Dispatcher, bot: Bot, *, secret: str, path: str
) -> web.Application:
    """The aiohttp app: requests without the right X-Telegram-Bot-Api-Secret-Token get 401.
    Updates are handled before the response, so Telegram retries one whose handling failed."""
    app = web.Application()
    SimpleRequestHandler(
        dispatcher=dispatcher, bot=bot, secret_token=secret, handle_in_background=False
    ).register(app, path=path)
    setup_application(app, dispatcher, bot=bot)
    return app


async def run_webhook(core: Core) -> None:
    settings = core.settings
    assert settings.webhook.url and settings.webhook.secret, "checked by require_webhook()"
    bot = build_bot(settings)
    dispatcher, desk, outbox = build_parts(core, bot, webhook=True)
    _wire_lifecycle(dispatcher, core, desk, outbox)
    app = build_webhook_app(
        dispatcher, bot, secret=settings.webhook.secret, path=settings.webhook.path
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook.host, settings.webhook.port)
    await site.start()
    await bot.set_webhook(
        url=settings.webhook.url,
        secret_token=settings.webhook.secret,
        allowed_updates=dispatcher.resolve_used_update_types(),
        drop_pending_updates=False,
    )
    log.info(
        "webhook server on %s:%s%s",
        settings.webhook.host,
        settings.webhook.port,
        settings.webhook.path,
    )
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        await runner.cleanup()  # runs the dispatcher's shutdown: outbox stops, last flush
