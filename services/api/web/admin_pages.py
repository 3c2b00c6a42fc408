"""Admin pages (role "admin" only; anyone else gets 403): people (add, role, deactivate), the
organisation's policy, and the audit trail with filters. Each change goes through services/admin,
which writes its audit row."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from services import audit
from services.admin import people, settings
from services.api.deps import DbDep, FormDep, WebUser, check_csrf, org_of
from services.api.web.templating import flash, page
from services.errors import Forbidden, Invalid, WorkmodeError
from services.store.models import Principal

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
AUDIT_PAGE = 100


def _admin(me: Principal) -> Principal:
    if not people.is_admin(me):
        raise Forbidden("only an organisation admin may open the admin pages", "role")
    return me


def _people_page(request: Request, db: Session, me: Principal, *, error: str = "", status: int = 200) -> Response:
    org = org_of(db, me)
    return page(request, "admin_people.html", {
        "org": org, "people": people.list_people(session=db, org=org), "role_of": people.role_of,
        "roles": people.ROLES, "error": error}, status=status, user=me)


@router.get("/admin")
def admin_home(me: WebUser) -> Response:
    _admin(me)
    return RedirectResponse("/admin/people", status_code=303)


@router.get("/admin/people")
def people_page(request: Request, me: WebUser, db: DbDep) -> Response:
    return _people_page(request, db, _admin(me))


@router.post("/admin/people")
def add_person(request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    _admin(me)
    try:
        p = people.add_person(session=db, org=org_of(db, me), email=str(form.get("email") or ""), by=me,
                              name=str(form.get("name") or ""), tz=str(form.get("tz") or "UTC"),
                              role=str(form.get("role") or "member"), slack_id=str(form.get("slack_id") or "") or None)
    except WorkmodeError as exc:
        db.rollback()
        return _people_page(request, db, me, error=str(exc), status=400 if isinstance(exc, Invalid) else 409)
    db.commit()
    flash(request, f"Added {p.email}.")
    return RedirectResponse("/admin/people", status_code=303)


@router.post("/admin/people/{email}/role")
def set_role(email: str, request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    _admin(me)
    target = people.person(session=db, email=email, org_id=me.org_id)
    try:
        people.set_role(session=db, target=target, role=str(form.get("role") or ""), by=me)
    except WorkmodeError as exc:
        db.rollback()
        flash(request, str(exc), "error")
        return RedirectResponse("/admin/people", status_code=303)
    db.commit()
    flash(request, f"{target.email} is now {people.role_of(target)}.")
    return RedirectResponse("/admin/people", status_code=303)


@router.post("/admin/people/{email}/deactivate")
def deactivate(email: str, request: Request, me: WebUser, db: DbDep) -> Response:
    _admin(me)
    target = people.person(session=db, email=email, org_id=me.org_id)
    try:
        d = people.deactivate(session=db, target=target, by=me)
    except WorkmodeError as exc:
        db.rollback()
        flash(request, str(exc), "error")
        return RedirectResponse("/admin/people", status_code=303)
    db.commit()
    flash(request, f"Deactivated {target.email}: {d.sessions} session(s), {d.tokens} token(s) revoked; "
                   f"{d.schedules} schedule(s) paused; {d.reassigned} approval(s) handed on, {d.expired} expired.")
    return RedirectResponse("/admin/people", status_code=303)


def _policy_page(request: Request, db: Session, me: Principal, *, error: str = "", status: int = 200) -> Response:
    org = org_of(db, me)
    return page(request, "admin_policy.html", {
        "org": org, "policy": settings.show(org), "write_tools": sorted(settings.write_tools()),
        "families": sorted(set(settings.FAMILIES.values())), "error": error}, status=status, user=me)


@router.get("/admin/policy")
def policy_page(request: Request, me: WebUser, db: DbDep) -> Response:
    return _policy_page(request, db, _admin(me))


@router.post("/admin/policy")
def change_policy(request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    _admin(me)
    try:
        changes = _policy_form(form)
        settings.update_policy(session=db, org=org_of(db, me), changes=changes, by=me)
    except WorkmodeError as exc:
        db.rollback()
        return _policy_page(request, db, me, error=str(exc), status=400)
    db.commit()
    flash(request, "Policy saved.")
    return RedirectResponse("/admin/policy", status_code=303)


def _policy_form(form: Any) -> dict[str, Any]:
    def words(name: str) -> list[str]:
        return [w for w in str(form.get(name) or "").replace(",", " ").split() if w]

    def seconds(name: str) -> Optional[int]:
        text = str(form.get(name) or "").strip()
        return settings.parse_duration(text, name) if text else None

    changes: dict[str, Any] = {
        "approvers": words("approvers"),
        "auto_approve": form.getlist("auto_approve"),
        "connectors": {fam: str(form.get(f"connector_{fam}") or "sandbox")
                       for fam in sorted(set(settings.FAMILIES.values()))},
        "egress": {"allowed_domains": words("allowed_domains"), "mode": str(form.get("egress_mode") or "flag")},
        "approval_ttl_s": seconds("approval_ttl"),
        "reminders": {"after_s": seconds("remind_after"), "before_expiry_s": seconds("remind_before_expiry"),
                      "summary_hour": _hour(form.get("summary_hour"))},
        "reasoning_effort": str(form.get("reasoning_effort") or "") or None,
        "jit_sign_in": form.get("jit_sign_in") == "on",
    }
    return changes


def _when(text: Optional[str], field: str) -> Optional[datetime]:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{field}: a date like 2026-01-31", field) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@router.get("/admin/audit")
def audit_page(request: Request, me: WebUser, db: DbDep, since: str = "", until: str = "", kind: str = "",
               actor: str = "", job_id: str = "", offset: int = 0) -> Response:
    _admin(me)
    rows = audit.query(db, org_id=me.org_id, since=_when(since, "since"), until=_when(until, "until"),
                       kind=kind[:64] or None, actor_email=actor[:320] or None, job_id=job_id[:64] or None,
                       limit=AUDIT_PAGE, offset=max(0, offset))
    return page(request, "admin_audit.html", {
        "rows": rows, "filters": {"since": since, "until": until, "kind": kind, "actor": actor, "job_id": job_id},
        "offset": max(0, offset), "page_size": AUDIT_PAGE}, user=me)


def _hour(value: Any) -> Optional[int]:
    """The daily summary's hour from the form: blank is no summary; anything else is checked by
    the policy (0-23)."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise Invalid("reminders: summary_hour is an hour from 0 to 23, or empty for no daily summary",
                      "reminders") from None
