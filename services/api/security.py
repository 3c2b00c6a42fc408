"""Security headers on every response (and HSTS in production), NUL characters refused, and the
production-only gates for /metrics and the OpenAPI schema. The Content-Security-Policy allows
scripts and styles from this origin only: no inline scripts, no inline styles, no remote images,
no plugins, no framing. Whatever an email contains, the browser will not run or fetch it."""
from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.config import Settings

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])

HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """`hsts`: also Strict-Transport-Security (production, where the site is served over https)."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.headers = [*HEADERS, HSTS] if hsts else HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.headers if k not in present]
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class RejectNul:
    """A NUL character in the path or query is never meaningful here (and PostgreSQL cannot store
    it): answer 400 naming the part at fault, before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            from urllib.parse import unquote_to_bytes

            where = ("path" if "\x00" in scope.get("path", "") else
                     "query" if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")) else None)
            if where:
                from starlette.responses import JSONResponse

                from services.api.errors import body

                response = JSONResponse(body(400, f"{where}: contains a NUL character", where), status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)



def metrics_guard(settings: Settings) -> Callable[[Request], None]:
    """A dependency for GET /metrics. With WORKMODE_METRICS_TOKEN set, a scrape must send
    `Authorization: Bearer <token>` (Prometheus: `authorization: {credentials_file: ...}`). Without
    it, /metrics is open in development and test, and absent (404) in production."""
    token = settings.metrics_token.get_secret_value()
    production = settings.environment == "production"

    def guard(request: Request) -> None:
        if not token:
            if production:
                raise HTTPException(404, "Not Found")
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), token.encode()):
            raise HTTPException(401, "GET /metrics needs 'Authorization: Bearer <WORKMODE_METRICS_TOKEN>'",
                                headers={"WWW-Authenticate": "Bearer"})

    return guard
