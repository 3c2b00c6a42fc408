"""Moving a job between installations (`workmode jobs export|import`, `GET /api/jobs/{id}/export`,
`POST /api/jobs/import`): the transcript, plan, actions and timeline go in one JSON document; the
target re-validates every open action against its own tools and binds it afresh.

What is exported: the request, budgets, plan, result, every message of the transcript, every
action (arguments, preview, outcome) and the timeline, with people named by email. What never is:
credentials (the store's `credential` rows are not read at all), the job's Slack bookkeeping
(`reply_to`, which holds response URLs), principal ids and the organisation's policy.

On import, for the person named (`--as`): every open action (pending, or approved but never run)
and every tool call still waiting for a result must name a tool the target's organisation has;
otherwise the import is refused and names the tools. Each open action's arguments are parsed by
the target's tool, and its hash, preview and risk flags are computed here (never copied): it waits
for a person of the target, with a fresh expiry (the target organisation's approval time limit),
exactly as if it had just been proposed. The job
keeps its state: a waiting job waits (its approvals are requested anew, so Slack DMs them), a
queued or running one is queued and goes on, a finished one is kept as a record.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, col, select

from connectors.base import ToolError, args_hash
from services.agent.risk import blocked, risk_flags
from services.agent.toolbox import ToolRef, job_tools
from services.config import get_settings
from services.errors import Invalid
from services.jobs import events
from services.jobs.dispatch import enqueue_advance
from services.jobs.service import transcript
from services.jobs.transcript import unanswered_in
from services.policy import approval_ttl_s
from services.store.models import (
    FINAL_ACTION_STATUSES,
    FINAL_JOB_STATUSES,
    Action,
    ActionStatus,
    Event,
    Job,
    JobStatus,
    Message,
    Organisation,
    Principal,
    utcnow,
)

FORMAT = "workmode.job"
VERSION = 1
OPEN = (ActionStatus.pending, ActionStatus.approved)


class TransferRefused(Invalid):
    """The document cannot become a job here (broken, or it needs tools this installation lacks)."""


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore")


BIG = 2_000_000_000  # what the store's integer columns hold


class MessageDoc(_Doc):
    seq: int = Field(ge=0, le=BIG)
    role: str = Field(pattern="^(system|user|assistant|tool)$")
    content: str = ""
    tool_calls: list[dict[str, Any]] = []
    tool_call_id: Optional[str] = None
    name: Optional[str] = None
    untrusted: bool = False
    source: Optional[str] = None
    images: list[dict[str, Any]] = []


class ActionDoc(_Doc):
    id: str
    tool_call_id: str
    connector: str = ""
    tool: str
    arguments: dict[str, Any]
    status: str
    preview: dict[str, Any] = {}
    risk_flags: list[dict[str, Any]] = []
    context: list[dict[str, Any]] = []
    decided_by: Optional[str] = None  # an email, "policy", or None
    decided_via: Optional[str] = None
    decided_at: Optional[datetime] = None
    reason: Optional[str] = None
    feedback: Optional[str] = None
    edited: bool = False
    result: Optional[dict[str, Any]] = None
    error: Optional[str] = None
    created_at: Optional[datetime] = None


class EventDoc(_Doc):
    kind: str
    action_id: Optional[str] = None
    actor: Optional[str] = None  # an email, "policy", or None
    data: dict[str, Any] = {}
    created_at: Optional[datetime] = None


class JobDoc(_Doc):
    id: str
    prompt: str = Field(min_length=1)
    kind: str = "task"
    status: str
    waiting_for: Optional[str] = None
    reasoning_effort: str = Field(default="high", pattern="^(none|high)$")
    max_steps: int = Field(gt=0, le=BIG)
    max_tokens: int = Field(gt=0, le=BIG)
    deadline_left_s: Optional[int] = Field(default=None, le=366 * 24 * 3600)
    steps: int = Field(default=0, ge=0, le=BIG)
    model_turns: int = Field(default=0, ge=0, le=BIG)
    prompt_tokens: int = Field(default=0, ge=0, le=BIG)
    completion_tokens: int = Field(default=0, ge=0, le=BIG)
    plan: list[dict[str, Any]] = []
    result: Optional[str] = None
    error: Optional[str] = None
    requester: str
    organisation: str
    created_at: Optional[datetime] = None


class ExportDoc(_Doc):
    format: str
    version: int
    exported_at: datetime
    job: JobDoc
    messages: list[MessageDoc] = Field(min_length=1)
    actions: list[ActionDoc] = []
    events: list[EventDoc] = []


# ------------------------------------------------------------------ export
def export_job(*, session: Session, job: Job) -> dict[str, Any]:
    """The job as a JSON-ready document. Reads the job's own rows only: no credential, no Slack
    bookkeeping, no principal ids (people are named by email)."""
    org = session.get_one(Organisation, job.org_id)
    emails = {p.id: p.email for p in session.exec(select(Principal).where(Principal.org_id == job.org_id))}

    def person(principal_id: Optional[str]) -> Optional[str]:
        return emails.get(principal_id, principal_id if principal_id in (None, "policy") else None) \
            if principal_id else None

    now = utcnow()
    deadline = job.deadline if job.deadline is None or job.deadline.tzinfo else job.deadline.replace(tzinfo=now.tzinfo)
    actions = session.exec(select(Action).where(Action.job_id == job.id).order_by(col(Action.created_at))).all()
    timeline = session.exec(select(Event).where(Event.job_id == job.id).order_by(col(Event.id))).all()
    doc = ExportDoc(
        format=FORMAT, version=VERSION, exported_at=now,
        job=JobDoc(id=job.id, prompt=job.prompt, kind=job.kind, status=job.status, waiting_for=job.waiting_for,
                   reasoning_effort=job.reasoning_effort, max_steps=job.max_steps, max_tokens=job.max_tokens,
                   deadline_left_s=int((deadline - now).total_seconds()) if deadline else None,
                   steps=job.steps, model_turns=job.model_turns, prompt_tokens=job.prompt_tokens,
                   completion_tokens=job.completion_tokens, plan=job.plan, result=job.result, error=job.error,
                   requester=emails.get(job.principal_id, ""), organisation=org.name, created_at=job.created_at),
        messages=[MessageDoc(seq=m.seq, role=m.role, content=m.content, tool_calls=m.tool_calls,
                             tool_call_id=m.tool_call_id, name=m.name, untrusted=m.untrusted, source=m.source,
                             images=m.images) for m in transcript(session=session, job_id=job.id)],
        actions=[ActionDoc(id=a.id, tool_call_id=a.tool_call_id, connector=a.connector, tool=a.tool,
                           arguments=a.arguments, status=a.status, preview=a.preview, risk_flags=a.risk_flags,
                           context=a.context, decided_by=person(a.decided_by), decided_via=a.decided_via,
                           decided_at=a.decided_at, reason=a.reason, feedback=a.feedback, edited=a.edited,
                           result=a.result, error=a.error, created_at=a.created_at) for a in actions],
        events=[EventDoc(kind=e.kind, action_id=e.action_id, actor=person(e.actor), data=_event_data(e, person),
                         created_at=e.created_at) for e in timeline],
    )
    return doc.model_dump(mode="json")


def _event_data(event: Event, person: Any) -> dict[str, Any]:
    data = dict(event.data or {})
    if isinstance(data.get("approvers"), list):  # reminders name people by id
        data["approvers"] = [person(p) for p in data["approvers"]]
    if isinstance(data.get("principal"), str):
        data["principal"] = person(data["principal"])
    return data


# ------------------------------------------------------------------ import
def parse_export(data: Any) -> ExportDoc:
    if not isinstance(data, dict):
        raise TransferRefused("not a Workmode job export: expected a JSON object", "document")
    if data.get("format") != FORMAT:
        raise TransferRefused(f"not a Workmode job export (format must be {FORMAT!r})", "format")
    if data.get("version") != VERSION:
        raise TransferRefused(f"this installation reads job exports of version {VERSION}, not {data.get('version')!r}",
                              "version")
    nul = _nul_at(data)
    if nul is not None:
        raise TransferRefused(f"the job export is broken at {nul}: text may not contain NUL characters", nul)
    try:
        doc = ExportDoc.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise TransferRefused(f"the job export is broken at {where}: {first['msg']}", where) from None
    for i, m in enumerate(doc.messages):
        for call in m.tool_calls:
            if not isinstance(call.get("id"), str) or not isinstance(call.get("name"), str):
                raise TransferRefused(f"the job export is broken at messages.{i}.tool_calls: each call needs a "
                                      "string id and name", f"messages.{i}.tool_calls")
    return doc


def _nul_at(value: Any, path: str = "document") -> Optional[str]:
    """Where a NUL character hides in the document (the store refuses them), if anywhere."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_at(key, path) or _nul_at(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_at(item, f"{path}.{i}")
            if found:
                return found
    return None


