"""Jobs: create, read, cancel, answer, and the job's state changes (bump, finish, requeue,
maybe_resume). Functions that take the session; the caller commits (and the enqueue happens
after the commit)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Optional

from sqlalchemy import text as sql_text
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from services import metrics
from services.config import get_settings
from services.errors import Forbidden, Invalid, NotFound, WorkmodeError
from services.jobs import events
from services.jobs.dispatch import enqueue_advance
from services.jobs.tool_names import ASK_USER
from services.jobs.transcript import first_user_message, lock_job, tool_message, unanswered_calls
from services.policy import may_decide
from services.policy import reasoning_effort as org_reasoning_effort
from services.store.models import (
    FINAL_JOB_STATUSES,
    Action,
    ActionStatus,
    Job,
    JobStatus,
    Message,
    Organisation,
    Principal,
    utcnow,
)

MAX_PROMPT_CHARS = 20_000
EFFORTS = ("none", "high")


class JobError(WorkmodeError, ValueError):
    """A refusal of the job service (no such job, bad input, a state that does not allow the
    operation): catch it to catch any of them. Raised as one of the typed kinds below."""


class JobNotFound(JobError, NotFound):
    def __init__(self, job_id: str, *, message: Optional[str] = None):
        super().__init__("job", job_id, message=message)


class JobInvalid(JobError, Invalid):
    """Bad input (`field` names it) or a state that does not allow the operation."""


class NotAllowed(Forbidden):
    """Not this person's to do (cancel, answer, decide)."""


def create_job(
    *,
    session: Session,
    principal: Principal,
    prompt: str,
    source: str = "cli",
    reply_to: Optional[dict[str, Any]] = None,
    kind: str = "task",
    reasoning_effort: Optional[str] = None,
    max_steps: Optional[int] = None,
    max_tokens: Optional[int] = None,
    deadline_s: Optional[int] = None,
) -> Job:
    settings = get_settings()
    if not principal.active:  # deactivated by an admin: nothing new starts for them, from any face
        raise JobInvalid(f"{principal.email} is deactivated in Workmode; ask an admin of your organisation")
    prompt = (prompt or "").strip()
    if not prompt:
        raise JobInvalid("prompt: say what you want done, e.g. 'find a slot with Dana next week'", "prompt")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise JobInvalid(f"prompt: {len(prompt)} characters is too long (at most {MAX_PROMPT_CHARS})", "prompt")
    effort = (reasoning_effort or org_reasoning_effort(session.get(Organisation, principal.org_id))
              or settings.default_reasoning_effort)
    if effort not in EFFORTS:
        raise JobInvalid(f"reasoning_effort: must be one of {EFFORTS}, not {effort!r}", "reasoning_effort")
    now = utcnow()
    job = Job(
        org_id=principal.org_id,
        principal_id=principal.id,
        source=source,
        reply_to=reply_to or {},
        prompt=prompt,
        kind=kind,
        reasoning_effort=effort,
        max_steps=max_steps or settings.default_max_steps,
        max_tokens=max_tokens or settings.default_max_tokens,
        deadline=now + timedelta(seconds=deadline_s or settings.default_deadline_s),
    )
    session.add(job)
    session.flush()
    session.add(Message(job_id=job.id, seq=0, role="user", content=first_user_message(job, principal, now)))
    events.record(session, job.id, "created", actor=principal.id, source=source, prompt=prompt)
    enqueue_advance(session, job.id, job.version)
    return job


