"""Errors as JSON that name the field at fault: {"error": {"status", "message", "field"}}.

Engine exceptions map to HTTP statuses here, once: bad input 400 (or 422 for a malformed body),
not signed in 401, not allowed 403, not found 404, someone decided first or the action changed
409. Web pages get the same errors rendered as a page."""
from __future__ import annotations

from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.approvals.service import ApprovalError, Conflict
from services.jobs.service import JobError, NotAllowed


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: Optional[str] = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


class LoginRequired(Exception):
    """A web page needs a signed-in person: send them to the sign-in page."""


def not_found(what: str, ident: str, field: str) -> ApiError:
    return ApiError(404, f"{what} {ident} not found", field)


def field_of(message: str) -> Optional[str]:
    """Engine messages start with the field they are about: 'prompt: too long'."""
    head, sep, _ = message.partition(":")
    return head.strip() if sep and head.strip().isidentifier() else None


def body(status: int, message: str, field: Optional[str] = None, **extra: Any) -> dict:
    return {"error": {"status": status, "message": message, "field": field, **extra}}


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def to_api_error(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Conflict):
        return ApiError(409, str(exc), "args_hash" if "changed" in str(exc) else None)
    if isinstance(exc, NotAllowed):
        return ApiError(403, str(exc))
    if isinstance(exc, ApprovalError):
        return ApiError(404 if "not found" in str(exc) else 400, str(exc), exc.field)
    if isinstance(exc, JobError):
        return ApiError(404 if "not found" in str(exc) else 400, str(exc), field_of(str(exc)))
    raise exc


def install(app: FastAPI) -> None:
    from services.api.web.templating import render_error

    def respond(request: Request, err: ApiError) -> Response:
        if wants_html(request):
            return render_error(request, err.status, err.message)
        return JSONResponse(body(err.status, err.message, err.field), status_code=err.status)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return respond(request, exc)

    for kind in (Conflict, NotAllowed, ApprovalError, JobError):
        app.add_exception_handler(kind, lambda request, exc: respond(request, to_api_error(exc)))

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return respond(request, ApiError(401, "sign in first"))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": _loc(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in exc.errors()]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        message = f"{first['field'] or 'request'}: {first['message']}"
        if wants_html(request):
            return render_error(request, 422, message)
        return JSONResponse(body(422, message, first["field"], errors=errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        err = ApiError(exc.status_code, str(exc.detail))
        response = respond(request, err)
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response


def _loc(loc: tuple) -> Optional[str]:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or (str(loc[-1]) if loc else None)
