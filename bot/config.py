"""One typed settings object, read from config.yml and overridden by the environment.

A wrong setting stops start-up with a `ConfigError` that names the setting and says what is wrong,
so an operator never has to read a traceback to fix a typo.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "config.yml"

_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # Telegram's rule for secret_token


# Chosen with `engagiert nlu evaluate`: acts on about 92% of held-out messages, 97% of them right.
DEFAULT_NLU_THRESHOLD = 0.4


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names it and what to do."""


@dataclass(frozen=True)
class TelegramSettings:
    token: str | None = field(repr=False)  # secret: never in a repr, a log line or a traceback
    api_base: str
    advisor_chat_id: int | None


@dataclass(frozen=True)
class WebhookSettings:
    url: str | None
    secret: str | None = field(repr=False)
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class AgencySettings:
    name: str
    email: str
    phone: str
    address: str
    checked: str


@dataclass(frozen=True)
class AdvisorSettings:
    """Who may act on leads besides the members of the advisors' chat, and the reminders."""

    ids: frozenset[int] = frozenset()
    reannounce_after_hours: float = 24.0
    membership_cache_seconds: float = 300.0


@dataclass(frozen=True)
class RateLimitSettings:
    """Messages a person may send a minute (0: no limit); Redis shares the count between
    several bot processes, otherwise each process counts in its own memory."""

    messages_per_minute: int = 20
    redis_url: str | None = field(default=None, repr=False)  # may carry a password


@dataclass(frozen=True)
class DatabaseConnectSettings:
    """How long start-up waits for an unreachable database before it gives up (exit 2)."""

    attempts: int = 10
    wait_seconds: float = 2.0
    max_wait_seconds: float = 30.0


@dataclass(frozen=True)
class PrivacySettings:
    """Retention (bot/core/privacy.py): a person not seen for `inactive_days` is erased; the
    relayed messages of a lead closed `closed_lead_message_days` ago are deleted."""

    inactive_days: int = 180
    closed_lead_message_days: int = 90


MT_ENGINES = ("argos", "none")


@dataclass(frozen=True)
class MachineTranslationSettings:
    """Offline translation of relayed messages (bot/mt); "none" relays originals only."""

    engine: str = "argos"
    packages_dir: Path = PROJECT_ROOT / "data" / "argos-packages"
    timeout_seconds: float = 10.0
    cache_size: int = 2000


