"""Dispatching the tool calls of one assistant turn: built-ins act on the job, read tools run
now, write tools become Actions (approved by a person unless the policy says otherwise; an action
with a risk flag always waits for a person, and one the egress policy blocks is refused at once).
A write tool with a `destinations` hook (who else a Slack Connect channel reaches) is asked once,
when it is proposed, with the person's own credentials (`proposal_flags`).

A connector's error can quote the outside server (a Jira error body): its text reaches the model
cut to ERROR_MAX_CHARS and fenced as untrusted, like any text others wrote."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from connectors.base import (
    RateLimited,
    ReconnectRequired,
    ToolContext,
    ToolError,
    ToolResult,
    TransientError,
    args_hash,
)
from services.agent.builtins import ASK_USER, READ_MORE, UPDATE_PLAN
from services.agent.prompt import truncate
from services.agent.risk import blocked, describe, destination_flags, risk_flags
from services.agent.toolbox import ToolRef
from services.config import get_settings
from services.credentials.access import tool_context as credential_context
from services.jobs import events
from services.jobs.dispatch import enqueue_execute
from services.jobs.service import commit_progress, hold
from services.jobs.transcript import tool_message
from services.policy import approval_ttl_s, needs_person
from services.store.db import get_engine
from services.store.models import Action, ActionStatus, Event, Job, Message, Organisation, Principal, utcnow

CONNECTOR_RETRIES = 3
MAX_INLINE_WAIT_S = 30.0
ERROR_MAX_CHARS = 300  # of a connector's error message (it may quote the outside server)


def tool_context(session: Session, job: Job, principal: Principal, action: Action | None = None) -> ToolContext:
    """The context a tool runs in, with the principal's stored credentials; for an approved
    `action`, its id and the earliest moment any attempt of it can have acted (its approval)."""
    return credential_context(
        session,
        principal_id=principal.id,
        principal_email=principal.email,
        org_id=principal.org_id,
        time_zone=principal.time_zone or "UTC",
        job_id=job.id,
        action_id=action.id if action is not None else None,
        executing_since=(action.decided_at or action.executing_since) if action is not None else None,
    )


def with_retries(fn: Callable[[], ToolResult]) -> ToolResult:
    """Honour 429 Retry-After and back off on 5xx/timeouts; the last failure propagates."""
    for attempt in range(CONNECTOR_RETRIES + 1):
        try:
            return fn()
        except RateLimited as exc:
            if attempt == CONNECTOR_RETRIES:
                raise
            time.sleep(min(exc.retry_after, MAX_INLINE_WAIT_S))
        except TransientError:
            if attempt == CONNECTOR_RETRIES:
                raise
            time.sleep(min(0.5 * 2**attempt, MAX_INLINE_WAIT_S))
    raise AssertionError("unreachable")


def run_read(job: Job, principal: Principal, ref: ToolRef, arguments: dict[str, Any]) -> ToolResult:
    parsed = ref.tool.parse(arguments)

    def once() -> ToolResult:
        with Session(get_engine()) as world:
            result = ref.tool.run(tool_context(world, job, principal), parsed)
            world.commit()
            return result

    return with_retries(once)


WAIT_PRIORITY = ("answer", "reconnect", "approval")  # what the person is asked for first


class CallOutcome:
    def __init__(self) -> None:
        self.waiting_for: str | None = None
        self.alone = False  # only this step wrote the transcript; its new messages are in it

    def wait(self, reason: str) -> None:
        if self.waiting_for is None or WAIT_PRIORITY.index(reason) < WAIT_PRIORITY.index(self.waiting_for):
            self.waiting_for = reason


def process_calls(
    session: Session, job: Job, org: Organisation, principal: Principal, tools: dict[str, ToolRef],
    calls: list[dict[str, Any]], transcript: list[Message],
) -> CallOutcome:
    """Handle each unanswered call of the latest turn; commits after each one (the last read
    together with the step's version bump)."""
    outcome = CallOutcome()
    # Only write tools ever get an Action: a turn of reads, plans and questions skips the query.
    proposes = any(name in tools and tools[name].write for name in (c["name"] for c in calls))
    actions = ({a.tool_call_id: a for a in session.exec(select(Action).where(Action.job_id == job.id))}
               if proposes else {})
    # Without proposals or questions this step is the transcript's only writer: number results here.
    alone = not proposes and not any(c["name"] == ASK_USER for c in calls)
    seqs = iter(range(transcript[-1].seq + 1, 1 << 31)) if alone and transcript else None
    outcome.alone = seqs is not None

    def seq() -> int | None:
        return next(seqs) if seqs is not None else None

    def keep(msg: Message) -> None:  # the transcript in memory stays what the store holds
        if seqs is not None:
            transcript.append(msg)

    for call in calls:
        name, call_id = call["name"], call["id"]
        arguments = json.loads(call["arguments"] or "{}")
        if call_id in actions:
            outcome.wait("approval")
            continue
        if name == ASK_USER:
            _ask(session, job, call_id, arguments["question"])
            outcome.wait("answer")
        elif name == UPDATE_PLAN:
            plan = [dict(s) for s in tools[name].tool.parse(arguments).model_dump()["steps"]]
            set_committed_value(job, "plan", plan)  # written by the step's version bump
            keep(tool_message(session, job.id, call_id, name, "Plan updated.", seq=seq()))
            events.record(session, job.id, "plan_updated", plan=plan)
        elif name == READ_MORE:
            keep(tool_message(session, job.id, call_id, name, _read_more(session, job, arguments), seq=seq()))
        elif tools[name].write:
            flags = proposal_flags(job, org, principal, tools[name], arguments, transcript)
            if not _refused(session, job, tools[name], call_id, flags, seq, keep):
                # Pending or auto-approved: either way the job waits for the action's result.
                propose(session, job, org, tools[name], call_id, arguments, transcript, flags or [])
                outcome.wait("approval")
        elif not _read(session, job, principal, tools[name], call_id, arguments, seq, keep):
            outcome.wait("reconnect")
            session.commit()
            continue  # the call stays unanswered; it runs again after the reconnect
        set_committed_value(job, "steps", job.steps + 1)  # written by the step's version bump
        if name == ASK_USER or tools[name].write:
            session.commit()
        elif call is not calls[-1]:  # a read, a plan, read_more: nothing outside the store acts on it
            commit_progress(session)
        # The last read of the turn is committed with the step's version bump, by the runner.
    return outcome


def _read(session: Session, job: Job, principal: Principal, ref: ToolRef, call_id: str, arguments: dict[str, Any],
          seq: Callable[[], int | None], keep: Callable[[Message], None]) -> bool:
    """Run a read tool and record its result; False when the person must reconnect first."""
    try:
        ref.tool.parse(arguments)
    except ToolError as exc:  # our own words about the model's arguments
        keep(tool_message(session, job.id, call_id, ref.tool.name, f"error ({exc.kind}): {exc.message}", seq=seq()))
        events.record(session, job.id, "tool_failed", tool=ref.tool.name, error=exc.message)
        return True
    try:
        result = run_read(job, principal, ref, arguments)
    except ReconnectRequired as exc:
        events.record(session, job.id, "reconnect_required", tool=ref.tool.name, message=exc.message)
        return False
    except ToolError as exc:  # may quote the outside server: cut, and fenced when the model reads it
        text = cut(exc.message)
        keep(tool_message(session, job.id, call_id, ref.tool.name, f"error ({exc.kind}): {text}", seq=seq(),
                          untrusted=True, source=f"{ref.tool.name} (error)"))
        events.record(session, job.id, "tool_failed", tool=ref.tool.name, error=text)
        return True
    keep(tool_message(session, job.id, call_id, ref.tool.name, result.as_text(), seq=seq(), untrusted=result.untrusted,
                      source=result.source, images=list(result.images or [])))
    events.record(session, job.id, "tool_called", tool=ref.tool.name, source=result.source, untrusted=result.untrusted)
    return True


def cut(text: str, limit: int = ERROR_MAX_CHARS) -> str:
    """At most `limit` characters of an error's text, saying when some were left out."""
    return text if len(text) <= limit else text[:limit].rstrip() + f" [… {len(text) - limit} characters cut]"


def proposal_flags(job: Job, org: Organisation, principal: Principal, ref: ToolRef, arguments: dict[str, Any],
                   transcript: list[Message]) -> list[dict[str, Any]] | None:
    """The risk flags of a proposed write (services/agent/risk.py), with the other parties its
    `destinations` hook names; None when the arguments do not parse (`propose` says why)."""
    try:
        parsed = ref.tool.parse(arguments)
    except ToolError:
        return None
    flags = risk_flags(ref.tool, parsed.model_dump(mode="json"), org, transcript, job.prompt)
    return flags + outside_parties(job, org, principal, ref, parsed)


def outside_parties(job: Job, org: Organisation, principal: Principal, ref: ToolRef, parsed: BaseModel
                    ) -> list[dict[str, Any]]:
    """Ask the tool who else the action would reach (a Slack Connect channel's other companies).
    A lookup that fails (Slack unreachable, a scope missing) is flagged as unchecked, never passed."""
    look = ref.tool.destinations
    if look is None:
        return []
    try:
        with Session(get_engine()) as world:
            found = look(tool_context(world, job, principal), parsed)
            world.commit()
    except ToolError as exc:  # may quote the outside server: cut
        return destination_flags(org, [], unchecked=cut(exc.message))
    return destination_flags(org, found)


def _refused(session: Session, job: Job, ref: ToolRef, call_id: str, flags: list[dict[str, Any]] | None,
             seq: Callable[[], int | None], keep: Callable[[Message], None]) -> bool:
    """Refuse a proposal the organisation's egress policy blocks ("mode": "block"): no Action, and
    the model reads why. Arguments that do not parse (no flags) are left to `propose`, which says so."""
    refused = blocked(flags or [])
    if not refused:
        return False
    why = "; ".join(describe(f) for f in refused)
    keep(tool_message(session, job.id, call_id, ref.tool.name,
                      f"error (blocked): refused by the organisation's egress policy, nothing was done: {why}. "
                      "Only the organisation's domains and the outside domains its policy allows may be reached; "
                      "tell the requester if this must go elsewhere.", seq=seq()))
    events.record(session, job.id, "action_blocked", tool=ref.tool.name, call_id=call_id,
                  risk_flags=[f["kind"] for f in refused])
    return True


def _ask(session: Session, job: Job, call_id: str, question: str) -> None:
    hold(session, job)  # a job cancelled while this step ran asks nobody anything
    asked = session.exec(select(Event).where(Event.job_id == job.id, Event.kind == "question_asked")).all()
    if not any(e.data.get("call_id") == call_id for e in asked):
        events.record(session, job.id, "question_asked", call_id=call_id, question=question)


def _read_more(session: Session, job: Job, arguments: dict[str, Any]) -> str:
    handle = str(arguments.get("handle", ""))
    offset = int(arguments.get("offset", 0))
    try:
        msg_id = int(handle.removeprefix("m:"))
    except ValueError:
        return f"error: unknown handle {handle!r}"
    msg = session.get(Message, msg_id)
    if msg is None or msg.job_id != job.id:
        return f"error: unknown handle {handle!r}"
    part = truncate(msg.content, handle, get_settings().tool_result_max_chars, offset)
    return part


def propose(
    session: Session, job: Job, org: Organisation, ref: ToolRef, call_id: str, arguments: dict[str, Any],
    transcript: list[Message], flags: list[dict[str, Any]],
) -> Action:
    """An Action for a write call, with the risk flags `proposal_flags` computed for it."""
    parsed = ref.tool.parse(arguments)
    canonical = parsed.model_dump(mode="json")
    now = utcnow()
    if ref.tool.preview is None:  # write tools always have one (Connector.write requires it)
        raise TypeError(f"write tool {ref.tool.name} has no preview")
    action = Action(
        job_id=job.id,
        tool_call_id=call_id,
        connector=ref.connector or "",
        tool=ref.tool.name,
        arguments=canonical,
        args_hash=args_hash(canonical),
        preview=ref.tool.preview(parsed).as_dict(),
        risk_flags=flags,
        context=recent_reads(transcript),
        expires_at=now + timedelta(seconds=approval_ttl_s(org, get_settings().approval_ttl_s)),
    )
    if not needs_person(org, ref.tool.name, action.risk_flags):
        action.status = ActionStatus.approved
        action.approved_hash = action.args_hash
        action.decided_by, action.decided_via, action.decided_at = "policy", "policy", now
    hold(session, job)  # a job cancelled while this step ran proposes nothing
    session.add(action)
    session.flush()
    if action.status == ActionStatus.approved:
        events.record(session, job.id, "auto_approved", action_id=action.id, tool=action.tool, actor="policy")
        enqueue_execute(session, action.id)
    else:
        events.record(session, job.id, "approval_requested", action_id=action.id, tool=action.tool,
                      risk_flags=[f["kind"] for f in action.risk_flags])
    return action


def recent_reads(transcript: list[Message], n: int = 5) -> list[dict[str, Any]]:
    """What the agent read just before proposing an action (shown to the approver)."""
    reads = [m for m in transcript if m.role == "tool"][-n:]
    return [{"tool": m.name, "source": m.source, "untrusted": m.untrusted, "message_id": m.id} for m in reads]
