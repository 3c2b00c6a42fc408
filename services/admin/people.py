"""Organisations and people: create, list, roles, deactivation. Keyword-only functions that take
the store session; the caller commits. `by` is who did it: a Principal (web, REST) or "cli"."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from services import audit, policy
from services.approvals.service import expire_now
from services.errors import Conflict, Invalid, NotFound
from services.identity import revoke_principal_access
from services.jobs import events
from services.store.models import Action, ActionStatus, Job, Organisation, Principal, Schedule, utcnow

ROLES = ("member", "approver", "admin")
By = Principal | str
EMAIL_RE = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
DOMAIN_RE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$")
SLACK_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")


def domain(value: str, field: str = "domain") -> str:
    d = (value or "").strip().lower().lstrip("@").rstrip(".")
    if not DOMAIN_RE.match(d):
        raise Invalid(f"{field}: {value!r} is not a domain name like example.com", field)
    return d


def is_admin(principal: Principal) -> bool:
    return principal.active and "admin" in (principal.roles or [])


# ---------------------------------------------------------------- organisations
def create_org(*, session: Session, name: str, domains: list[str], by: By, jit: bool = False) -> Organisation:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise Invalid("name: give the organisation a name (at most 200 characters)", "name")
    if org_by_name(session, name, missing_ok=True) is not None:
        raise Conflict(f"an organisation named {name!r} already exists")
    if not domains:
        raise Invalid("domain: give at least one domain (--domain example.com)", "domain")
    clean = sorted({domain(d) for d in domains})
    taken = {d for o in session.exec(select(Organisation)) for d in (o.domains or [])} & set(clean)
    if taken:
        raise Conflict(f"domain {', '.join(sorted(taken))} already belongs to another organisation")
    org = Organisation(name=name, domains=clean, policy={"jit_sign_in": True} if jit else {})
    session.add(org)
    session.flush()
    audit.record(session, org_id=org.id, kind="org_created", actor=by, subject=name, domains=clean, jit_sign_in=jit)
    return org


def org_by_name(session: Session, name: str, missing_ok: bool = False) -> Optional[Organisation]:
    found = session.exec(select(Organisation).where(Organisation.name == (name or "").strip())).first()
    if found is None and not missing_ok:
        raise NotFound("organisation", name, "org", message=f"no organisation named {name!r} (see `workmode org list`)")
    return found


def list_orgs(*, session: Session) -> list[tuple[Organisation, int]]:
    """Every organisation with how many active people it has."""
    orgs = list(session.exec(select(Organisation).order_by(col(Organisation.name))))
    return [(o, len(list(session.exec(select(Principal.id).where(Principal.org_id == o.id,
                                                                  col(Principal.active).is_(True))))))
            for o in orgs]


# ---------------------------------------------------------------- people
def add_person(*, session: Session, org: Organisation, email: str, by: By, name: str = "", tz: str = "UTC",
               role: str = "member", slack_id: Optional[str] = None, via: str = "admin") -> Principal:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise Invalid(f"email: {email!r} is not an email address", "email")
    if email.split("@", 1)[1] not in set(org.domains or []):
        raise Invalid(f"email: {email} is not in {org.name}'s domains ({', '.join(org.domains or [])})", "email")
    if session.exec(select(Principal).where(Principal.email == email)).first() is not None:
        raise Conflict(f"{email} is already a Workmode user")
    _role(role)
    try:
        ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"tz: {tz!r} is not an IANA time zone like Europe/London", "tz") from None
    if slack_id is not None and not SLACK_ID_RE.match(slack_id):
        raise Invalid(f"slack_id: {slack_id!r} is not a Slack user id like U0123ABC", "slack_id")
    if slack_id and session.exec(select(Principal).where(Principal.slack_user_id == slack_id)).first():
        raise Conflict(f"Slack user {slack_id} already belongs to another Workmode user")
    person = Principal(org_id=org.id, email=email, name=(name or "").strip()[:200], time_zone=tz or "UTC",
                       roles=[role], slack_user_id=slack_id)
    session.add(person)
    session.flush()
    audit.record(session, org_id=org.id, kind="person_added", actor=by, subject=email, role=role, via=via)
    return person


def person(*, session: Session, email: str, org_id: Optional[str] = None) -> Principal:
    """A person by email; with `org_id`, only within that organisation (else: not found)."""
    found = session.exec(select(Principal).where(Principal.email == (email or "").strip().lower())).first()
    if found is None or (org_id is not None and found.org_id != org_id):
        raise NotFound("user", email, "email", message=f"no Workmode user {email!r}")
    return found


def list_people(*, session: Session, org: Organisation, include_inactive: bool = True) -> list[Principal]:
    stmt = select(Principal).where(Principal.org_id == org.id).order_by(col(Principal.email))
    if not include_inactive:
        stmt = stmt.where(col(Principal.active).is_(True))
    return list(session.exec(stmt))


def role_of(principal: Principal) -> str:
    roles = set(principal.roles or [])
    return next((r for r in ("admin", "approver") if r in roles), "member")


def set_role(*, session: Session, target: Principal, role: str, by: By) -> Principal:
    _role(role)
    before = role_of(target)
    if before == "admin" and role != "admin":
        _keep_an_admin(session, target)
    target.roles = [role]
    session.add(target)
    session.flush()
    audit.record(session, org_id=target.org_id, kind="role_changed", actor=by, subject=target.email,
                 before=before, after=role)
    return target


@dataclass(frozen=True)
class Deactivated:
    person: Principal
    sessions: int
    tokens: int
    schedules: int
    reassigned: int
    expired: int


def deactivate(*, session: Session, target: Principal, by: By) -> Deactivated:
    """Sign them out everywhere (web sessions, API tokens), pause their schedules, and hand their
    pending approvals to the organisation's other approvers, or expire them when there are none;
    each approval gets a timeline event. Idempotent refusal: an inactive person is a Conflict."""
    if not target.active:
        raise Conflict(f"{target.email} is already deactivated")
    if role_of(target) == "admin":
        _keep_an_admin(session, target)
    org = session.get_one(Organisation, target.org_id)
    target.active, target.deactivated_at = False, utcnow()
    session.add(target)
    session.flush()
    revoked = revoke_principal_access(session, target.id)
    schedules = list(session.exec(select(Schedule).where(Schedule.principal_id == target.id,
                                                         col(Schedule.enabled).is_(True))))
    for sch in schedules:
        sch.enabled = False
        session.add(sch)
    # Everyone who may decide another person's approval: named in the policy or holding an approver
    # role (services.policy.is_approver); the notifier DMs each of them (services/slackapp/sync.py).
    approvers = [p for p in list_people(session=session, org=org, include_inactive=False)
                 if policy.is_approver(org, p)]
    pending = list(session.exec(select(Action).join(Job, col(Job.id) == col(Action.job_id))
                                .where(Job.principal_id == target.id, Action.status == ActionStatus.pending)))
    actor = by.id if isinstance(by, Principal) else by
    reassigned = expired = 0
    for action in pending:
        if approvers:
            events.record(session, action.job_id, "approval_reassigned", action_id=action.id, actor=actor,
                          tool=action.tool, to=[p.email for p in approvers], approvers=[p.id for p in approvers],
                          reason=f"{target.email} was deactivated")
            reassigned += 1
        elif expire_now(session=session, action=action):
            expired += 1
    audit.record(session, org_id=org.id, kind="person_deactivated", actor=by, subject=target.email,
                 sessions=revoked.sessions, tokens=revoked.tokens, schedules=len(schedules),
                 reassigned=reassigned, expired=expired)
    return Deactivated(target, revoked.sessions, revoked.tokens, len(schedules), reassigned, expired)


def _role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"role: one of {', '.join(ROLES)}, not {role!r}", "role")


def _keep_an_admin(session: Session, leaving: Principal) -> None:
    others = [p for p in session.exec(select(Principal).where(Principal.org_id == leaving.org_id,
                                                              Principal.id != leaving.id))
              if is_admin(p)]
    if not others:
        raise Conflict(f"{leaving.email} is the organisation's last admin: make someone else admin first")
