"""`advance(job_id, version)`: claim the job, run steps until it must wait, ends, or its time
slice is used up, committing after every step; then hand it back to the queue."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from services import metrics
from services.agent.builtins import ASK_USER
from services.agent.calls import process_calls
from services.agent.toolbox import job_tools
from services.agent.turn import InvalidModelOutput, Usage, model_turn
from services.config import get_settings
from services.faults import STEP_AFTER_MODEL, crash_point
from services.jobs import events
from services.jobs.service import Superseded, bump, commit_progress, finish, hold, requeue, transcript
from services.jobs.transcript import unanswered_calls, unanswered_in
from services.model.client import ModelClient, ModelError, ModelUnavailable
from services.store.db import get_engine
from services.store.models import Job, JobStatus, Message, Organisation, Principal, utcnow

log = logging.getLogger(__name__)


def claim(session: Session, job_id: str, version: int) -> Job | None:
    """queued@version → running@version+1, atomically. Anything else is a duplicate delivery."""
    result = session.exec(
        update(Job)
        .where(col(Job.id) == job_id, col(Job.version) == version, col(Job.status) == JobStatus.queued)
        .values(status=JobStatus.running, version=version + 1, lease_until=_lease(), updated_at=utcnow())
    )
    session.commit()
    if result.rowcount != 1:
        return None
    return session.get(Job, job_id, populate_existing=True)


_client: ModelClient | None = None


def default_client() -> ModelClient:
    """One ModelClient per process and settings: building one (an OpenAI/httpx client with its TLS
    context) costs tens of milliseconds, and reusing it keeps the connection to the model alive."""
    global _client
    client = _client
    if client is None or client.settings is not get_settings():
        client = _client = ModelClient()
    return client


def advance(job_id: str, version: int, client: ModelClient | None = None) -> str:
    """Returns what happened: duplicate | waiting | completed | failed | requeued | superseded ..."""
    with Session(get_engine(), expire_on_commit=False) as session:
        job = claim(session, job_id, version)
        if job is None:
            return "duplicate"
        if job.not_before and job.not_before > utcnow():
            requeue(session, job, countdown=(job.not_before - utcnow()).total_seconds())
            session.commit()
            return "requeued"
        client = client or default_client()
        slice_end = time.monotonic() + get_settings().step_slice_s
        cache: dict[str, list[Message]] = {}  # the transcript, kept between steps of this task while only we write it
        try:
            while True:
                started = time.perf_counter()
                outcome = step(session, job, client, cache)
                metrics.observe_step(outcome, started)
                if outcome != "continue":
                    session.commit()
                    return outcome
                commit_progress(session)
                if time.monotonic() > slice_end:
                    requeue(session, job)
                    session.commit()
                    return "requeued"
        except Superseded:
            log.info("job %s superseded; stopping", job_id)
            return "superseded"
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                return _crashed(session, job_id, exc)
            # The database dropped our connection (a restart, a failover, pg_terminate_backend):
            # an outage, not a bug. The step's uncommitted work is gone, as after a killed worker;
            # hand the job back to the queue (or, if the database is still away, to the lease and
            # the reconciler), never fail it for that.
            log.warning("job %s lost its database connection; requeued", job_id)
            session.rollback()
            try:
                requeue(session, session.get_one(Job, job_id, populate_existing=True))
                session.commit()
            except Superseded:
                return "superseded"
            except DBAPIError:
                log.warning("job %s: database still away; the reconciler takes it over after its lease", job_id)
            return "requeued"
        except Exception as exc:
            return _crashed(session, job_id, exc)


def _crashed(session: Session, job_id: str, exc: Exception) -> str:
    """A bug or bad data: fail visibly rather than loop forever."""
    log.exception("job %s step crashed", job_id, exc_info=exc)
    session.rollback()
    job = session.get_one(Job, job_id, populate_existing=True)
    try:
        finish(session, job, JobStatus.failed, error=f"internal error in a step: {type(exc).__name__}: {exc}")
    except Superseded:  # cancelled (or taken over) meanwhile: that says how it ended
        return "superseded"
    session.commit()
    return "failed"


def step(session: Session, job: Job, client: ModelClient, cache: dict[str, list[Message]] | None = None) -> str:
    cache = {} if cache is None else cache
    org = session.get_one(Organisation, job.org_id)
    principal = session.get_one(Principal, job.principal_id)
    reason = budget_exceeded(job)
    if reason:
        status = JobStatus.expired if "deadline" in reason else JobStatus.failed
        finish(session, job, status, error=reason)
        return status.value
    tools = job_tools(org)
    history = cache.pop("history", None) or transcript(session=session, job_id=job.id)
    pending = unanswered_in(history)  # what unanswered_calls() says, without two more queries
    if not pending and job.kind == "triage" and job.source == "triage":
        # A job the triage pipeline made (services/triage) has its proposals from the pipeline,
        # never from the model: once every one has its result, the job is done.
        finish(session, job, JobStatus.completed, result=_settled(history))
        return JobStatus.completed.value
    if not pending:
        try:
            msg, usage = model_turn(session, job, history, tools, client)
        except ModelUnavailable as exc:
            wait = max(exc.retry_after, 1.0)
            events.record(session, job.id, "model_unavailable", retry_after=wait, error=str(exc))
            requeue(session, job, countdown=wait, not_before=utcnow() + timedelta(seconds=wait))
            return "model_unavailable"
        except ModelError as exc:
            finish(session, job, JobStatus.failed, error=f"model error: {exc}")
            return "failed"
        except InvalidModelOutput as exc:
            _add_usage(session, job, exc.usage)
            finish(session, job, JobStatus.failed, error=str(exc))
            return "failed"
        counted: dict[str, Any] = {"model_turns": job.model_turns + 1, "steps": job.steps + 1,
                                   "prompt_tokens": job.prompt_tokens + usage.prompt_tokens,
                                   "completion_tokens": job.completion_tokens + usage.completion_tokens}
        if not msg.tool_calls or any(tools[c["name"]].write or c["name"] == ASK_USER for c in msg.tool_calls):
            bump(session, job, **counted, lease_until=_lease())
            crash_point(STEP_AFTER_MODEL)
            if not msg.tool_calls:
                finish(session, job, JobStatus.completed, result=msg.content)
                return "completed"
            commit_progress(session)  # proposals and questions follow: the turn must be there first
        else:
            # A turn of reads is written with its results by the step's version bump (a crash
            # before that redoes both: reads change nothing).
            for key, value in counted.items():
                set_committed_value(job, key, value)
            crash_point(STEP_AFTER_MODEL)
        pending = msg.tool_calls
        history.append(msg)
    outcome = process_calls(session, job, org, principal, tools, pending, history)
    if outcome.alone:  # nobody else wrote to the transcript: `history` is what the store holds
        cache["history"] = history
    # Counted in memory by this step and process_calls.
    counted = {"steps": job.steps, "plan": job.plan, "model_turns": job.model_turns,
               "prompt_tokens": job.prompt_tokens, "completion_tokens": job.completion_tokens}
    if outcome.waiting_for == "approval":
        # Lock the row so an executor finishing now either sees `waiting` or we see its result;
        # without reloading it, so a cancel meanwhile stops this step instead of being overwritten.
        hold(session, job)
        if not unanswered_calls(session, job.id):
            outcome.waiting_for = None  # auto-approved actions already finished
    if outcome.waiting_for:
        bump(session, job, status=JobStatus.waiting, waiting_for=outcome.waiting_for, lease_until=None, **counted)
        events.record(session, job.id, "waiting", waiting_for=outcome.waiting_for)
        return "waiting"
    bump(session, job, lease_until=_lease(), **counted)
    return "continue"


def _settled(history: list[Message]) -> str:
    results = [m for m in history if m.role == "tool" and m.name != "gmail_read_thread"]
    return f"Triage proposals settled: {len(results)} result(s)."


def _lease() -> datetime:
    return utcnow() + timedelta(seconds=get_settings().running_lease_s)


def _add_usage(session: Session, job: Job, usage: Usage) -> None:
    bump(session, job, prompt_tokens=job.prompt_tokens + usage.prompt_tokens,
         completion_tokens=job.completion_tokens + usage.completion_tokens, lease_until=_lease())


def budget_exceeded(job: Job) -> str | None:
    if job.deadline and utcnow() > job.deadline:
        return f"deadline reached ({job.deadline:%Y-%m-%d %H:%M} UTC) before the work was done"
    if job.steps >= job.max_steps:
        return f"step budget reached: {job.steps} of {job.max_steps} steps used"
    if job.total_tokens >= job.max_tokens:
        return f"token budget reached: {job.total_tokens} of {job.max_tokens} tokens used"
    return None
