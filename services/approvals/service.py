"""The approval state machine: approve, edit-and-approve, reject with reason, respond with
feedback, expire. A decision is bound to the hash of the arguments the person was shown."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Optional

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from connectors.base import args_hash
from services.agent.calls import outside_parties
from services.agent.risk import risk_flags
from services.agent.toolbox import job_tools
from services.errors import Conflict, Invalid, NotFound, WorkmodeError
from services.jobs import events
from services.jobs.dispatch import enqueue_execute
from services.jobs.service import (
    NotAllowed,
    end_open_actions,
    expire_overdue,
    maybe_resume,
    overdue,
    transcript,
)
from services.jobs.transcript import lock_job, tool_message
from services.policy import may_decide
from services.store.models import FINAL_JOB_STATUSES, Action, ActionStatus, Job, Organisation, Principal, utcnow

Decision = Literal["approve", "edit", "reject", "respond"]
DECISIONS = ("approve", "edit", "reject", "respond")


class ApprovalError(WorkmodeError, ValueError):
    """A refusal to look up or decide an approval (no such approval, bad decision input): catch
    it to catch either. Raised as one of the typed kinds below; `field` names the input at fault."""


class ApprovalNotFound(ApprovalError, NotFound):
    def __init__(self, action_id: str):
        super().__init__("approval", action_id, "action_id")


class InvalidDecision(ApprovalError, Invalid):
    """Bad decision input: an unknown decision, a rejection without a reason, broken edits."""


def get_action(*, session: Session, action_id: str) -> Action:
    action = session.get(Action, action_id)
    if action is None:
        raise ApprovalNotFound(action_id)
    return action


def list_pending(*, session: Session, principal: Principal) -> list[Action]:
    """Pending approvals this person may decide, newest first."""
    stmt = (
        select(Action, Job)
        .join(Job, col(Job.id) == Action.job_id)
        .where(Action.status == ActionStatus.pending, Job.org_id == principal.org_id)
        .order_by(col(Action.created_at).desc())
    )
    org = session.get_one(Organisation, principal.org_id)
    return [a for a, job in session.exec(stmt) if may_decide(org, job, principal)]


def decide(
    *,
    session: Session,
    action_id: str,
    actor: Principal,
    decision: Decision,
    shown_hash: str,
    arguments: Optional[dict[str, Any]] = None,
    reason: Optional[str] = None,
    feedback: Optional[str] = None,
) -> Action:
    if decision not in DECISIONS:
        raise InvalidDecision(f"decision must be one of {DECISIONS}", field="decision")
    action = get_action(session=session, action_id=action_id)
    # The job row first (as the job's end does), so a decision and the job's end never interleave.
    job = lock_job(session, action.job_id)
    org = session.get_one(Organisation, job.org_id)
    if not may_decide(org, job, actor):
        raise NotAllowed("not yours to decide: only the requester or a named approver may decide this")
    _refuse_if_over(session, action, job)
    if action.status != ActionStatus.pending:
        raise Conflict(f"already decided: this action is {action.status}")
    if shown_hash != action.args_hash:
        raise Conflict("the action changed since it was shown; reload it and decide again", "args_hash")
    if decision == "reject" and not (reason or "").strip():
        raise InvalidDecision("a rejection needs a reason (it goes back to the agent)", field="reason")
    if decision == "respond" and not (feedback or "").strip():
        raise InvalidDecision("feedback is empty", field="feedback")

    values: dict[str, Any] = {"decided_by": actor.id, "decided_via": "person", "decided_at": utcnow(),
                              "updated_at": utcnow()}
    if decision == "edit":
        values.update(_edited(session, action, job, org, arguments))
    if decision in ("approve", "edit"):
        values.update(status=ActionStatus.approved, approved_hash=values.get("args_hash", action.args_hash))
    elif decision == "reject":
        values.update(status=ActionStatus.rejected, reason=(reason or "").strip())  # non-empty: checked above
    else:
        values.update(status=ActionStatus.rejected, feedback=(feedback or "").strip())  # non-empty: checked above
    # Atomic: only one decision wins, even with double clicks in two places.
    won = session.exec(
        update(Action).where(col(Action.id) == action.id, col(Action.status) == ActionStatus.pending,
                             col(Action.args_hash) == shown_hash,
                             or_(col(Action.expires_at).is_(None), col(Action.expires_at) >= values["decided_at"]))
        .values(**values)
    ).rowcount
    if won != 1:
        session.rollback()
        raise Conflict("someone else decided this action first")
    session.refresh(action)
    events.record(session, job.id, "decided", action_id=action.id, actor=actor.id, decision=decision,
                  reason=reason, feedback=feedback, edited=decision == "edit")
    if action.status == ActionStatus.approved:
        enqueue_execute(session, action.id)
    else:
        note = (f"Not executed: {actor.name or actor.email} rejected it. Reason: {action.reason}"
                if decision == "reject"
                else f"Not executed: {actor.name or actor.email} responded with feedback: {action.feedback}")
        tool_message(session, job.id, action.tool_call_id, action.tool, note)
        maybe_resume(session, job.id)
    return action


class ApprovalExpired(ApprovalError, Conflict):
    """The approval's time ran out before this decision: nothing runs."""


