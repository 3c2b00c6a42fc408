"""Signing in and out. Production: OpenID Connect (see oidc.py). Development: a one-time link
from `workmode login-link <email>`; opening it shows a button, and only the POST uses the link up
(so a mail scanner or link preview that fetches it does not spend it).

Signing in starts a server-side session (services/api/sessions.py); signing out revokes it, so a
copy of the cookie stops working too."""
from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from services import audit
from services.api.deps import SESSION_ID, DbDep, FormDep, check_csrf, session_principal
from services.api.sessions import end_session, start_session
from services.api.tokens import login_links_enabled, peek_login_link, use_login_link
from services.api.web.templating import page
from services.config import get_settings
from services.store.db import get_engine
from services.store.models import Principal

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)


def safe_next(target: object) -> str:
    """Only paths on this site: never a redirect to somewhere else."""
    if isinstance(target, str) and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def sign_in(request: Request, principal: Principal, via: str = "link") -> None:
    """A fresh session (a new server-side session and a new CSRF token), so nothing from before
    sign-in carries over. Commits the session row itself, with its audit row (callers need not hold a
    database session)."""
    with Session(get_engine(), expire_on_commit=False) as db:
        row, sid = start_session(session=db, principal=principal, user_agent=request.headers.get("user-agent", ""))
        audit.record(db, org_id=principal.org_id, kind="signed_in", actor=principal, subject=principal.email,
                     via=via, session_id=row.id)
        db.commit()
    request.session.clear()
    request.session.update({SESSION_ID: sid, "csrf": secrets.token_urlsafe(32)})


@router.get("/login")
def login_page(request: Request, db: DbDep, next: str = "/") -> Response:
    if session_principal(request, db) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    s = get_settings()
    return page(request, "login.html", {"oidc": bool(s.oidc_issuer), "oidc_issuer": s.oidc_issuer,
                                        "links": login_links_enabled(), "next": safe_next(next)})


@router.get("/login/link/{token}")
def link_page(token: str, request: Request, db: DbDep) -> Response:
    who = peek_login_link(session=db, token=token)
    return page(request, "login_link.html", {"who": who, "token": token}, status=200 if who else 410)


@router.post("/login/link")
def link_use(request: Request, db: DbDep, form: FormDep) -> Response:
    token = form.get("token")
    who = use_login_link(session=db, token=token) if isinstance(token, str) else None
    if who is None:
        return page(request, "login_link.html", {"who": None, "token": ""}, status=410)
    db.commit()
    sign_in(request, who)
    return RedirectResponse("/queue", status_code=303)


@router.post("/logout")
def logout(request: Request, db: DbDep) -> Response:
    sid = request.session.get(SESSION_ID)
    if isinstance(sid, str):
        end_session(session=db, token=sid)
        db.commit()
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
