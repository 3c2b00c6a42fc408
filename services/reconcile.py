"""The once-a-minute tick: the store, not Redis, is the source of truth, so anything the queue
lost or a dead worker left half-done is found here by its state and moved on."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from services.agent.reconnect import is_paused
from services.approvals.execute import MAX_ATTEMPTS, release, settle, verify
from services.approvals.reminders import send_reminders
from services.approvals.service import expire_pending
from services.config import get_settings
from services.jobs.dispatch import enqueue_advance, enqueue_execute
from services.jobs.service import Superseded, expire_overdue, maybe_resume, overdue, requeue
from services.store.db import get_engine
from services.store.models import Action, ActionStatus, Job, JobStatus, utcnow
from services.triage.recover import recover as recover_triage

log = logging.getLogger(__name__)


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        if n:
            self.counts[key] = self.counts.get(key, 0) + n


def reconcile(*, stale_s: int | None = None, executing_stale_s: int | None = None) -> dict[str, int]:
    settings = get_settings()
    stale = utcnow() - timedelta(seconds=settings.queued_stale_s if stale_s is None else stale_s)
    exec_stale = utcnow() - timedelta(
        seconds=settings.executing_stale_s if executing_stale_s is None else executing_stale_s)
    report = Report()
    with Session(get_engine(), expire_on_commit=False) as session:
        _actions(session, report, stale, exec_stale)
        report.add("approvals_expired", expire_pending(session=session))
        session.commit()
        for key, n in send_reminders(session=session).items():  # nudges and daily summaries, each once
            report.add(key, n)
        _jobs(session, report, stale)
        for key, n in recover_triage(session, stale=stale).items():  # lost triage tasks, dead workers
            report.add(key, n)
    if report.counts:
        log.info("reconcile: %s", report.counts)
    return report.counts


def _actions(session: Session, report: Report, stale: datetime, exec_stale: datetime) -> None:
    executing = session.exec(select(Action).where(
        Action.status == ActionStatus.executing, col(Action.executing_since) < exec_stale)).all()
    for action in executing:
        outcome = verify(session, action)
        if outcome == "absent" and action.attempts >= MAX_ATTEMPTS:
            settle(session, action, ActionStatus.failed,
                   error=f"did not happen after {action.attempts} attempts that each died; not retried again")
            outcome = "gave_up"
        elif outcome == "absent":
            release(session, action)
        report.add(f"executing_{outcome}")
        session.commit()
    approved = session.exec(select(Action).where(
        Action.status == ActionStatus.approved, col(Action.updated_at) < stale)).all()
    for action in approved:
        if is_paused(action):  # waits for the person to reconnect, not for the queue
            continue
        enqueue_execute(session, action.id)
        _touch(session, Action, action.id, ActionStatus.approved)
        report.add("approved_reenqueued")
    session.commit()


def _jobs(session: Session, report: Report, stale: datetime) -> None:
    now = utcnow()
    jobs = session.exec(select(Job).where(or_(
        (col(Job.status) == JobStatus.queued) & (col(Job.updated_at) < stale),
        (col(Job.status) == JobStatus.running) & (col(Job.lease_until) < now),
        col(Job.status) == JobStatus.waiting,
    ))).all()
    for job in jobs:
        try:
            if overdue(job):
                expire_overdue(session, job)
                report.add("jobs_expired")
            elif job.status == JobStatus.queued:
                if job.not_before and job.not_before > now:
                    continue
                enqueue_advance(session, job.id, job.version)
                _touch(session, Job, job.id, JobStatus.queued)
                report.add("queued_reenqueued")
            elif job.status == JobStatus.running:
                requeue(session, job)  # the worker holding it died; its lease ran out
                report.add("running_taken_over")
            elif maybe_resume(session, job.id):
                report.add("waiting_resumed")
            session.commit()
        except Superseded:
            session.rollback()


def _touch(session: Session, table: type[Job] | type[Action], row_id: str, status: str) -> None:
    """Sent again: the next tick waits a whole staleness period before sending it once more. A job
    or action that is only waiting behind a long queue (not lost) would otherwise get one more task
    per tick, and the backlog would grow with duplicates (seen in bench/chaos.py at 200 jobs)."""
    session.exec(update(table).where(col(table.id) == row_id, col(table.status) == status)
                 .values(updated_at=utcnow()).execution_options(synchronize_session=False))