@dataclass(frozen=True)
class Settings:
    telegram: TelegramSettings
    webhook: WebhookSettings
    database_url: str
    migrate_on_start: bool
    languages: tuple[str, ...]
    fallback_language: str
    agency: AgencySettings
    outbox_poll_seconds: float
    outbox_max_backoff_seconds: float
    timezone: str
    log_level: str
    nlu_threshold: float = DEFAULT_NLU_THRESHOLD
    nlu_data_dir: Path = field(default=PROJECT_ROOT / "nlu_data")
    nlu_cache_dir: Path = field(default=PROJECT_ROOT / "data" / "nlu")
    dialogs_dir: Path = field(default=PROJECT_ROOT / "dialogs")
    translations_dir: Path = field(default=PROJECT_ROOT / "translations")
    advisors: AdvisorSettings = field(default_factory=AdvisorSettings)
    mt: MachineTranslationSettings = field(default_factory=MachineTranslationSettings)
    rate_limit: RateLimitSettings = field(default_factory=RateLimitSettings)
    database_connect: DatabaseConnectSettings = field(default_factory=DatabaseConnectSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require_webhook(self) -> None:
        """Webhook mode needs a public URL and a secret; polling needs neither."""
        if not self.webhook.url:
            raise ConfigError("WEBHOOK_URL (webhook.url) is required for --webhook mode")
        if not self.webhook.secret:
            raise ConfigError(
                "WEBHOOK_SECRET is required for --webhook mode: 1-256 characters of A-Z, a-z, "
                "0-9, _ and -. Telegram sends it back in every request, which is how fake "
                "updates are told apart."
            )


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Reads config.yml, applies environment overrides and validates everything."""
    env = os.environ if environ is None else environ
    path = config_file or Path(env.get("ENGAGIERT_CONFIG", DEFAULT_CONFIG_FILE))
    raw = _read_yaml(path)
    base = path.resolve().parent

    def section(name: str) -> Mapping[str, Any]:
        value = raw.get(name) or {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: '{name}' must be a mapping of settings")
        return value

    tg, wh, db, langs = (
        section("telegram"),
        section("webhook"),
        section("database"),
        section("languages"),
    )
    agency, outbox, log = section("agency"), section("outbox"), section("logging")
    nlu = section("nlu")
    threshold = nlu.get("confidence_threshold", DEFAULT_NLU_THRESHOLD)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not (0 < threshold < 1)
    ):
        raise ConfigError(
            f"nlu.confidence_threshold must be a number between 0 and 1, got {threshold!r}"
        )

    token = _env(env, "BOT_TOKEN")
    if token is not None and not _TOKEN_RE.match(token):
        raise ConfigError(
            "BOT_TOKEN does not look like a bot token (expected '<digits>:<35 characters>', "
            "as @BotFather gives it)"
        )
    api_base = _env(env, "TELEGRAM_API_BASE") or str(
        tg.get("api_base") or "https://api.telegram.org"
    )
    _check_url("TELEGRAM_API_BASE (telegram.api_base)", api_base, schemes=("http", "https"))

    advisor_chat_id = _int_or_none(
        "ADVISOR_CHAT_ID (telegram.advisor_chat_id)",
        _env(env, "ADVISOR_CHAT_ID", tg.get("advisor_chat_id")),
    )

    webhook_url = _env(env, "WEBHOOK_URL", wh.get("url"))
    if webhook_url:
        _check_url("WEBHOOK_URL (webhook.url)", str(webhook_url), schemes=("https",))
    secret = _env(env, "WEBHOOK_SECRET")
    if secret is not None and not _SECRET_RE.match(secret):
        raise ConfigError(
            "WEBHOOK_SECRET may only contain A-Z, a-z, 0-9, _ and - (1-256 characters)"
        )
    port = _int_or_none(
        "WEBHOOK_PORT (webhook.port)", _env(env, "WEBHOOK_PORT", wh.get("port", 8080))
    )
    if port is None or not 1 <= port <= 65535:
        raise ConfigError("WEBHOOK_PORT (webhook.port) must be a port number between 1 and 65535")
    webhook_path = str(wh.get("path") or "/telegram/webhook")
    if not webhook_path.startswith("/"):
        raise ConfigError("webhook.path must start with '/'")

    database_url = _database_url(str(_env(env, "DATABASE_URL", db.get("url")) or ""), base)

    enabled = langs.get("enabled") or ["de", "en"]
    if not isinstance(enabled, list) or not all(isinstance(x, str) for x in enabled):
        raise ConfigError("languages.enabled must be a list of language codes such as [de, en]")
    fallback = str(langs.get("fallback") or enabled[0])
    if fallback not in enabled:
        raise ConfigError(f"languages.fallback '{fallback}' is not in languages.enabled {enabled}")

    timezone = str(raw.get("timezone") or "Europe/Berlin")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"timezone '{timezone}' is not a known time zone name") from exc

    level = str(log.get("level") or "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"logging.level '{level}' must be DEBUG, INFO, WARNING or ERROR")

    return Settings(
        telegram=TelegramSettings(
            token=token, api_base=api_base.rstrip("/"), advisor_chat_id=advisor_chat_id
        ),
        webhook=WebhookSettings(
            url=str(webhook_url) if webhook_url else None,
            secret=secret,
            host=str(_env(env, "WEBHOOK_HOST", wh.get("host")) or "127.0.0.1"),
            port=port,
            path=webhook_path,
        ),
        database_url=database_url,
        migrate_on_start=bool(db.get("migrate_on_start", True)),
        languages=tuple(enabled),
        fallback_language=fallback,
        agency=AgencySettings(
            name=str(agency.get("name") or ""),
            email=str(agency.get("email") or ""),
            phone=str(agency.get("phone") or ""),
            address=str(agency.get("address") or ""),
            checked=str(agency.get("checked") or ""),
        ),
        outbox_poll_seconds=_positive("outbox.poll_seconds", outbox.get("poll_seconds", 5)),
        outbox_max_backoff_seconds=_positive(
            "outbox.max_backoff_seconds", outbox.get("max_backoff_seconds", 600)
        ),
        timezone=timezone,
        log_level=level,
        nlu_threshold=float(threshold),
        nlu_data_dir=_path(base, nlu.get("data_dir"), PROJECT_ROOT / "nlu_data"),
        nlu_cache_dir=_path(base, nlu.get("cache_dir"), PROJECT_ROOT / "data" / "nlu"),
        dialogs_dir=_path(base, raw.get("dialogs_dir"), PROJECT_ROOT / "dialogs"),
        translations_dir=_path(base, raw.get("translations_dir"), PROJECT_ROOT / "translations"),
        advisors=_advisor_settings(section("advisors"), env),
        mt=_mt_settings(section("mt"), env, base),
        rate_limit=_rate_limit_settings(section("rate_limit"), env),
        database_connect=_database_connect_settings(db),
        privacy=_privacy_settings(section("privacy")),
    )


def _privacy_settings(raw: Mapping[str, Any]) -> PrivacySettings:
    values: dict[str, int] = {}
    for key, default in (("inactive_days", 180), ("closed_lead_message_days", 90)):
        days = _int_or_none(f"privacy.{key}", raw.get(key, default))
        if days is None or days < 1:
            raise ConfigError(f"privacy.{key} must be a number of days, 1 or more, got {days!r}")
        values[key] = days
    return PrivacySettings(**values)


def _rate_limit_settings(raw: Mapping[str, Any], env: Mapping[str, str]) -> RateLimitSettings:
    per_minute = _int_or_none("rate_limit.messages_per_minute", raw.get("messages_per_minute", 20))
    if per_minute is None or per_minute < 0:
        raise ConfigError(
            f"rate_limit.messages_per_minute must be 0 (no limit) or more, got {per_minute!r}"
        )
    redis_url = _env(env, "REDIS_URL", raw.get("redis_url"))
    if redis_url:
        _check_url("REDIS_URL (rate_limit.redis_url)", str(redis_url), ("redis", "rediss"))
    return RateLimitSettings(
        messages_per_minute=per_minute, redis_url=str(redis_url) if redis_url else None
    )


def _database_connect_settings(db: Mapping[str, Any]) -> DatabaseConnectSettings:
    attempts = _int_or_none("database.connect_attempts", db.get("connect_attempts", 10))
    if attempts is None or attempts < 1:
        raise ConfigError(f"database.connect_attempts must be 1 or more, got {attempts!r}")
    return DatabaseConnectSettings(
        attempts=attempts,
        wait_seconds=_positive("database.connect_wait_seconds", db.get("connect_wait_seconds", 2)),
        max_wait_seconds=_positive(
            "database.connect_max_wait_seconds", db.get("connect_max_wait_seconds", 30)
        ),
    )


def _mt_settings(
    mt: Mapping[str, Any], env: Mapping[str, str], base: Path
) -> MachineTranslationSettings:
    engine = str(_env(env, "MT_ENGINE", mt.get("engine")) or "argos").strip().lower()
    if engine not in MT_ENGINES:
        raise ConfigError(f"MT_ENGINE (mt.engine) must be argos or none, got {engine!r}")
    cache_size = _int_or_none("mt.cache_size", mt.get("cache_size", 2000))
    if cache_size is None or cache_size < 0:
        raise ConfigError(f"mt.cache_size must be 0 or more, got {cache_size!r}")
    return MachineTranslationSettings(
        engine=engine,
        packages_dir=_path(base, mt.get("packages_dir"), PROJECT_ROOT / "data" / "argos-packages"),
        timeout_seconds=_positive("mt.timeout_seconds", mt.get("timeout_seconds", 10)),
        cache_size=cache_size,
    )


def _advisor_settings(advisors: Mapping[str, Any], env: Mapping[str, str]) -> AdvisorSettings:
    raw_ids = _env(env, "ADVISOR_IDS", advisors.get("ids"))
    if isinstance(raw_ids, str):
        raw_ids = [part for part in raw_ids.replace(",", " ").split() if part]
    ids: set[int] = set()
    for value in raw_ids or []:
        number = _int_or_none("ADVISOR_IDS (advisors.ids)", value)
        if number is not None:
            ids.add(number)
    return AdvisorSettings(
        ids=frozenset(ids),
        reannounce_after_hours=_positive(
            "advisors.reannounce_after_hours", advisors.get("reannounce_after_hours", 24)
        ),
        membership_cache_seconds=_positive(
            "advisors.membership_cache_seconds", advisors.get("membership_cache_seconds", 300)
        ),
    )


def _read_yaml(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file {path} not found (set ENGAGIERT_CONFIG)") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path} must contain a mapping of settings")
    return data


def _env(env: Mapping[str, str], name: str, default: Any = None) -> Any:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _int_or_none(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


def _positive(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {value!r}")
    return number


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> None:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ConfigError(f"{name} must be a {' or '.join(schemes)} URL, got {value!r}")


def _database_url(url: str, base: Path) -> str:
    if not url:
        raise ConfigError("DATABASE_URL (database.url) is empty")
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        url = "sqlite+aiosqlite://" + url.split("://", 1)[1]
    if url.startswith("sqlite+aiosqlite:///") and not url.startswith("sqlite+aiosqlite:////"):
        relative = url.removeprefix("sqlite+aiosqlite:///")
        if relative and relative != ":memory:":
            url = f"sqlite+aiosqlite:///{(base / relative).resolve()}"
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            "DATABASE_URL (database.url) must be sqlite+aiosqlite:///PATH or "
            f"postgresql+asyncpg://USER@HOST/DB, got scheme {url.split(':', 1)[0]!r}"
        )
    return url


def _path(base: Path, value: Any, default: Path) -> Path:
    if not value:
        return default
    path = Path(str(value))
    return path if path.is_absolute() else (base / path).resolve()
