"""Security headers on every response. The Content-Security-Policy allows scripts and styles
from this origin only: no inline scripts, no inline styles, no remote images, no plugins, no
framing. Whatever an email contains, the browser will not run or fetch it."""
from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in present]
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
