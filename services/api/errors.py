"""Errors as JSON that name the field at fault: {"error": {"status", "message", "field"}}.

The HTTP status is chosen here, once, by the error's type (services.errors): NotFound 404,
Invalid 400 (422 for a body that does not match the schema), Unauthorized 401, Forbidden 403,
Conflict 409 (someone decided first, or the action changed), Unavailable 503. Web pages get the
same errors rendered as a page, by the renderer the app factory passes to `install`."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized, Unavailable, WorkmodeError

# First match wins: a type that is two kinds at once (none is today) gets the earlier status.
STATUS: tuple[tuple[type[WorkmodeError], int], ...] = (
    (NotFound, 404),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Conflict, 409),
    (Invalid, 400),
    (Unavailable, 503),
)

HtmlRenderer = Callable[[Request, int, str], Response]


class LoginRequired(Unauthorized):
    """A web page needs a signed-in person: send them to the sign-in page."""

    def __init__(self, message: str = "sign in first"):
        super().__init__(message)


def status_of(exc: WorkmodeError) -> Optional[int]:
    """The HTTP status for this kind of error; None for a kind that is not the caller's fault."""
    return next((status for kind, status in STATUS if isinstance(exc, kind)), None)


def body(status: int, message: str, field: Optional[str] = None, **extra: Any) -> dict:
    return {"error": {"status": status, "message": message, "field": field, **extra}}


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def install(app: FastAPI, render_html: Optional[HtmlRenderer] = None) -> None:
    """One handler for every WorkmodeError, plus FastAPI's own validation and HTTP errors.
    `render_html(request, status, message)` draws the error page for browsers (JSON without it)."""

    def respond(request: Request, status: int, message: str, field: Optional[str] = None, **extra: Any) -> Response:
        if render_html is not None and wants_html(request):
            return render_html(request, status, message)
        return JSONResponse(body(status, message, field, **extra), status_code=status)

    @app.exception_handler(WorkmodeError)
    async def _workmode(request: Request, exc: WorkmodeError) -> Response:
        status = status_of(exc)
        if status is None:
            raise exc  # not a refusal the caller can act on: a server error, as any other exception
        return respond(request, status, exc.message, exc.field)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return respond(request, 401, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": _loc(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in exc.errors()]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        message = f"{first['field'] or 'request'}: {first['message']}"
        return respond(request, 422, message, first["field"], errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        response = respond(request, exc.status_code, str(exc.detail))
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response


def _loc(loc: tuple) -> Optional[str]:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or (str(loc[-1]) if loc else None)
