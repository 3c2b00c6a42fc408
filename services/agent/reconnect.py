"""Paused for a reconnect: a connector said the person's grant is missing, revoked or expired
(401). The job waits (nothing is lost and nothing is retried against a dead grant) until the
person connects the account again; then the paused reads run again and the approved actions
that were refused execute."""
from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.jobs import events
from services.jobs.dispatch import enqueue_execute
from services.jobs.service import requeue
from services.store.models import Action, ActionStatus, Job, JobStatus, utcnow

MARK = "reconnect required"


def pause_action(session: Session, action: Action, message: str) -> None:
    """An executing action the service refused with 401: nothing happened; wait for the grant."""
    session.exec(
        update(Action).where(col(Action.id) == action.id, col(Action.status) == ActionStatus.executing)
        .values(status=ActionStatus.approved, executing_since=None, error=f"{MARK}: {message}", updated_at=utcnow())
    )
    events.record(session, action.job_id, "reconnect_required", action_id=action.id, tool=action.tool, message=message)


def is_paused(action: Action) -> bool:
    return action.status == ActionStatus.approved and (action.error or "").startswith(MARK)


def resume_after_reconnect(session: Session, principal_id: str) -> int:
    """Called when the person connects an account: every job of theirs paused for it goes on."""
    jobs = session.exec(select(Job).where(Job.principal_id == principal_id, Job.status == JobStatus.waiting,
                                          Job.waiting_for == "reconnect")).all()
    for job in jobs:
        events.record(session, job.id, "reconnected", actor=principal_id)
        requeue(session, job)
    paused = session.exec(
        select(Action).join(Job, col(Job.id) == Action.job_id)
        .where(Job.principal_id == principal_id, Action.status == ActionStatus.approved,
               col(Action.error).startswith(MARK))
    ).all()
    for action in paused:
        session.exec(update(Action).where(col(Action.id) == action.id).values(error=None, updated_at=utcnow()))
        enqueue_execute(session, action.id)
    return len(jobs) + len(paused)