class JobEnded(ApprovalError, Conflict):
    """The action's job has ended (cancelled, failed, expired, completed): nothing of it runs."""


def _refuse_if_over(session: Session, action: Action, job: Job) -> None:
    """Refuse a decision that comes too late: its job has ended (or reached its deadline while
    waiting), or the approval itself expired. What the reconciler would have done at its next
    tick is done here and committed first (the job expired, the approval expired, the model
    told), so the refusal sticks even though the caller rolls its own work back."""
    if overdue(job):
        expire_overdue(session, job)
        session.commit()
    if job.status in FINAL_JOB_STATUSES:
        if action.status in (ActionStatus.pending, ActionStatus.approved):  # left open by an older version
            end_open_actions(session, job)
            session.commit()
        raise JobEnded(f"too late: this job has ended ({job.status}), so nothing of it will run", "action_id")
    if action.status == ActionStatus.pending and action.expires_at is not None and action.expires_at < utcnow():
        expires_at = action.expires_at
        _expire(session, action, utcnow())
        session.commit()
        raise ApprovalExpired(f"too late: this approval expired at {expires_at:%Y-%m-%d %H:%M} UTC without a "
                              "decision; nothing was run and the agent has been told", "action_id")


def _edited(
    session: Session, action: Action, job: Job, org: Organisation, arguments: Optional[dict[str, Any]]
) -> dict[str, Any]:
    if not isinstance(arguments, dict):
        raise InvalidDecision("edit needs the full arguments object", field="arguments")
    ref = job_tools(org).get(action.tool)
    if ref is None:
        raise InvalidDecision(f"tool {action.tool} is no longer available", field="tool")
    from connectors.base import ToolError

    try:
        parsed = ref.tool.parse(arguments)
    except ToolError as exc:
        raise InvalidDecision(exc.message, field="arguments") from exc
    canonical = parsed.model_dump(mode="json")
    history = transcript(session=session, job_id=job.id)
    if ref.tool.preview is None:  # write tools always have one (Connector.write requires it)
        raise TypeError(f"write tool {action.tool} has no preview")
    return {
        "arguments": canonical,
        "args_hash": args_hash(canonical),
        "preview": ref.tool.preview(parsed).as_dict(),
        # Edited arguments are checked again, the other parties of a changed channel included.
        "risk_flags": risk_flags(ref.tool, canonical, org, history, job.prompt)
        + outside_parties(job, org, session.get_one(Principal, job.principal_id), ref, parsed),
        "edited": True,
    }


def expire_pending(*, session: Session) -> int:
    """Pending approvals past their expiry: nothing executes and the model is told."""
    now = utcnow()
    expired = session.exec(
        select(Action).where(Action.status == ActionStatus.pending, col(Action.expires_at) < now)
    ).all()
    for action in expired:
        _expire(session, action, now)
    return len(expired)


def _expire(session: Session, action: Action, now: datetime) -> bool:
    won = session.exec(
        update(Action).where(col(Action.id) == action.id, col(Action.status) == ActionStatus.pending)
        .values(status=ActionStatus.expired, decided_via="system", decided_at=now, updated_at=now)
    ).rowcount
    if won != 1:
        return False
    events.record(session, action.job_id, "approval_expired", action_id=action.id, tool=action.tool)
    tool_message(session, action.job_id, action.tool_call_id, action.tool,
                 "Not executed: the approval request expired without a decision.")
    maybe_resume(session, action.job_id)
    return True


def expire_now(*, session: Session, action: Action) -> bool:
    """Expire one pending approval at once (its requester was deactivated and no one else may
    decide): nothing executes and the model is told. False if it was no longer pending."""
    return _expire(session, action, utcnow())
