"""The per-person rate limit: the sliding window in memory and in Redis (shared by processes),
and the dispatcher middleware that sends one friendly notice and drops the rest."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage

from bot.app import Core
from bot.config import ConfigError, load_settings
from bot.core.rate_limit import (
    NoLimit,
    RedisRateLimiter,
    SlidingWindowLimiter,
    Verdict,
    build_rate_limiter,
)
from bot.telegram.middlewares import RateLimitMiddleware, register_rate_limit
from bot.telegram.setup import build_dispatcher
from tests.mocked_bot import MockedBot
from tests.telegram_updates import group_message_update, message_update, press_update, user

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# .ci/run sets this: there, an unreachable Redis is a failure, not a skip.
REQUIRE_REDIS = os.environ.get("ENGAGIERT_REQUIRE_REDIS") == "1"


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def hits(limiter, key: str, n: int) -> list[Verdict]:  # type: ignore[no-untyped-def]
    return [await limiter.hit(key) for _ in range(n)]


# -- in memory ----------------------------------------------------------------------------------


async def test_window_allows_the_limit_then_one_notice_then_silence() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(3, 60, clock=clock)
    assert (
        await hits(limiter, "a", 6)
        == [Verdict.ALLOWED] * 3 + [Verdict.NOTIFY] + [Verdict.SILENT] * 2
    )
    assert await limiter.hit("b") is Verdict.ALLOWED  # another person has their own window


async def test_window_slides_refusals_do_not_count_and_notice_once_a_window() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(2, 60, clock=clock)
    await limiter.hit("a")  # t=1000
    clock.now = 1030
    await limiter.hit("a")  # t=1030
    assert await limiter.hit("a") is Verdict.NOTIFY
    clock.now = 1059.9
    assert await limiter.hit("a") is Verdict.SILENT
    clock.now = 1060.0  # the first message has left the window: one place is free again
    assert await limiter.hit("a") is Verdict.ALLOWED
    assert await limiter.hit("a") is Verdict.SILENT  # still the notice's window
    clock.now = 1090.0  # t=1030 left; the notice's window (until 1090) is over too
    assert await limiter.hit("a") is Verdict.ALLOWED
    assert await limiter.hit("a") is Verdict.NOTIFY


async def test_idle_keys_are_forgotten() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(1, 60, clock=clock)
    for n in range(1000):
        await limiter.hit(f"person-{n}")
    await limiter.hit("person-0")  # refused: notice state kept
    clock.now += 121
    await limiter.hit("someone")
    assert set(limiter._hits) == {"someone"} and limiter._notified == {}


def test_settings_build_the_right_limiter(tmp_path) -> None:
    assert isinstance(build_rate_limiter(0, None), NoLimit)
    memory = build_rate_limiter(20, None)
    assert isinstance(memory, SlidingWindowLimiter) and memory.limit == 20
    shared = build_rate_limiter(5, REDIS_URL)
    assert isinstance(shared, RedisRateLimiter) and shared.limit == 5

    config = tmp_path / "config.yml"
    database = "database:\n  url: sqlite+aiosqlite:///x.sqlite3\n"
    config.write_text(database + "rate_limit:\n  messages_per_minute: 7\n")
    settings = load_settings(config, environ={"REDIS_URL": "redis://:pw-x9@cache:6379/0"})
    assert settings.rate_limit.messages_per_minute == 7
    assert settings.rate_limit.redis_url == "redis://:pw-x9@cache:6379/0"
    assert "pw-x9" not in repr(settings)  # a Redis URL may carry a password
    assert load_settings(environ={}).rate_limit.messages_per_minute == 20
    config.write_text(database + "rate_limit:\n  messages_per_minute: -1\n")
    with pytest.raises(ConfigError, match=r"rate_limit\.messages_per_minute"):
        load_settings(config, environ={})
    with pytest.raises(ConfigError, match="REDIS_URL"):
        load_settings(environ={"REDIS_URL": "http://cache"})


# -- Redis --------------------------------------------------------------------------------------


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The Redis test server (database 15); skipped where none runs, except in CI."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        message = f"Redis at {REDIS_URL} is not reachable ({type(exc).__name__}: {exc})"
        if REQUIRE_REDIS:
            pytest.fail(message + "; CI requires it")
        pytest.skip(message)
    finally:
        await client.aclose()
    yield REDIS_URL


def _redis_limiter(url: str, prefix: str, limit: int, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    if clock is None:
        return RedisRateLimiter(client, limit, 60, prefix=prefix)
    return RedisRateLimiter(client, limit, 60, prefix=prefix, clock=clock)


async def test_redis_window_behaves_like_the_memory_one(redis_url: str) -> None:
    clock = Clock(1_700_000_000.0)
    prefix = f"test:{uuid.uuid4().hex}:"
    limiter = _redis_limiter(redis_url, prefix, 2, clock)
    try:
        assert await hits(limiter, "a", 4) == [
            Verdict.ALLOWED,
            Verdict.ALLOWED,
            Verdict.NOTIFY,
            Verdict.SILENT,
        ]
        assert await limiter.hit("b") is Verdict.ALLOWED
        clock.now += 60.001  # both hits of "a" left the window
        assert await hits(limiter, "a", 2) == [Verdict.ALLOWED, Verdict.ALLOWED]
        ttl = await limiter._client.pttl(prefix + "a")
        assert 0 < ttl <= 60_000  # nothing stays in Redis longer than a window
    finally:
        await limiter._client.delete(prefix + "a", prefix + "a:notice", prefix + "b")
        await limiter.close()


async def test_two_processes_share_one_limit_and_notify_once(redis_url: str) -> None:
    """Two limiters with their own connections (as two bot processes would have) hit the same
    person's window at once: exactly the limit gets through and exactly one notice goes out."""
    prefix = f"test:{uuid.uuid4().hex}:"
    first = _redis_limiter(redis_url, prefix, 20)
    second = _redis_limiter(redis_url, prefix, 20)
    try:
        verdicts = await asyncio.gather(
            *(limiter.hit("telegram:111") for limiter in (first, second) for _ in range(30))
        )
        assert verdicts.count(Verdict.ALLOWED) == 20
        assert verdicts.count(Verdict.NOTIFY) == 1
        assert verdicts.count(Verdict.SILENT) == 39
    finally:
        await first._client.delete(prefix + "telegram:111", prefix + "telegram:111:notice")
        await first.close()
        await second.close()


