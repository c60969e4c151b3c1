"""load_settings: config file plus environment, and a ConfigError naming every wrong setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import DEFAULT_CONFIG_FILE, PROJECT_ROOT, ConfigError, load_settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq"
MINIMAL = 'database:\n  url: "sqlite:///data/bot.sqlite3"\n'


def write_config(tmp_path: Path, text: str = MINIMAL) -> Path:
    folder = tmp_path / "conf"
    folder.mkdir(exist_ok=True)
    path = folder / "config.yml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str = MINIMAL, **env: str):
    return load_settings(write_config(tmp_path, text), env)


def test_defaults(tmp_path: Path):
    path = write_config(tmp_path)
    settings = load_settings(path, {})
    assert settings.telegram.token is None
    assert settings.telegram.api_base == "https://api.telegram.org"
    assert settings.telegram.advisor_chat_id is None
    assert settings.webhook.url is None
    assert settings.webhook.secret is None
    assert settings.webhook.host == "127.0.0.1"
    assert settings.webhook.port == 8080
    assert settings.webhook.path == "/telegram/webhook"
    assert (
        settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'conf' / 'data' / 'bot.sqlite3'}"
    )
    assert settings.migrate_on_start is True
    assert settings.languages == ("de", "en")
    assert settings.fallback_language == "de"  # the first enabled language
    assert settings.timezone == "Europe/Berlin"
    assert settings.tz.key == "Europe/Berlin"
    assert settings.log_level == "INFO"
    assert settings.outbox_poll_seconds == 5.0
    assert settings.outbox_max_backoff_seconds == 600.0
    assert settings.dialogs_dir == PROJECT_ROOT / "dialogs"
    assert settings.translations_dir == PROJECT_ROOT / "translations"
    assert settings.agency.name == ""


def test_the_shipped_config_file_loads():
    settings = load_settings(DEFAULT_CONFIG_FILE, {})
    assert settings.languages == (
        "de",
        "de_simple",
        "en",
        "ar",
        "fa",
        "uk",
        "ru",
        "tr",
        "fr",
        "es",
        "ps",
        "ku",
        "ti",
    )
    assert settings.fallback_language == "en"
    assert settings.agency.name == "Freiwilligen-Agentur Leipzig e.V."
    assert settings.database_url == (
        f"sqlite+aiosqlite:///{(PROJECT_ROOT / 'data' / 'engagiert.sqlite3').resolve()}"
    )
    assert settings.webhook.port == 8080


def test_config_file_values_are_read(tmp_path: Path):
    settings = load(
        tmp_path,
        MINIMAL
        + "telegram:\n  api_base: https://tg.example.org/\n  advisor_chat_id: -100123\n"
        + "webhook:\n  url: https://bot.example.org/hook\n  host: 0.0.0.0\n  port: 8443\n"
        + "  path: /hook\n"
        + "languages:\n  enabled: [en, de]\n  fallback: de\n"
        + "outbox:\n  poll_seconds: 2.5\n  max_backoff_seconds: 60\n"
        + "timezone: UTC\nlogging:\n  level: debug\n"
        + "dialogs_dir: my_dialogs\n",
    )
    assert settings.telegram.api_base == "https://tg.example.org"
    assert settings.telegram.advisor_chat_id == -100123
    assert settings.webhook.url == "https://bot.example.org/hook"
    assert (settings.webhook.host, settings.webhook.port, settings.webhook.path) == (
        "0.0.0.0",
        8443,
        "/hook",
    )
    assert settings.languages == ("en", "de")
    assert settings.fallback_language == "de"
    assert (settings.outbox_poll_seconds, settings.outbox_max_backoff_seconds) == (2.5, 60.0)
    assert settings.timezone == "UTC"
    assert settings.log_level == "DEBUG"
    assert settings.dialogs_dir == tmp_path / "conf" / "my_dialogs"


# -- environment overrides -------------------------------------------------------------------------


def test_env_overrides(tmp_path: Path):
    settings = load(
        tmp_path,
        MINIMAL + "telegram:\n  advisor_chat_id: 1\nwebhook:\n  host: 10.0.0.1\n  port: 9000\n",
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE="http://localhost:8081/",
        DATABASE_URL="postgresql+asyncpg://bot:secret@db/engagiert",
        ADVISOR_CHAT_ID=" -1001234567890 ",
        WEBHOOK_URL="https://bot.example.org/telegram/webhook",
        WEBHOOK_SECRET="abc_DEF-123",
        WEBHOOK_HOST="0.0.0.0",
        WEBHOOK_PORT="8443",
    )
    assert settings.telegram.token == TOKEN
    assert settings.telegram.api_base == "http://localhost:8081"
    assert settings.database_url == "postgresql+asyncpg://bot:secret@db/engagiert"
    assert settings.telegram.advisor_chat_id == -1001234567890
    assert settings.webhook.url == "https://bot.example.org/telegram/webhook"
    assert settings.webhook.secret == "abc_DEF-123"
    assert settings.webhook.host == "0.0.0.0"
    assert settings.webhook.port == 8443
    settings.require_webhook()  # both present: no error


def test_blank_env_values_do_not_override(tmp_path: Path):
    settings = load(
        tmp_path,
        MINIMAL + "webhook:\n  port: 9000\n",
        BOT_TOKEN="",
        WEBHOOK_PORT="  ",
        ADVISOR_CHAT_ID="",
    )
    assert settings.telegram.token is None
    assert settings.webhook.port == 9000
    assert settings.telegram.advisor_chat_id is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://bot:pw@db:5432/engagiert", "postgresql+asyncpg://bot:pw@db:5432/engagiert"),
        ("postgresql://bot@db/engagiert", "postgresql+asyncpg://bot@db/engagiert"),
        ("postgresql+asyncpg://bot@db/engagiert", "postgresql+asyncpg://bot@db/engagiert"),
        ("sqlite+aiosqlite:////var/lib/bot.sqlite3", "sqlite+aiosqlite:////var/lib/bot.sqlite3"),
        ("sqlite:////var/lib/bot.sqlite3", "sqlite+aiosqlite:////var/lib/bot.sqlite3"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
    ],
)
def test_database_url_forms(tmp_path: Path, url: str, expected: str):
    assert load(tmp_path, DATABASE_URL=url).database_url == expected


@pytest.mark.parametrize(
    "url", ["sqlite:///rel/bot.sqlite3", "sqlite+aiosqlite:///rel/bot.sqlite3"]
)
def test_relative_sqlite_path_is_resolved_against_the_config_folder(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load(tmp_path, DATABASE_URL=url)
    assert (
        settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'conf' / 'rel' / 'bot.sqlite3'}"
    )


def test_env_config_file_is_used_when_none_is_given(tmp_path: Path):
    path = write_config(tmp_path, MINIMAL + "webhook:\n  port: 1234\n")
    settings = load_settings(None, {"ENGAGIERT_CONFIG": str(path)})
    assert settings.webhook.port == 1234


# -- wrong values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN"),
        ({"BOT_TOKEN": "123456:short"}, "BOT_TOKEN"),
        ({"BOT_TOKEN": TOKEN + " extra"}, "BOT_TOKEN"),
        ({"TELEGRAM_API_BASE": "ftp://api.example.org"}, "TELEGRAM_API_BASE"),
        ({"TELEGRAM_API_BASE": "api.telegram.org"}, "TELEGRAM_API_BASE"),
        ({"ADVISOR_CHAT_ID": "advisors"}, "ADVISOR_CHAT_ID"),
        ({"ADVISOR_CHAT_ID": "-100.5"}, "ADVISOR_CHAT_ID"),
        ({"WEBHOOK_URL": "http://bot.example.org/hook"}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": "https://"}, "WEBHOOK_URL"),
        ({"WEBHOOK_SECRET": "has space"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_SECRET": "semi;colon"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_SECRET": "ümlaut"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_SECRET": "x" * 257}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_PORT": "0"}, "WEBHOOK_PORT"),
        ({"WEBHOOK_PORT": "65536"}, "WEBHOOK_PORT"),
        ({"WEBHOOK_PORT": "-1"}, "WEBHOOK_PORT"),
        ({"WEBHOOK_PORT": "http"}, "WEBHOOK_PORT"),
        ({"DATABASE_URL": "mysql://bot@db/engagiert"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql+psycopg2://bot@db/x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "engagiert.sqlite3"}, "DATABASE_URL"),
    ],
)
def test_wrong_env_value_names_the_setting(tmp_path: Path, env: dict[str, str], named: str):
    with pytest.raises(ConfigError, match=re.escape(named)):
        load(tmp_path, **env)


def test_secret_of_256_characters_is_accepted(tmp_path: Path):
    assert load(tmp_path, WEBHOOK_SECRET="x" * 256).webhook.secret == "x" * 256


@pytest.mark.parametrize("port", ["1", "65535"])
def test_port_limits_are_accepted(tmp_path: Path, port: str):
    assert load(tmp_path, WEBHOOK_PORT=port).webhook.port == int(port)


def test_error_does_not_echo_the_bad_token(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, BOT_TOKEN="999:secret-but-malformed")
    assert "secret-but-malformed" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("languages:\n  enabled: [de, en]\n  fallback: fr\n", "languages.fallback"),
        ("languages:\n  enabled: de\n", "languages.enabled"),
        ("timezone: Mars/Olympus\n", "timezone"),
        ("timezone: ../../etc/passwd\n", "timezone"),
        ("logging:\n  level: LOUD\n", "logging.level"),
        ("outbox:\n  poll_seconds: 0\n", "outbox.poll_seconds"),
        ("outbox:\n  max_backoff_seconds: soon\n", "outbox.max_backoff_seconds"),
        ("webhook:\n  path: hook\n", "webhook.path"),
        ("webhook:\n  port: 0\n", "WEBHOOK_PORT"),
        ("webhook:\n  url: http://bot.example.org/hook\n", "WEBHOOK_URL"),
        ("telegram:\n  advisor_chat_id: advisors\n", "ADVISOR_CHAT_ID"),
        ("telegram: [a, b]\n", "telegram"),
    ],
)
def test_wrong_file_value_names_the_setting(tmp_path: Path, text: str, named: str):
    with pytest.raises(ConfigError, match=re.escape(named)):
        load(tmp_path, MINIMAL + text)


def test_empty_database_url(tmp_path: Path):
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load(tmp_path, "")


def test_missing_config_file(tmp_path: Path):
    missing = tmp_path / "nope.yml"
    with pytest.raises(ConfigError, match=re.escape(str(missing))):
        load_settings(missing, {})


@pytest.mark.parametrize("text", ["telegram: [unclosed\n", "- just\n- a list\n"])
def test_unreadable_config_file(tmp_path: Path, text: str):
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_settings(path, {})


# -- webhook requirements ------------------------------------------------------------------------


def test_require_webhook_without_url(tmp_path: Path):
    settings = load(tmp_path, WEBHOOK_SECRET="s3cret")
    with pytest.raises(ConfigError, match="WEBHOOK_URL"):
        settings.require_webhook()


def test_require_webhook_without_secret(tmp_path: Path):
    settings = load(tmp_path, WEBHOOK_URL="https://bot.example.org/hook")
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        settings.require_webhook()


def test_require_webhook_with_neither(tmp_path: Path):
    with pytest.raises(ConfigError, match="WEBHOOK_URL"):
        load(tmp_path).require_webhook()
