"""The approval state machine: approve, edit-and-approve, reject with reason, respond with
feedback, expire. A decision is bound to the hash of the arguments the person was shown."""
from __future__ import annotations

from typing import Any, Literal, Optional

from sqlalchemy import update
from sqlmodel import Session, col, select

from connectors.base import args_hash
from services.agent.risk import risk_flags
from services.agent.toolbox import job_tools
from services.errors import Conflict, Invalid, NotFound, WorkmodeError
from services.jobs import events
from services.jobs.dispatch import enqueue_execute
from services.jobs.service import NotAllowed, maybe_resume, transcript
from services.jobs.transcript import tool_message
from services.policy import may_decide
from services.store.models import Action, ActionStatus, Job, Organisation, Principal, utcnow

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
    job = session.get_one(Job, action.job_id)
    org = session.get_one(Organisation, job.org_id)
    if not may_decide(org, job, actor):
        raise NotAllowed("not yours to decide: only the requester or a named approver may decide this")
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
                             col(Action.args_hash) == shown_hash).values(**values)
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
        "risk_flags": risk_flags(ref.tool, canonical, org, history, job.prompt),
        "edited": True,
    }


def expire_pending(*, session: Session) -> int:
    """Pending approvals past their expiry: nothing executes and the model is told."""
    now = utcnow()
    expired = session.exec(
        select(Action).where(Action.status == ActionStatus.pending, col(Action.expires_at) < now)
    ).all()
    for action in expired:
        won = session.exec(
            update(Action).where(col(Action.id) == action.id, col(Action.status) == ActionStatus.pending)
            .values(status=ActionStatus.expired, decided_via="system", decided_at=now, updated_at=now)
        ).rowcount
        if won != 1:
            continue
        events.record(session, action.job_id, "approval_expired", action_id=action.id, tool=action.tool)
        tool_message(session, action.job_id, action.tool_call_id, action.tool,
                     "Not executed: the approval request expired without a decision.")
        maybe_resume(session, action.job_id)
    return len(expired)
