"""The `engagiert` command: run the bot, chat in the terminal, manage the database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.config import ConfigError, Settings, load_settings
from bot.core.flows import ContentError
from bot.i18n.catalogs import CatalogError
from bot.nlu.training_data import TrainingDataError
from bot.storage.database import Database, DatabaseUnavailable

log = logging.getLogger("bot")

NO_TOKEN_NOTE = (
    "No BOT_TOKEN is set, so this is the terminal chat on the same core and database.\n"
    "To connect Telegram: create a bot with @BotFather, then run\n"
    "  BOT_TOKEN=<token> ADVISOR_CHAT_ID=<advisors' group id> engagiert run\n"
    "Type a button's number to press it, /help for commands; Ctrl-D ends.\n"
    "Play the advisor with lines starting '@advisor' (try '@advisor leads').\n"
)


class TelegramUnavailable(RuntimeError):
    """The Bot API refused the token or did not answer while the bot started."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="engagiert",
        description="Volunteering assistant of the Freiwilligen-Agentur Leipzig. Without a "
        "command: the Telegram bot if BOT_TOKEN is set, otherwise the terminal chat.",
    )
    parser.add_argument("--config", help="path of config.yml (default: the project's)")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run the Telegram bot (long polling, or --webhook)")
    run.add_argument("--webhook", action="store_true", help="serve the webhook with aiohttp")
    chat = sub.add_parser("chat", help="talk to the bot in this terminal (same core and database)")
    chat.add_argument("--lang", help="language to talk in, e.g. de or en")
    chat.add_argument(
        "--user", default="local", help="who you are in the database (default: local)"
    )
    chat.add_argument(
        "--advisor-name",
        default="Lena",
        help="the name the person sees when you play the advisor with @advisor (default: Lena)",
    )
    chat.add_argument("--verbose", action="store_true", help="show log messages")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply the Alembic migrations")
    nlu = sub.add_parser("nlu", help="train, evaluate and try the free-text understanding")
    nlu_sub = nlu.add_subparsers(dest="nlu_command", required=True)
    nlu_sub.add_parser("train", help="train the intent classifier now (it also trains on start)")
    evaluate = nlu_sub.add_parser("evaluate", help="held-out set and k-fold per language")
    evaluate.add_argument("--folds", type=int, default=5, help="k of k-fold (1 = skip)")
    nlu_sub.add_parser("predict", help="one message per stdin line -> one JSON object per line")
    review = nlu_sub.add_parser("review", help="messages the bot did not understand")
    review.add_argument("--delete", action="store_true", help="delete them after listing")
    mt = sub.add_parser("mt", help="machine translation models: status, install")
    mt_sub = mt.add_subparsers(dest="mt_command", required=True)
    mt_sub.add_parser("status", help="installed language pairs and which languages lack one")
    mt_install = mt_sub.add_parser("install", help="install a .argosmodel file")
    mt_install.add_argument("file", help="a .argosmodel fetched with argospm elsewhere")
    catalog = sub.add_parser("catalog", help="opportunities catalogue: check, sync, export, import")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    catalog_sub.add_parser("check", help="validate dialogs/opportunities.yml against the intake")
    catalog_sub.add_parser("sync", help="copy the YAML's English texts into the catalogues")
    catalog_export = catalog_sub.add_parser("export", help="write the catalogue as a CSV file")
    catalog_export.add_argument("file", nargs="?", help="where to write (default: stdout)")
    catalog_import = catalog_sub.add_parser("import", help="replace the catalogue by a CSV file")
    catalog_import.add_argument("file", help="the spreadsheet saved as CSV (UTF-8)")
    i18n = sub.add_parser("i18n", help="translators' workflow: check, extract, update, compile")
    i18n_sub = i18n.add_subparsers(dest="i18n_command", required=True)
    i18n_sub.add_parser("check", help="fail on anything that would break a catalogue in use")
    i18n_sub.add_parser("extract", help="write translations/*.pot from the English catalogues")
    i18n_sub.add_parser("update", help="merge the templates into every catalogue")
    i18n_sub.add_parser("compile", help="write .mo files next to the .po files")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        from pathlib import Path

        settings = load_settings(Path(args.config) if args.config else None)
        command = args.command
        if command is None:
            if settings.telegram.token:
                command = "run"
                args.webhook = False
            else:
                command = "chat"
                args.lang, args.user, args.verbose = None, "local", False
                args.advisor_name = "Lena"
                sys.stderr.write(NO_TOKEN_NOTE)
        quiet = command in {"chat", "nlu", "mt"} and not getattr(args, "verbose", False)
        logging.basicConfig(
            level=logging.WARNING if quiet else settings.log_level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        if command == "chat":
            return asyncio.run(_chat(settings, args.lang, args.user, args.advisor_name))
        if command == "run":
            return asyncio.run(_run(settings, webhook=args.webhook))
        if command == "db":
            return asyncio.run(_db_upgrade(settings))
        if command == "i18n":
            return _i18n(settings, args.i18n_command)
        if command == "nlu":
            return _nlu(settings, args)
        if command == "catalog":
            from bot.catalog import commands as catalog_commands

            return catalog_commands.run(settings, args)
        if command == "mt":
            return _mt(settings, args)
    except (
        ConfigError,
        ContentError,
        CatalogError,
        DatabaseUnavailable,
        TelegramUnavailable,
        TrainingDataError,
    ) as exc:
        sys.stderr.write(f"engagiert: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


async def _chat(settings: Settings, lang: str | None, user: str, advisor_name: str) -> int:
    from bot.app import open_core
    from bot.console import CONSOLE_ADVISOR_ID, ConsoleChat
    from bot.core.advisor_desk import ConfiguredAdvisors
    from bot.nlu.model_store import model_is_cached

    if lang is not None and lang not in settings.languages:
        raise ConfigError(f"--lang {lang}: not one of the enabled languages {settings.languages}")
    if settings.nlu_data_dir.exists() and not model_is_cached(
        settings.nlu_data_dir, settings.nlu_cache_dir
    ):
        sys.stderr.write("Learning to understand free text (first start, about 20 seconds) ...\n")
    core = await open_core(settings, database=await _reachable_database(settings))
    try:
        # In the terminal, whoever types @advisor is the advisor: it is the operator's machine.
        desk = core.advisor_desk(ConfiguredAdvisors(frozenset({CONSOLE_ADVISOR_ID})))
        chat = ConsoleChat(
            core.service,
            desk,
            user=user,
            advisor_name=advisor_name,
            echo_input=not sys.stdin.isatty(),
        )
        chat.attach(core.outbox(chat, desk))
        await desk.reannounce_due()
        await core.privacy.run_retention()  # daily at most; the last run is in the database
        await chat.run(sys.stdin, language=lang)
    finally:
        await core.close()
    return 0


async def _run(settings: Settings, *, webhook: bool) -> int:
    from bot.app import open_core
    from bot.telegram.runner import run_polling, run_webhook

    if not settings.telegram.token:
        raise ConfigError("BOT_TOKEN is not set; `engagiert chat` works without it")
    if webhook:
        settings.require_webhook()
    from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError

    core = await open_core(settings, database=await _reachable_database(settings))
    try:
        if webhook:
            await run_webhook(core)
        else:
            await run_polling(core)
    except TelegramUnauthorizedError as exc:
        raise TelegramUnavailable(
            f"Telegram refused BOT_TOKEN ({exc.message}): check it with @BotFather"
        ) from exc
    except TelegramAPIError as exc:  # what escapes the runners happened while starting
        raise TelegramUnavailable(
            f"the Bot API at {settings.telegram.api_base} did not answer at start "
            f"({type(exc).__name__}: {exc.message}); the bot stopped, nothing was lost"
        ) from exc
    finally:
        await core.close()
    return 0


async def _reachable_database(settings: Settings) -> Database:
    """The database, once it answers: start-up waits for it as `database.connect_*` says,
    then stops with a message that names it (exit 2)."""
    database = Database(settings.database_url)
    connect = settings.database_connect
    try:
        await database.wait_until_reachable(
            connect.attempts, connect.wait_seconds, connect.max_wait_seconds
        )
    except DatabaseUnavailable:
        await database.dispose()
        raise
    return database


async def _db_upgrade(settings: Settings) -> int:
    database = await _reachable_database(settings)
    try:
        await database.upgrade()
    finally:
        await database.dispose()
    print(f"database at {database.safe_url} is up to date")
    return 0


def _i18n(settings: Settings, action: str) -> int:
    from bot.i18n import workflow
    from bot.i18n.catalogs import DOMAINS
    from bot.i18n.check import check_catalogues

    directory = settings.translations_dir
    if action == "extract":
        for domain in DOMAINS:
            print(f"wrote {workflow.extract(directory, domain)}")
        return 0
    if action == "update":
        for domain in DOMAINS:
            for result in workflow.update(directory, domain):
                print(
                    f"{result.language}/{result.domain}: {result.added} new, "
                    f"{result.fuzzy} to revisit (fuzzy), {result.obsolete} obsolete"
                )
        return 0
    if action == "compile":
        for path in workflow.compile_all(directory):
            print(f"wrote {path}")
        return 0
    from bot.app import placeholder_values
    from bot.core.content import load_content

    report = check_catalogues(
        directory,
        settings.languages,
        placeholder_values(settings, load_content(settings.dialogs_dir)),
    )
    for line in report.warnings:
        print(f"warning: {line}")
    for line in report.errors:
        print(f"error: {line}")
    for lang, reviewed in sorted(report.reviewed.items()):
        count = report.counts.get(f"{lang}/messages.po", 0)
        status = "source language" if lang == "en" else "yes" if reviewed else "no"
        print(f"{lang:10} {count:4} messages   reviewed by a native speaker: {status}")
    print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return 0 if report.ok else 1


def _nlu(settings: Settings, args: argparse.Namespace) -> int:
    from bot.nlu import commands

    if args.nlu_command == "train":
        return commands.train(settings)
    if args.nlu_command == "evaluate":
        return commands.evaluate_command(settings, args.folds)
    if args.nlu_command == "predict":
        return commands.predict(settings)
    return asyncio.run(commands.review(settings, args.delete))


def _mt(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.mt import commands

    if args.mt_command == "install":
        return commands.install(settings, Path(args.file))
    return commands.status(settings)
