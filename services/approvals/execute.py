"""Executing approved actions exactly once, or honestly unknown.

Claim (`approved → executing`, one atomic update), run the connector in its own transaction
(the outside world), then record the result. A crash while executing is left for the reconciler,
which asks the connector's `verify` whether the effect happened.

A failure's text may quote the outside server (an error body): it reaches the model cut and fenced
as untrusted, like a read tool's error (services/agent/calls.py).
"""
from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from connectors.base import (
    CannotVerify,
    RateLimited,
    ReconnectRequired,
    ToolError,
    TransientError,
    args_hash,
)
from connectors.registry import get_connector
from services import metrics
from services.agent.calls import cut, tool_context
from services.config import get_settings
from services.faults import EXECUTE_AFTER_CALL, EXECUTE_AFTER_COMMIT, EXECUTE_BEFORE_CALL, crash_point
from services.jobs import events
from services.jobs.dispatch import enqueue_execute
from services.jobs.service import end_open_actions, maybe_resume
from services.jobs.transcript import lock_job, tool_message
from services.store.db import get_engine
from services.store.models import FINAL_JOB_STATUSES, Action, ActionStatus, Event, Job, Principal, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def claim(session: Session, action_id: str) -> Action | None:
    """approved → executing, atomically, and only while the action's job has not ended: a
    second delivery, or an action whose job was cancelled, failed or expired, claims nothing."""
    now = utcnow()
    job_live = (select(Job.id).where(col(Job.id) == col(Action.job_id), col(Job.status).not_in(FINAL_JOB_STATUSES))
                .exists())
    won = session.exec(
        update(Action)
        .where(col(Action.id) == action_id, col(Action.status) == ActionStatus.approved, job_live)
        .values(status=ActionStatus.executing, executing_since=now, attempts=Action.attempts + 1, updated_at=now)
    ).rowcount
    session.commit()
    return session.get(Action, action_id, populate_existing=True) if won == 1 else None


def execute_action(action_id: str) -> str:
    with Session(get_engine(), expire_on_commit=False) as session:
        action = claim(session, action_id)
        if action is None:
            return _unclaimed(session, action_id)
        if args_hash(action.arguments) != action.approved_hash:
            settle(session, action, ActionStatus.failed,
                   error="arguments changed after approval; nothing was executed")
            session.commit()
            return "refused"
        job = session.get_one(Job, action.job_id)
        principal = session.get_one(Principal, job.principal_id)
        try:
            tool = get_connector(action.connector).tools[action.tool]
            parsed = tool.parse(action.arguments)
        except (KeyError, ToolError) as exc:  # the tool went away or its schema changed
            settle(session, action, ActionStatus.failed, error=f"cannot run {action.tool}: {exc}")
            session.commit()
            return "failed"
        if action.attempts > 1:
            # A later attempt: an earlier one may have gone through after all (a timeout whose
            # request arrived, a search index that had not caught up). Ask first; never run twice.
            outcome = verify(session, action)
            if outcome != "absent":
                session.commit()
                return outcome
        crash_point(EXECUTE_BEFORE_CALL)
        try:
            with Session(get_engine()) as world:
                result = tool.run(tool_context(world, job, principal, action), parsed)
                world.commit()
        except ReconnectRequired as exc:  # 401: refused, nothing happened; wait for the person
            from services.agent.reconnect import pause_action

            pause_action(session, action, exc.message)
            session.commit()
            return "reconnect"
        except RateLimited as exc:  # the service refused it: nothing happened, try again later
            return _retry_later(session, action, exc.retry_after, f"rate limited: {exc.message}")
        except ToolError as exc:
            if isinstance(exc, TransientError):
                return _after_unknown(session, action, f"{exc.kind}: {exc.message}", retry=True)
            settle(session, action, ActionStatus.failed, error=f"{exc.kind}: {exc.message}")
            session.commit()
            return "failed"
        except Exception as exc:
            log.exception("action %s raised", action.id)
            return _after_unknown(session, action, f"{type(exc).__name__}: {exc}", retry=False)
        crash_point(EXECUTE_AFTER_CALL)
        settle(session, action, ActionStatus.succeeded, result=result.data)
        session.commit()
        crash_point(EXECUTE_AFTER_COMMIT)
        return "succeeded"


def _unclaimed(session: Session, action_id: str) -> str:
    """Nothing to run: a duplicate delivery, or an approved action whose job has ended (put back
    to `approved` by a retry or a release after the job's end took the rest): end it now."""
    action = session.get(Action, action_id)
    if action is None or action.status != ActionStatus.approved:
        return "duplicate"
    job = lock_job(session, action.job_id)
    if job.status not in FINAL_JOB_STATUSES:
        return "duplicate"
    end_open_actions(session, job)
    session.commit()
    return "cancelled"