async def test_unreachable_redis_lets_messages_through_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    limiter = RedisRateLimiter.from_url(f"redis://127.0.0.1:{port}/0", 1)
    try:
        with caplog.at_level(logging.WARNING):
            assert await hits(limiter, "a", 3) == [Verdict.ALLOWED] * 3
    finally:
        await limiter.close()
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1


# -- the middleware -----------------------------------------------------------------------------


@pytest.fixture
def limited(core: Core):  # type: ignore[no-untyped-def]
    """A dispatcher with a limit of 3 a minute on a clock the test moves."""
    clock = Clock()
    dispatcher = build_dispatcher(core, core.advisor_desk())
    settings = core.settings
    limiter = SlidingWindowLimiter(3, 60, clock=clock)
    middleware = RateLimitMiddleware(
        limiter,
        core.catalogs,
        settings.languages,
        settings.fallback_language,
    )
    register_rate_limit(dispatcher, middleware)
    return dispatcher, clock, limiter


def _texts(bot: MockedBot, chat_id: int) -> list[str]:
    return [r.text for r in bot.session.of_type("SendMessage") if r.chat_id == chat_id]


async def test_a_flood_gets_one_notice_in_the_persons_language(core: Core, limited) -> None:  # type: ignore[no-untyped-def]
    dispatcher, clock, _limiter = limited
    bot = MockedBot()
    german = user(222, "de")
    for text in ("/start", "hallo", "wie geht es", "4", "5", "6"):
        await dispatcher.feed_update(bot, message_update(text, from_user=german))
    texts = _texts(bot, 222)
    notice = core.catalogs.get("de")("rate_limit.notice")
    assert len(texts) == 4  # three answers, then the notice, then silence
    assert texts[-1] == notice and "Sie" in notice and notice not in texts[:-1]

    clock.now += 61  # a minute later the person is answered again
    await dispatcher.feed_update(bot, message_update("/menu", from_user=german))
    assert len(_texts(bot, 222)) == 5 and _texts(bot, 222)[-1] != notice


async def test_refused_presses_stop_the_spinner_and_the_first_shows_the_notice(
    core: Core,
    limited,  # type: ignore[no-untyped-def]
) -> None:
    dispatcher, _clock, _limiter = limited
    bot = MockedBot()
    person = user(333, "en")
    for _ in range(3):
        await dispatcher.feed_update(bot, press_update("menu", from_user=person))
    bot.session.requests.clear()
    await dispatcher.feed_update(bot, press_update("menu", from_user=person))
    await dispatcher.feed_update(bot, press_update("menu", from_user=person))
    answers = [r for r in bot.session.requests if isinstance(r, AnswerCallbackQuery)]
    assert [a.show_alert for a in answers] == [True, None]
    assert answers[0].text == core.catalogs.get("en")("rate_limit.notice")
    assert not any(isinstance(r, SendMessage) for r in bot.session.requests)


async def test_the_advisors_group_is_not_limited(core: Core, limited) -> None:  # type: ignore[no-untyped-def]
    dispatcher, _clock, limiter = limited
    bot = MockedBot()
    advisor = user(900, "de", first_name="Lena")
    for _ in range(6):
        await dispatcher.feed_update(bot, group_message_update("/leads", -100, from_user=advisor))
    assert limiter._hits == {}  # never counted, so never refused
    notice = core.catalogs.get("de")("rate_limit.notice")
    assert all(r.text != notice for r in bot.session.of_type("SendMessage"))