def get_job(*, session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


def list_jobs(*, session: Session, principal: Optional[Principal] = None, limit: int = 20,
              offset: int = 0) -> list[Job]:
    stmt = select(Job).order_by(col(Job.created_at).desc()).limit(limit).offset(offset)
    if principal is not None:
        stmt = stmt.where(Job.org_id == principal.org_id)
    return list(session.exec(stmt))


def transcript(*, session: Session, job_id: str) -> list[Message]:
    return list(session.exec(select(Message).where(Message.job_id == job_id).order_by(col(Message.seq))))


def job_actions(*, session: Session, job_id: str) -> list[Action]:
    return list(session.exec(select(Action).where(Action.job_id == job_id).order_by(col(Action.created_at))))


def cancel_job(*, session: Session, job_id: str, actor: Principal, reason: str = "cancelled") -> Job:
    get_job(session=session, job_id=job_id)
    job = lock_job(session, job_id)
    org = session.get_one(Organisation, job.org_id)

    if not may_decide(org, job, actor):
        raise NotAllowed("only the requester or an approver of this organisation may cancel this job")
    if job.status in FINAL_JOB_STATUSES:
        raise JobInvalid(f"job {job.id} is already {job.status}")
    finish(session, job, JobStatus.cancelled, error=reason, actor=actor.id)
    return job


def bump(session: Session, job: Job, **values: Any) -> None:
    """Optimistic update: apply `values` only if nobody else changed the job since we read it."""
    values.setdefault("updated_at", utcnow())
    version = job.version + 1
    result = session.exec(
        update(Job).where(col(Job.id) == job.id, col(Job.version) == job.version).values(version=version, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.rollback()
        raise Superseded(f"job {job.id} changed under us (version {job.version})")
    if job in session:
        # The row matched our version, so it is what we knew plus `values`: no need to read it back.
        for key, value in {**values, "version": version}.items():
            set_committed_value(job, key, value)
    else:
        session.refresh(job)


class Superseded(RuntimeError):
    """Another worker owns the job now; this one stops without writing."""


def finish(session: Session, job: Job, status: JobStatus, *, result: str | None = None, error: str | None = None,
           actor: str | None = None) -> None:
    """End the job (every path that ends one comes here: the step's answer, budgets and deadline,
    a model error, a crash, the reconciler's expiry, cancel) and, with it, its open actions."""
    bump(session, job, status=status, result=result, error=error, waiting_for=None, lease_until=None,
         finished_at=utcnow())
    events.record(session, job.id, status.value, actor=actor, result=result, error=error)
    end_open_actions(session, job)


def end_open_actions(session: Session, job: Job) -> int:
    """An ended job's pending and approved-but-not-started actions end too, each with an event
    and a tool result (so the transcript says why it never ran): pending ones of an expired job
    become `expired`, the rest `cancelled`. An action already `executing` is left to finish
    exactly once; its result is recorded and the ended job is not resumed (`maybe_resume` only
    resumes a waiting job).

    Called with the job row locked (finish's version bump holds it), so no decision lands in
    between (decide() locks the job first); an executor's claim that wins the race just before
    leaves the action `executing`, which the conditional updates below skip."""
    why = _ended_why(job)
    now = utcnow()
    ended = 0
    open_ = [ActionStatus.pending, ActionStatus.approved]
    for action in session.exec(select(Action).where(Action.job_id == job.id, col(Action.status).in_(open_))).all():
        was = action.status
        status = ActionStatus.expired if job.status == JobStatus.expired and was == ActionStatus.pending \
            else ActionStatus.cancelled
        values: dict[str, Any] = {"status": status, "reason": why, "updated_at": now}
        if was == ActionStatus.pending:  # nobody decided it: the system did
            values.update(decided_via="system", decided_at=now)
        won = session.exec(update(Action).where(col(Action.id) == action.id, col(Action.status) == was)
                           .values(**values).execution_options(synchronize_session=False)).rowcount
        if won != 1:
            continue  # claimed by an executor a moment ago: it runs, once
        ended += 1
        metrics.action_settled(status.value)
        events.record(session, job.id, f"action_{status.value}", action_id=action.id, tool=action.tool, error=why)
        tool_message(session, job.id, action.tool_call_id, action.tool, f"Not executed: {why}.")
    return ended


def _ended_why(job: Job) -> str:
    if job.status == JobStatus.expired:
        return "the job reached its deadline first"
    if job.status == JobStatus.failed:
        return f"the job failed ({job.error})" if job.error else "the job failed"
    if job.status == JobStatus.completed:
        return "the job completed without it"
    return "the job was cancelled"


def hold(session: Session, job: Job) -> None:
    """Lock the job row until this transaction ends and make sure this worker still owns the
    job (same version, still running): a step calls it before it creates anything a person or an
    executor acts on, so a cancel that came in the meantime stops it (`Superseded`) and a cancel
    that comes later waits for this commit and then ends what it created."""
    version, status = session.exec(select(Job.version, Job.status).where(Job.id == job.id).with_for_update()).one()
    if version != job.version or status != JobStatus.running:
        session.rollback()
        raise Superseded(f"job {job.id} changed under us (now {status}, version {version})")


def overdue(job: Job) -> bool:
    """A waiting job past its deadline: it has ended, whether or not the reconciler said so yet."""
    return job.status == JobStatus.waiting and job.deadline is not None and job.deadline < utcnow()


def expire_overdue(session: Session, job: Job) -> None:
    """End a waiting job at its deadline (the reconciler's tick, or a decision that finds it first)."""
    finish(session, job, JobStatus.expired, error="deadline reached while waiting")


def commit_progress(session: Session) -> None:
    """Commit a step's internal progress (a model turn with tool calls still to run, a read
    tool's result, a plan update, the version and lease bump between steps) without waiting for
    PostgreSQL to flush it to disk (`synchronous_commit = off` for this transaction only).

    Other sessions see it at once and it survives the worker dying: only a crash of PostgreSQL
    itself within a fraction of a second could lose it, and then the job is back at an earlier
    step, exactly as after a worker killed before this commit (the reconciler takes it over, the
    model turn is asked again, the read runs again). Nothing acts on these commits outside the
    store: no step or action task is sent, no person is asked (at most a progress update to a
    Slack thread, which the redone step updates again). Every ordinary commit (a proposed action,
    a question, a wait, the end of the job, a decision) flushes everything before it, since the
    log is written in order. Costs one statement; saves a disk flush, the largest single cost of
    a step on most machines.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SET LOCAL synchronous_commit TO OFF"))
    session.commit()


def requeue(session: Session, job: Job, *, countdown: float | None = None, **values: Any) -> None:
    """Hand the job back to the queue (after a time slice, a decision or an answer)."""
    bump(session, job, status=JobStatus.queued, waiting_for=None, lease_until=None, **values)
    enqueue_advance(session, job.id, job.version, countdown=countdown)


def maybe_resume(session: Session, job_id: str) -> bool:
    """A waiting job whose every tool call now has a result goes back to the queue."""
    job = lock_job(session, job_id)
    if job.status != JobStatus.waiting or unanswered_calls(session, job_id):
        return False
    requeue(session, job)
    return True


def answer_question(*, session: Session, job_id: str, actor: Principal, text: str) -> Job:
    """The requester answers the agent's `ask_user` question; the job goes on."""
    job = get_job(session=session, job_id=job_id)
    if actor.id != job.principal_id:
        raise NotAllowed("only the person who asked for this work can answer its questions")
    if not (text or "").strip():
        raise JobInvalid("answer: the answer is empty", "answer")
    questions = [c for c in unanswered_calls(session, job_id) if c["name"] == ASK_USER]
    if job.status != JobStatus.waiting or not questions:
        raise JobInvalid(f"job {job_id} is not waiting for an answer")
    tool_message(session, job_id, questions[0]["id"], ASK_USER, f"{actor.name or actor.email} answered: {text.strip()}")
    events.record(session, job_id, "answered", actor=actor.id, answer=text.strip())
    maybe_resume(session, job_id)
    return job
