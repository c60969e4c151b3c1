"""Per-person rate limit: a sliding window of messages a minute, with one friendly notice.

A person (or a script using their account) who sends faster than the limit is told once, in
their language, to slow down; further messages inside the same window are dropped without an
answer, so the bot never answers a flood with a flood. The in-memory limiter serves one process;
the Redis limiter shares the window between several bot processes behind one webhook. Both are
transport-free: the key is whatever the channel names a person by ("telegram:111").
"""

from __future__ import annotations

import enum
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
REDIS_PREFIX = "engagiert:rate:"


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    NOTIFY = "notify"  # the first refusal in a window: tell the person once
    SILENT = "silent"  # refused again in the same window: drop without an answer

    @property
    def allowed(self) -> bool:
        return self is Verdict.ALLOWED


class RateLimiter(Protocol):
    async def hit(self, key: str) -> Verdict: ...

    async def close(self) -> None: ...


class NoLimit:
    """`rate_limit.messages_per_minute: 0`: every message is allowed."""

    async def hit(self, key: str) -> Verdict:
        return Verdict.ALLOWED

    async def close(self) -> None:
        return None


class SlidingWindowLimiter:
    """At most `limit` allowed hits per key in any `window` seconds, in this process's memory.

    Refused hits are not counted, so a person is let in again as soon as their oldest message
    leaves the window. One notice per key and window: a flood gets one answer, not one per
    message. Keys whose window is empty are forgotten, so memory follows the active persons.
    """

    def __init__(
        self,
        limit: int,
        window: float = WINDOW_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._notified: dict[str, float] = {}  # key -> when the notice may be sent again
        self._next_sweep = 0.0

    async def hit(self, key: str) -> Verdict:
        now = self._clock()
        self._sweep(now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < self.limit:
            hits.append(now)
            return Verdict.ALLOWED
        if self._notified.get(key, 0.0) > now:
            return Verdict.SILENT
        self._notified[key] = now + self.window
        return Verdict.NOTIFY

    def _sweep(self, now: float) -> None:
        """Drops idle keys once a window, so a million one-time senders cost nothing later."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.window
        cutoff = now - self.window
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= cutoff]:
            del self._hits[key]
        for key in [k for k, until in self._notified.items() if until <= now]:
            del self._notified[key]

    async def close(self) -> None:
        return None


# One round trip, atomic across processes: trim the window, count, then admit or refuse; a
# refusal sets the notice flag only if it is not set (SET NX), so exactly one process notifies.
_HIT_SCRIPT = """
local hits, notice = KEYS[1], KEYS[2]
local now, window, limit, member = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local window_ms = math.ceil(window * 1000)
redis.call('ZREMRANGEBYSCORE', hits, '-inf', now - window)
if redis.call('ZCARD', hits) < limit then
  redis.call('ZADD', hits, now, member)
  redis.call('PEXPIRE', hits, window_ms)
  return 'allowed'
end
if redis.call('SET', notice, '1', 'NX', 'PX', window_ms) then
  return 'notify'
end
return 'silent'
"""


class RedisRateLimiter:
    """The same sliding window in Redis, shared by every bot process that uses the same server.

    Time comes from the process's clock (the servers of one deployment keep NTP time; a few
    milliseconds of skew do not matter for a one-minute window). If Redis cannot be reached the
    message is allowed and a warning logged: a broken limiter must not silence the bot.
    """

    def __init__(
        self,
        client: Any,
        limit: int,
        window: float = WINDOW_SECONDS,
        *,
        prefix: str = REDIS_PREFIX,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._client = client
        self._prefix = prefix
        self._clock = clock
        self._script = client.register_script(_HIT_SCRIPT)
        self._warned_at = float("-inf")

    @classmethod
    def from_url(cls, url: str, limit: int, window: float = WINDOW_SECONDS) -> RedisRateLimiter:
        from redis.asyncio import Redis

        client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return cls(client, limit, window)

    async def hit(self, key: str) -> Verdict:
        from redis.exceptions import RedisError

        base = self._prefix + key
        try:
            result = await self._script(
                keys=[base, base + ":notice"],
                args=[self._clock(), self.window, self.limit, uuid.uuid4().hex],
            )
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return Verdict.ALLOWED
        return Verdict(result.decode() if isinstance(result, bytes) else str(result))

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 60:  # once a minute, not once a message
            self._warned_at = now
            log.warning("rate limit: Redis unavailable (%s); messages are let through", exc)

    async def close(self) -> None:
        await self._client.aclose()


def build_rate_limiter(messages_per_minute: int, redis_url: str | None) -> RateLimiter:
    """From the settings: no limit, one process's memory, or Redis shared by all processes."""
    if messages_per_minute <= 0:
        return NoLimit()
    if redis_url:
        return RedisRateLimiter.from_url(redis_url, messages_per_minute)
    return SlidingWindowLimiter(messages_per_minute)