def _retry_later(session: Session, action: Action, wait: float, why: str) -> str:
    if action.attempts >= MAX_ATTEMPTS:
        settle(session, action, ActionStatus.failed, error=f"{why}; gave up after {action.attempts} attempts")
        session.commit()
        return "failed"
    session.exec(update(Action).where(col(Action.id) == action.id, col(Action.status) == ActionStatus.executing)
                 .values(status=ActionStatus.approved, executing_since=None, error=why, updated_at=utcnow()))
    events.record(session, action.job_id, "action_retry", action_id=action.id, reason=why, wait_s=wait)
    enqueue_execute(session, action.id, countdown=wait)
    session.commit()
    return "retry"


def _after_unknown(session: Session, action: Action, why: str, *, retry: bool) -> str:
    outcome = verify(session, action)
    if outcome == "absent" and retry:
        return _retry_later(session, action, min(2.0**action.attempts, 60.0), why)
    if outcome == "absent":
        settle(session, action, ActionStatus.failed, error=why)
    session.commit()
    return outcome


def verify(session: Session, action: Action) -> str:
    """Ask the connector whether an executing action's effect happened; settle what is known.
    Returns 'succeeded' (it happened), 'absent' (it did not; left executing for the caller),
    'deferred' (it may tell later: left executing, asked again on the reconciler's next tick) or
    'in_doubt'."""
    tool = get_connector(action.connector).tools[action.tool]
    job = session.get_one(Job, action.job_id)
    principal = session.get_one(Principal, job.principal_id)
    if tool.verify is None:  # write tools always have one (Connector.write requires it)
        raise TypeError(f"write tool {action.tool} has no verify")
    try:
        with Session(get_engine()) as world:
            found = tool.verify(tool_context(world, job, principal, action), tool.parse(action.arguments), action.id)
    except (CannotVerify, ToolError) as exc:
        if _may_tell_later(exc) and _deferrals(session, action) < get_settings().verify_deferrals:
            # Left executing: the reconciler's next tick asks again. Never "absent" on a guess.
            events.record(session, action.job_id, "verify_deferred", action_id=action.id, reason=str(exc))
            return "deferred"
        settle(session, action, ActionStatus.in_doubt, error=f"cannot tell whether it happened: {exc}")
        return "in_doubt"
    if found is not None:
        settle(session, action, ActionStatus.succeeded, result=found, verified=True)
        return "succeeded"
    return "absent"


def _may_tell_later(exc: Exception) -> bool:
    if isinstance(exc, CannotVerify):
        return exc.later
    return isinstance(exc, (TransientError, RateLimited))


def _deferrals(session: Session, action: Action) -> int:
    return session.exec(select(func.count()).select_from(Event).where(
        col(Event.action_id) == action.id, col(Event.kind) == "verify_deferred")).one()


def release(session: Session, action: Action) -> None:
    """An executing action whose effect verifiably did not happen may be run again."""
    session.exec(update(Action).where(col(Action.id) == action.id, col(Action.status) == ActionStatus.executing)
                 .values(status=ActionStatus.approved, executing_since=None, updated_at=utcnow()))
    events.record(session, action.job_id, "action_released", action_id=action.id)
    enqueue_execute(session, action.id)


def settle(session: Session, action: Action, status: ActionStatus, *, result: Any = None, error: str | None = None,
           verified: bool = False) -> None:
    """Record a final outcome, tell the model, and let the job go on if nothing else is open."""
    now = utcnow()
    won = session.exec(
        update(Action).where(col(Action.id) == action.id, col(Action.status) == ActionStatus.executing)
        .values(status=status, result=result, error=error, updated_at=now)
    ).rowcount
    if won != 1:
        return
    metrics.action_settled(status.value)
    events.record(session, action.job_id, f"action_{status.value}", action_id=action.id, tool=action.tool,
                  error=error, verified=verified)
    text, fenced = _tell_model(status, result, error)
    tool_message(session, action.job_id, action.tool_call_id, action.tool, text, untrusted=fenced,
                 source=f"{action.tool} (error)" if fenced else None)
    maybe_resume(session, action.job_id)


def _tell_model(status: ActionStatus, result: Any, error: str | None) -> tuple[str, bool]:
    """What the model reads, and whether it is fenced as untrusted: a failure's text may quote the
    outside server, so it is cut (calls.ERROR_MAX_CHARS) and fenced."""
    if status == ActionStatus.succeeded:
        return "Approved and done. Result: " + json.dumps(result, sort_keys=True, default=str), False
    if status == ActionStatus.in_doubt:
        return ("Approved, but it is unknown whether it happened; a person has been asked to check. "
                "Do not retry it."), False
    return f"Approved but it failed: {cut(error or 'no reason given')}", True
