"""Settings: connected accounts (disconnect), schedules, who approves, personal API tokens,
signed-in browsers ("sign out everywhere")."""
from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from services.api.deps import SESSION_ID, DbDep, FormDep, WebUser, check_csrf, org_of
from services.api.sessions import live_sessions, revoke_sessions
from services.api.tokens import (
    TOKEN_SCOPES,
    InvalidTokenOption,
    TokenError,
    create_api_token,
    digest,
    list_api_tokens,
    revoke_api_token,
)
from services.api.web.templating import flash, page
from services.config import get_settings
from services.credentials import google_oauth
from services.credentials import service as credentials
from services.policy import auto_approved, is_approver
from services.store.models import Principal, Schedule

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)


def _settings(request: Request, db: Session, me: Principal, *, new_token: Optional[str] = None,
              error: str = "", status: int = 200) -> Response:
    org = org_of(db, me)
    people = list(db.exec(select(Principal).where(Principal.org_id == org.id).order_by(col(Principal.email))))
    approvers = [p for p in people if is_approver(org, p)]
    sid = request.session.get(SESSION_ID)
    s = get_settings()
    return page(request, "settings.html", {
        "org": org, "approvers": approvers,
        "accounts": credentials.connections(session=db, principal_id=me.id),
        "schedules": list(db.exec(select(Schedule).where(Schedule.principal_id == me.id))),
        "tokens": list_api_tokens(session=db, principal=me), "new_token": new_token, "error": error,
        "token_scopes": TOKEN_SCOPES, "token_default_days": s.api_token_default_days,
        "token_max_days": s.api_token_max_days,
        "sessions": live_sessions(session=db, principal=me),
        "this_session": digest(sid) if isinstance(sid, str) else "",
        "auto_approve": auto_approved(org)}, status=status, user=me)


@router.get("/settings")
def settings(request: Request, me: WebUser, db: DbDep) -> Response:
    return _settings(request, db, me)


@router.post("/settings/tokens")
def new_token(request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    days = str(form.get("expires_days") or "").strip()
    try:
        if days and not days.isdigit():
            raise InvalidTokenOption("expires_days: a whole number of days", field="expires_days")
        _, token = create_api_token(session=db, principal=me, name=str(form.get("name") or ""),
                                    expires_days=int(days) if days else None,
                                    scope=str(form.get("scope") or "read-write"))
    except TokenError as exc:
        return _settings(request, db, me, error=str(exc), status=400)
    db.commit()
    return _settings(request, db, me, new_token=token)  # shown once, in this response only


@router.post("/settings/tokens/{token_id}/revoke")
def revoke(token_id: str, request: Request, me: WebUser, db: DbDep) -> Response:
    try:
        row = revoke_api_token(session=db, principal=me, token_id=token_id)
        db.commit()
        flash(request, f"Token “{row.name}” revoked.")
    except TokenError as exc:
        flash(request, str(exc), "error")
    return RedirectResponse("/settings", status_code=303)


@router.post("/settings/sessions/revoke-all")
def sign_out_everywhere(request: Request, me: WebUser, db: DbDep) -> Response:
    """End every session of mine, this browser's too: copies of any of my cookies stop working."""
    count = revoke_sessions(session=db, principal_id=me.id)
    db.commit()
    request.session.clear()
    flash(request, f"Signed out everywhere ({count} session{'' if count == 1 else 's'} ended).")
    return RedirectResponse("/login", status_code=303)


@router.post("/settings/accounts/{provider}/disconnect")
def disconnect(provider: str, request: Request, me: WebUser, db: DbDep) -> Response:
    if provider == "google":  # also revokes the grant at Google
        removed = google_oauth.disconnect(session=db, principal_id=me.id)
    else:
        removed = credentials.delete(session=db, principal_id=me.id, provider=provider)
    db.commit()
    if removed:
        flash(request, f"{provider} disconnected: jobs that need it will ask you to connect again.")
    else:
        flash(request, f"no {provider} account is connected", "error")
    return RedirectResponse("/settings", status_code=303)
