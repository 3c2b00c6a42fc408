"""Who may see what: a job and its actions are visible to its requester and to the approvers of
its organisation (the same rule as deciding, services.policy.may_decide). Anything in
another organisation is 'not found', so ids do not leak across organisations."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import func
from sqlmodel import Session, col, select

from services import policy
from services.errors import NotFound
from services.store.models import Action, Job, Organisation, Principal

SCAN_LIMIT = 5000  # rows read to build one filtered approvals page


def can_see(db: Session, principal: Principal, job: Job) -> bool:
    return policy.may_decide(db.get_one(Organisation, job.org_id), job, principal)


def visible_job(db: Session, principal: Principal, job_id: str) -> Job:
    job = db.get(Job, job_id)
    if job is None or not can_see(db, principal, job):
        raise NotFound("job", job_id, "job_id")
    return job


def visible_action(db: Session, principal: Principal, action_id: str) -> tuple[Action, Job]:
    action = db.get(Action, action_id)
    job = db.get(Job, action.job_id) if action else None
    if action is None or job is None or not can_see(db, principal, job):
        raise NotFound("approval", action_id, "action_id")
    return action, job


def is_approver(db: Session, principal: Principal) -> bool:
    """True if this person may decide every job of their organisation (not only their own)."""
    return policy.is_approver(db.get_one(Organisation, principal.org_id), principal)


def jobs_page(db: Session, principal: Principal, *, limit: int, offset: int,
              status: Optional[str] = None) -> tuple[list[Job], int]:
    where = [Job.org_id == principal.org_id]
    if not is_approver(db, principal):
        where.append(Job.principal_id == principal.id)
    if status:
        where.append(Job.status == status)
    total = db.exec(select(func.count()).select_from(Job).where(*where)).one()
    rows = db.exec(select(Job).where(*where).order_by(col(Job.created_at).desc(), col(Job.id))
                   .limit(limit).offset(offset))
    return list(rows), total


def approvals(db: Session, principal: Principal, *, status: str = "pending", job_id: Optional[str] = None,
              connector: Optional[str] = None, risk: Optional[str] = None) -> list[tuple[Action, Job]]:
    """Actions this person may decide (or, for other statuses, may see), newest first, filtered.
    `risk` is a flag kind (outside_recipient, link, untrusted_content), 'any' or 'none'."""
    stmt = (select(Action, Job).join(Job, col(Job.id) == col(Action.job_id))
            .where(Job.org_id == principal.org_id, Action.status == status)
            .order_by(col(Action.created_at).desc(), col(Action.id)).limit(SCAN_LIMIT))
    if not is_approver(db, principal):
        stmt = stmt.where(Job.principal_id == principal.id)
    if job_id:
        stmt = stmt.where(Action.job_id == job_id)
    if connector:
        stmt = stmt.where(Action.connector == connector)
    rows = [(a, j) for a, j in db.exec(stmt) if can_see(db, principal, j)]
    if risk:
        rows = [(a, j) for a, j in rows if _has_risk(a, risk)]
    return rows


def _has_risk(action: Action, risk: str) -> bool:
    kinds = {f.get("kind") for f in action.risk_flags or []}
    if risk == "any":
        return bool(kinds)
    if risk == "none":
        return not kinds
    return risk in kinds
