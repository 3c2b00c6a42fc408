"""A global cap on concurrent model requests.

With a Redis broker every worker process shares one semaphore in Redis: a sorted set of holder
tokens scored by acquisition time (Redis server time). Acquiring is one atomic Lua script that
first drops holders older than the lease (model_timeout_s + 30 s), so a crashed worker cannot
leak a slot for longer than that, then adds the token if fewer than the limit are held.
Without Redis (embedded broker: one process) a threading.BoundedSemaphore does the same job.
Waiting for a slot polls and gives up after `model_slot_wait_s`, raising ModelUnavailable.
"""
from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from services.config import Settings, get_settings
from services.model.errors import ModelUnavailable

REDIS_KEY = "workmode:model:inflight"
LEASE_MARGIN_S = 30.0

_ACQUIRE_LUA = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local token = ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - lease)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, token)
  redis.call('EXPIRE', key, math.ceil(lease) + 60)
  return 1
end
return 0
"""


class Limiter:
    """Interface: `with limiter.slot(): ...` holds one slot for the duration of the block."""

    limit: int

    @contextmanager
    def slot(self) -> Iterator[None]:  # pragma: no cover - interface
        yield


class LocalLimiter(Limiter):
    def __init__(self, limit: int, wait_s: float):
        self.limit = max(1, int(limit))
        self.wait_s = wait_s
        self._sem = threading.BoundedSemaphore(self.limit)

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._sem.acquire(timeout=self.wait_s):
            raise ModelUnavailable(
                f"no model request slot free after {self.wait_s:.0f} s "
                f"({self.limit} requests already in flight)",
                retry_after=5.0,
            )
        try:
            yield
        finally:
            self._sem.release()


class RedisLimiter(Limiter):
    def __init__(self, url: str, limit: int, lease_s: float, wait_s: float,
                 key: str = REDIS_KEY, poll_s: float = 0.05):
        import redis

        self.limit = max(1, int(limit))
        self.lease_s = float(lease_s)
        self.wait_s = float(wait_s)
        self.key = key
        self.poll_s = poll_s
        self._redis = redis.Redis.from_url(url)
        self._acquire = self._redis.register_script(_ACQUIRE_LUA)

    def try_acquire(self, token: str) -> bool:
        return bool(self._acquire(keys=[self.key], args=[self.limit, self.lease_s, token]))

    def release(self, token: str) -> None:
        self._redis.zrem(self.key, token)

    def in_flight(self) -> int:
        return int(self._redis.zcard(self.key))

    @contextmanager
    def slot(self) -> Iterator[None]:
        import redis

        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.wait_s
        try:
            while not self.try_acquire(token):
                if time.monotonic() >= deadline:
                    raise ModelUnavailable(
                        f"no model request slot free after {self.wait_s:.0f} s "
                        f"({self.limit} requests already in flight)",
                        retry_after=5.0,
                    )
                time.sleep(self.poll_s * (0.5 + random.random()))
        except redis.RedisError as exc:
            raise ModelUnavailable(f"cannot reach Redis for the model concurrency limit: {type(exc).__name__}",
                                   retry_after=5.0) from None
        try:
            yield
        finally:
            with contextlib.suppress(redis.RedisError):  # the lease expires it
                self.release(token)


_lock = threading.Lock()
_limiters: dict[tuple, Limiter] = {}


def get_limiter(settings: Settings | None = None) -> Limiter:
    """The limiter for these settings (one per process and configuration)."""
    s = settings or get_settings()
    redis_based = s.broker_url.startswith("redis")
    lease = s.model_timeout_s + LEASE_MARGIN_S
    key = (redis_based, s.broker_url if redis_based else "", s.model_max_concurrency, lease, s.model_slot_wait_s)
    with _lock:
        limiter = _limiters.get(key)
        if limiter is None:
            if redis_based:
                limiter = RedisLimiter(s.broker_url, s.model_max_concurrency, lease, s.model_slot_wait_s)
            else:
                limiter = LocalLimiter(s.model_max_concurrency, s.model_slot_wait_s)
            _limiters[key] = limiter
        return limiter


def reset_limiters() -> None:
    with _lock:
        _limiters.clear()
