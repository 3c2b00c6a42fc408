"""Rate limits, counted by the `limits` library in Redis (shared by every API process) or, on the
embedded defaults, in this process's memory. Moving windows; a request over a limit gets 429 with
Retry-After (whole seconds until a slot frees up).

Per IP (the ASGI middleware `RateLimit`, before any route runs):
- sign-in: the sign-in link page and its use, the OIDC start and callback (`rate_limit_sign_in`);
- bad API tokens: a request that carries an Authorization header and is answered 401 counts one
  failure; once the IP has used up `rate_limit_auth_failures`, its requests with an Authorization
  header are refused before the token is looked up;
- the Slack endpoint (`rate_limit_slack`) and the REST API under /api/ (`rate_limit_api_ip`).
Per principal: the REST API (`limit_principal`, a dependency of the /api/ routers, after
authentication: `rate_limit_api`).

The client's IP is the ASGI client address (uvicorn runs with proxy_headers, so behind a trusted
proxy it is the forwarded one). When the store cannot be reached the request is let through and
a warning logged: a Redis outage must not take the API down with it."""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Optional, TypeVar

from anyio import to_thread
from fastapi import Request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.deps import ApiUser
from services.api.errors import body
from services.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

SIGN_IN_PATHS = ("/login/link", "/login/oidc", "/auth/callback")


class RateLimits:
    """The configured limits and where they are counted. `hit` and `exhausted` answer None when
    the request may go on, else the seconds to wait."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits
        url = settings.rate_limit_storage_url or (
            settings.broker_url if settings.broker_url.startswith(("redis://", "rediss://")) else "")
        storage = storage_from_string(url) if url else MemoryStorage()
        if not isinstance(storage, Storage):
            raise ValueError("WORKMODE_RATE_LIMIT_STORAGE_URL: use redis://… (not an async+ storage)")
        self.storage = storage
        self.where = "redis" if url else "memory"
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.rules: dict[str, list[RateLimitItem]] = {
            "sign_in": _parse(settings.rate_limit_sign_in, "rate_limit_sign_in"),
            "auth_failures": _parse(settings.rate_limit_auth_failures, "rate_limit_auth_failures"),
            "slack": _parse(settings.rate_limit_slack, "rate_limit_slack"),
            "api_ip": _parse(settings.rate_limit_api_ip, "rate_limit_api_ip"),
            "api": _parse(settings.rate_limit_api, "rate_limit_api"),
        }

    async def hit(self, rule: str, key: str) -> Optional[int]:
        """Count one request against every limit of `rule` for `key`."""
        return await self._run(lambda: self._check(rule, key, consume=True))

    async def exhausted(self, rule: str, key: str) -> Optional[int]:
        """Whether `key` has used up a limit of `rule` (counts nothing)."""
        return await self._run(lambda: self._check(rule, key, consume=False))

    async def _run(self, fn: Callable[[], Optional[int]]) -> Optional[int]:
        if not self.enabled:
            return None
        try:  # Redis is network I/O: off the event loop. Memory is a dict lookup: in place.
            return await to_thread.run_sync(fn) if self.where == "redis" else fn()
        except Exception as exc:  # an unreachable store lets the request through; said in the log
            log.warning("rate limits: the %s store failed (%s); request let through", self.where, type(exc).__name__)
            return None

    def _check(self, rule: str, key: str, *, consume: bool) -> Optional[int]:
        for item in self.rules[rule]:
            ok = self.limiter.hit(item, rule, key) if consume else self.limiter.test(item, rule, key)
            if not ok:
                reset = self.limiter.get_window_stats(item, rule, key).reset_time
                return max(1, math.ceil(reset - time.time()))
        return None


def _parse(text: str, name: str) -> list[RateLimitItem]:
    text = text.strip()
    if not text:
        return []
    try:
        return list(parse_many(text))
    except ValueError:
        raise ValueError(f"WORKMODE_{name.upper()}: not a rate limit such as '10/minute' or '10/minute;100/hour'"
                         ) from None


def too_many(what: str, retry_after: int) -> JSONResponse:
    return JSONResponse(body(429, f"too many {what}: try again in {retry_after} s"), status_code=429,
                        headers={"Retry-After": str(retry_after)})


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def ip_rule(path: str) -> Optional[tuple[str, str]]:
    """(rule, what it limits) for a path, or None."""
    if path == "/slack/events":
        return "slack", "Slack requests"
    if any(path == p or path.startswith(p + "/") for p in SIGN_IN_PATHS):
        return "sign_in", "sign-in attempts"
    if path.startswith("/api/"):
        return "api_ip", "API requests from this address"
    return None


class RateLimit:
    """The per-IP limits (see the module's docstring), as ASGI middleware."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limits.enabled:
            await self.app(scope, receive, send)
            return
        ip = client_ip(scope)
        rule = ip_rule(scope.get("path", ""))
        if rule is not None:
            wait = await self.limits.hit(rule[0], ip)
            if wait is not None:
                await too_many(rule[1], wait)(scope, receive, send)
                return
        has_token = any(k.lower() == b"authorization" for k, _ in scope.get("headers", []))
        if has_token:
            wait = await self.limits.exhausted("auth_failures", ip)
            if wait is not None:
                await too_many("failed authentications from this address", wait)(scope, receive, send)
                return
        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if has_token and status and status[0] == 401:
            await self.limits.hit("auth_failures", ip)


class TooManyRequests(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


async def limit_principal(request: Request, me: ApiUser) -> None:
    """Router dependency: count the request against the caller's own API limit."""
    limits: Optional[RateLimits] = getattr(request.app.state, "rate_limits", None)
    if limits is None:
        return
    wait = await limits.hit("api", me.id)
    if wait is not None:
        raise TooManyRequests(wait)


def install(app) -> RateLimits:
    """Handler for TooManyRequests; returns the app's RateLimits (also on app.state)."""
    from services.config import get_settings

    limits = RateLimits(get_settings())
    app.state.rate_limits = limits

    async def _too_many(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, TooManyRequests)
        return too_many("API requests", exc.retry_after)

    app.add_exception_handler(TooManyRequests, _too_many)
    return limits