def import_job(*, session: Session, data: Any, principal: Principal) -> Job:
    """Create the exported job here, for `principal`; the caller commits (the job's next step and
    its approval notices go out after the commit). Refused, with nothing written, when the
    document is broken or an open action or waiting call needs a tool this organisation lacks."""
    doc = parse_export(data)
    org = session.get_one(Organisation, principal.org_id)
    tools = job_tools(org)
    seqs = [m.seq for m in doc.messages]
    if len(set(seqs)) != len(seqs):
        raise TransferRefused("the job export is broken: two messages have the same seq", "messages")
    open_actions = [a for a in doc.actions if a.status in OPEN]
    if any(a.status == ActionStatus.executing for a in doc.actions):
        raise TransferRefused("an action of this job was running when it was exported; export it again once it "
                              "has finished", "actions")
    known = {s.value for s in (*OPEN, *FINAL_ACTION_STATUSES)}
    odd = sorted({a.status for a in doc.actions if a.status not in known})
    if odd:
        raise TransferRefused(f"the job export is broken: unknown action status {', '.join(odd)}", "actions")
    history = [Message(job_id="", seq=m.seq, role=m.role, content=m.content, tool_calls=m.tool_calls,
                       tool_call_id=m.tool_call_id, name=m.name, untrusted=m.untrusted, source=m.source)
               for m in sorted(doc.messages, key=lambda m: m.seq)]
    answered_calls = {a.tool_call_id for a in open_actions}
    waiting_calls = [c for c in unanswered_in(history) if c.get("id") not in answered_calls]
    needed = sorted({a.tool for a in open_actions} | {str(c.get("name")) for c in waiting_calls})
    missing = [name for name in needed if name not in tools]
    if missing:
        raise TransferRefused(
            f"this job needs tools that {org.name} does not have here: {', '.join(missing)} "
            "(an admin can choose the connector for that family in the organisation's policy)", "tools")
    not_writes = [a.tool for a in open_actions if not tools[a.tool].write]
    if not_writes:
        raise TransferRefused(f"these are not actions that need approval here: {', '.join(not_writes)}", "actions")

    now = utcnow()
    settings = get_settings()
    status, waiting_for = _status(doc.job.status, doc.job.waiting_for, bool(open_actions), bool(waiting_calls))
    left = doc.job.deadline_left_s
    deadline_s = left if left is not None and left > 0 else settings.default_deadline_s
    job = Job(org_id=org.id, principal_id=principal.id, source="import", prompt=doc.job.prompt, kind=doc.job.kind,
              reasoning_effort=doc.job.reasoning_effort, max_steps=doc.job.max_steps, max_tokens=doc.job.max_tokens,
              deadline=now + timedelta(seconds=deadline_s), status=status,
              waiting_for=waiting_for,
              steps=doc.job.steps, model_turns=doc.job.model_turns, prompt_tokens=doc.job.prompt_tokens,
              completion_tokens=doc.job.completion_tokens, plan=doc.job.plan, result=doc.job.result,
              error=doc.job.error, finished_at=now if status in FINAL_JOB_STATUSES else None)
    session.add(job)
    session.flush()
    for m, source in zip(history, sorted(doc.messages, key=lambda m: m.seq), strict=True):
        m.job_id, m.images = job.id, source.images
        session.add(m)
    session.flush()
    people = {p.email: p.id for p in session.exec(select(Principal).where(Principal.org_id == org.id))}
    ttl_s = approval_ttl_s(org, settings.approval_ttl_s)  # the target organisation's, as for a new proposal
    action_ids: dict[str, str] = {}
    rebound: list[Action] = []
    for a in doc.actions:
        action = _action(job, org, a, tools, history, people, now, ttl_s) if a.status in OPEN \
            else _record(job, a, people)
        session.add(action)
        session.flush()
        action_ids[a.id] = action.id
        if a.status in OPEN:
            rebound.append(action)
    for e in doc.events:
        data = dict(e.data)
        session.add(Event(job_id=job.id, kind=e.kind, action_id=action_ids.get(e.action_id or ""),
                          actor=people.get(e.actor or "", "policy" if e.actor == "policy" else None),
                          data=data, created_at=e.created_at or now))
    events.record(session, job.id, "imported", actor=principal.id, from_job=doc.job.id,
                  from_organisation=doc.job.organisation, from_requester=doc.job.requester,
                  exported_at=doc.exported_at.isoformat(), actions_rebound=len(rebound))
    for action in rebound:  # asked anew here: the notifier DMs them, the reminders count from now
        events.record(session, job.id, "approval_requested", action_id=action.id, tool=action.tool,
                      risk_flags=[f["kind"] for f in action.risk_flags], imported=True)
    if status == JobStatus.queued:
        enqueue_advance(session, job.id, job.version)
    return job


