"""Request dependencies: the database session, who is calling, and CSRF.

Two ways in: a personal API token (`Authorization: Bearer wm_...`, for scripts; no CSRF, since
browsers never send it on their own) or the signed session cookie (the web pages; every unsafe
request must carry the session's CSRF token, as a form field or the X-CSRF-Token header)."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated, Optional

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.datastructures import FormData

from services.api.errors import LoginRequired
from services.api.tokens import principal_for_api_token
from services.errors import Forbidden, Invalid, Unauthorized
from services.store.db import get_engine
from services.store.models import Organisation, Principal

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def get_db() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


DbDep = Annotated[Session, Depends(get_db)]


# ------------------------------------------------------------------ CSRF
def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def read_form(request: Request) -> FormData:
    if request.headers.get("content-type", "").split(";")[0].strip() not in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        return FormData()
    form = await request.form()
    for name, value in form.multi_items():
        if isinstance(value, str) and "\x00" in value:
            raise Invalid(f"{name}: contains a NUL character", name)
    return form


FormDep = Annotated[FormData, Depends(read_form)]


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request whose CSRF token does not match the session's."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER) or (await read_form(request)).get(CSRF_FIELD)
    if not expected or not isinstance(given, str) or not secrets.compare_digest(given, expected):
        raise Forbidden("missing or wrong CSRF token: reload the page and try again", CSRF_FIELD)


# ------------------------------------------------------------------ who is calling
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="PersonalApiToken",
                           description="A personal API token "
                                       "(Settings → Personal API tokens, or `workmode tokens create`)")
BearerDep = Annotated[Optional[HTTPAuthorizationCredentials], Depends(bearer_scheme)]


def session_principal(request: Request, db: Session) -> Optional[Principal]:
    pid = request.session.get("pid")
    return db.get(Principal, pid) if isinstance(pid, str) else None


def api_principal(request: Request, db: DbDep, bearer: BearerDep) -> Principal:
    """REST callers: a personal API token, or the web session plus its CSRF token (header)."""
    if request.headers.get("authorization"):
        token = bearer.credentials.strip() if bearer else ""
        found = principal_for_api_token(session=db, token=token)
        if found is None:
            raise Unauthorized("invalid or revoked API token", "Authorization")
        return found
    principal = session_principal(request, db)
    if principal is None:
        raise Unauthorized("authentication required: send 'Authorization: Bearer <personal API token>'",
                           "Authorization")
    if request.method not in SAFE_METHODS:
        expected, given = request.session.get("csrf") or "", request.headers.get(CSRF_HEADER) or ""
        if not expected or not secrets.compare_digest(given, expected):
            raise Forbidden("missing or wrong X-CSRF-Token header (needed with a session cookie)", CSRF_HEADER)
    return principal


def web_user(request: Request, db: DbDep) -> Principal:
    principal = session_principal(request, db)
    if principal is None:
        raise LoginRequired()
    return principal


ApiUser = Annotated[Principal, Depends(api_principal)]
WebUser = Annotated[Principal, Depends(web_user)]


def org_of(db: Session, principal: Principal) -> Organisation:
    return db.get_one(Organisation, principal.org_id)
