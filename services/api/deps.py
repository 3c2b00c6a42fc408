"""Request dependencies: the database session, who is calling, and CSRF.

Two ways in: a personal API token (`Authorization: Bearer wm_...`, for scripts; no CSRF, since
browsers never send it on their own; a read-only token may only read) or the signed session
cookie, whose session id must name a live server-side session (services/api/sessions.py; the
web pages; every unsafe request must carry the session's CSRF token, as a form field or the
X-CSRF-Token header)."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated, Optional

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.datastructures import FormData

from services.api.errors import LoginRequired
from services.api.sessions import principal_for_session
from services.api.tokens import check_api_token
from services.errors import Forbidden, Invalid, Unauthorized
from services.store.db import get_engine
from services.store.models import Organisation, Principal

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_ID = "sid"  # the cookie's key for the server-side session id


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
    """Whom the cookie's session belongs to, if that session is still live in the store. A dead
    session id (signed out, revoked, expired, idle) is dropped from the cookie."""
    sid = request.session.get(SESSION_ID)
    if not isinstance(sid, str):
        return None
    principal = principal_for_session(session=db, token=sid)
    if principal is None:
        request.session.pop(SESSION_ID, None)
    return principal


def api_principal(request: Request, db: DbDep, bearer: BearerDep) -> Principal:
    """REST callers: a personal API token, or the web session plus its CSRF token (header)."""
    if request.headers.get("authorization"):
        token = bearer.credentials.strip() if bearer else ""
        found = check_api_token(session=db, token=token)
        if found.principal is None:
            raise Unauthorized(found.refusal, "Authorization")
        if found.read_only and request.method not in SAFE_METHODS:
            raise Forbidden("this API token is read-only: it may only read (GET); changes need a read-write "
                            "token", "Authorization")
        return found.principal
    principal = session_principal(request, db)
    if principal is None:
        raise Unauthorized("authentication required: send 'Authorization: Bearer <personal API token>'",
                           "Authorization")
    if request.method not in SAFE_METHODS:
        expected, given = request.session.get("csrf") or "", request.headers.get(CSRF_HEADER) or ""
        if not expected or not secrets.compare_digest(given, expected):
            raise Forbidden("missing or wrong X-CSRF-Token header (needed with a session cookie)", CSRF_HEADER)
    return principal


def session_api_principal(request: Request, db: DbDep, bearer: BearerDep) -> Principal:
    """REST callers signed in on the web only (with the CSRF header): what a token may not do, such
    as minting more tokens."""
    if request.headers.get("authorization"):
        raise Forbidden("an API token cannot create API tokens: create one in Settings while signed in, "
                        "or with `workmode tokens create` on the server", "Authorization")
    return api_principal(request, db, bearer)


def web_user(request: Request, db: DbDep) -> Principal:
    principal = session_principal(request, db)
    if principal is None:
        raise LoginRequired()
    return principal


ApiUser = Annotated[Principal, Depends(api_principal)]
SessionApiUser = Annotated[Principal, Depends(session_api_principal)]
WebUser = Annotated[Principal, Depends(web_user)]


def org_of(db: Session, principal: Principal) -> Organisation:
    return db.get_one(Organisation, principal.org_id)