def _status(exported: str, waiting_for: Optional[str], approvals: bool, calls: bool) -> tuple[JobStatus, Optional[str]]:
    """The job's state here: finished stays finished; open approvals wait for a person here; a
    question waits for its answer; anything else (queued, running, waiting for a reconnect, whose
    reads run again here with this person's connections) goes on."""
    if exported in {s.value for s in FINAL_JOB_STATUSES}:
        return JobStatus(exported), None
    if approvals:
        return JobStatus.waiting, "approval"
    if exported == JobStatus.waiting and waiting_for == "answer" and calls:
        return JobStatus.waiting, "answer"
    return JobStatus.queued, None


def _action(job: Job, org: Organisation, a: ActionDoc, tools: dict[str, ToolRef], history: list[Message],
            people: dict[str, str], now: datetime, ttl_s: int) -> Action:
    """An open action, validated by the target's tool and bound to what it computes here."""
    ref = tools[a.tool]
    try:
        parsed = ref.tool.parse(a.arguments)
    except ToolError as exc:
        raise TransferRefused(f"the arguments of {a.tool} do not fit this installation's tool: {exc.message}",
                              "actions") from exc
    canonical = parsed.model_dump(mode="json")
    if ref.tool.preview is None:  # write tools always have one (Connector.write requires it)
        raise TypeError(f"write tool {a.tool} has no preview")
    flags = risk_flags(ref.tool, canonical, org, history, job.prompt)
    if blocked(flags):
        raise TransferRefused(f"{a.tool} would reach a domain {org.name}'s policy blocks: "
                              + ", ".join(str(f.get("value")) for f in blocked(flags)), "actions")
    return Action(job_id=job.id, tool_call_id=a.tool_call_id, connector=ref.connector or "", tool=a.tool,
                  arguments=canonical, args_hash=args_hash(canonical), preview=ref.tool.preview(parsed).as_dict(),
                  risk_flags=flags, context=a.context, status=ActionStatus.pending, edited=a.edited,
                  expires_at=now + timedelta(seconds=ttl_s), created_at=now, updated_at=now)


def _record(job: Job, a: ActionDoc, people: dict[str, str]) -> Action:
    """A settled action, kept as the record of what happened at the source (it never runs here)."""
    decided_by = people.get(a.decided_by or "", "policy" if a.decided_by == "policy" else None)
    return Action(job_id=job.id, tool_call_id=a.tool_call_id, connector=a.connector, tool=a.tool,
                  arguments=a.arguments, args_hash=args_hash(a.arguments), preview=a.preview,
                  risk_flags=a.risk_flags, context=a.context, status=a.status, decided_by=decided_by,
                  decided_via=a.decided_via, decided_at=a.decided_at, reason=a.reason, feedback=a.feedback,
                  edited=a.edited, result=a.result, error=a.error, created_at=a.created_at or utcnow())
