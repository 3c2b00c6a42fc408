"""Settings: connected accounts (disconnect), schedules (add, pause, resume, remove), who approves, personal API tokens,
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
from services.errors import WorkmodeError
from services.policy import auto_approved, is_approver
from services.schedules import service as schedules
from services.store.models import Principal

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
        "schedules": schedules.list_schedules(session=db, principal=me),
        "schedule_kinds": schedules.KINDS, "schedule_deliveries": schedules.DELIVERIES,
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


@router.post("/settings/schedules")
def add_schedule(request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    try:
        sc = schedules.add_schedule(
            session=db, principal=me, kind=str(form.get("kind") or ""), when=str(form.get("when") or ""),
            prompt=str(form.get("prompt") or "") or None, tz=str(form.get("tz") or "") or None,
            delivery=[str(v) for v in form.getlist("deliver")] or None)
    except WorkmodeError as exc:
        db.rollback()
        return _settings(request, db, me, error=exc.message, status=400)
    db.commit()
    flash(request, f"Schedule added: {sc.kind} {sc.when_text}.")
    return RedirectResponse("/settings#schedules", status_code=303)


@router.post("/settings/schedules/{schedule_id}/{change}")
def change_schedule(schedule_id: str, change: str, request: Request, me: WebUser, db: DbDep) -> Response:
    do = {"pause": schedules.pause, "resume": schedules.resume, "remove": schedules.remove}.get(change)
    if do is None:
        flash(request, f"unknown change {change!r}", "error")
        return RedirectResponse("/settings#schedules", status_code=303)
    try:
        sc = do(session=db, principal=me, ref=schedule_id)
        db.commit()
        flash(request, f"Schedule {sc.kind} {sc.when_text}: {change}d.")
    except WorkmodeError as exc:
        db.rollback()
        flash(request, exc.message, "error")
    return RedirectResponse("/settings#schedules", status_code=303)
