"""Job store tables (SQLModel). The store is the source of truth; Redis only carries ids."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    waiting = "waiting"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"
    expired = "expired"


FINAL_JOB_STATUSES = {JobStatus.completed, JobStatus.failed, JobStatus.cancelled, JobStatus.expired}


class ActionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    executing = "executing"
    succeeded = "succeeded"
    failed = "failed"
    in_doubt = "in_doubt"
    rejected = "rejected"
    expired = "expired"
    cancelled = "cancelled"  # never ran: its job ended (cancelled, failed, expired) first


FINAL_ACTION_STATUSES = {
    ActionStatus.succeeded,
    ActionStatus.failed,
    ActionStatus.in_doubt,
    ActionStatus.rejected,
    ActionStatus.expired,
    ActionStatus.cancelled,
}


class Organisation(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str
    domains: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Policy: {"auto_approve": [tool names], "approvers": [principal emails]}
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Principal(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    email: str = Field(index=True, unique=True)
    name: str = ""
    slack_user_id: Optional[str] = Field(default=None, index=True)
    time_zone: str = "UTC"
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True  # False: deactivated (cannot sign in, decide, or be an approver)
    deactivated_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    principal_id: str = Field(foreign_key="principal.id", index=True)
    source: str = "cli"  # cli | slack | web | api | schedule
    reply_to: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prompt: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = "task"  # task | triage
    reasoning_effort: str = "high"
    max_steps: int = 40
    max_tokens: int = 200_000
    deadline: Optional[datetime] = None
    status: str = Field(default=JobStatus.queued, index=True)  # JobStatus
    waiting_for: Optional[str] = None  # approval | answer
    version: int = 0
    lease_until: Optional[datetime] = None
    not_before: Optional[datetime] = None  # model unavailable: retry after this
    steps: int = 0
    model_turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    plan: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    result: Optional[str] = Field(default=None, sa_column=Column(Text))
    error: Optional[str] = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Message(SQLModel, table=True):
    """The transcript. `seq` orders it; resuming a job means reading it back."""

    __table_args__ = (UniqueConstraint("job_id", "seq"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="job.id", index=True)
    seq: int
    role: str  # system | user | assistant | tool
    content: str = Field(default="", sa_column=Column(Text, nullable=False))
    tool_calls: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tool_call_id: Optional[str] = None
    name: Optional[str] = None  # tool name for role=tool
    untrusted: bool = False  # content written by someone other than the requester
    source: Optional[str] = None  # where untrusted content came from (e.g. "gmail_read_thread:t-12")
    # Images a tool returned for a vision model (OpenAI image_url content parts, data URLs).
    images: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Action(SQLModel, table=True):
    """One proposed side effect, bound to the hash of the exact arguments shown."""

    id: str = Field(default_factory=new_id, primary_key=True)
    job_id: str = Field(foreign_key="job.id", index=True)
    tool_call_id: str
    connector: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    args_hash: str
    approved_hash: Optional[str] = None
    preview: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    risk_flags: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    context: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=ActionStatus.pending, index=True)  # ActionStatus
    decided_by: Optional[str] = None  # principal id, or "policy"
    decided_via: Optional[str] = None  # person | policy | system
    decided_at: Optional[datetime] = None
    reason: Optional[str] = Field(default=None, sa_column=Column(Text))
    feedback: Optional[str] = Field(default=None, sa_column=Column(Text))
    edited: bool = False
    result: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON))
    error: Optional[str] = Field(default=None, sa_column=Column(Text))
    attempts: int = 0
    expires_at: Optional[datetime] = None
    executing_since: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class Event(SQLModel, table=True):
    """Append-only timeline per job."""

    id: Optional[int] = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="job.id", index=True)
    action_id: Optional[str] = None
    kind: str
    actor: Optional[str] = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Credential(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("principal_id", "provider"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    principal_id: str = Field(foreign_key="principal.id", index=True)
    provider: str
    ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Schedule(SQLModel, table=True):
    """A standing request of one person: triage their inbox, deliver a report, or run a prompt,
    at the times `rrule` names in `time_zone` (DST included)."""

    id: str = Field(default_factory=new_id, primary_key=True)
    principal_id: str = Field(foreign_key="principal.id", index=True)
    kind: str = "triage"  # triage | report | request
    every_s: int = 24 * 3600  # legacy interval, used only when `rrule` is empty
    when_text: str = ""  # as the person said it: "weekdays 08:00"
    rrule: str = ""  # canonical RFC 5545 recurrence (python-dateutil), in `time_zone`'s wall time
    time_zone: str = "UTC"
    prompt: Optional[str] = Field(default=None, sa_column=Column(Text))  # report/request: what to do
    delivery: list[str] = Field(default_factory=lambda: ["web"], sa_column=Column(JSON, nullable=False))
    next_run_at: datetime = Field(default_factory=utcnow, index=True)
    last_slot_at: Optional[datetime] = None  # the latest slot claimed
    cursor: Optional[str] = None  # e.g. Gmail history id; only moves forward
    enabled: bool = True  # False: paused
    created_at: datetime = Field(default_factory=utcnow)


class ScheduleRun(SQLModel, table=True):
    """One claimed slot of a schedule. The unique (schedule, slot) row is the claim: two beats, a
    restarted beat or a repeated tick never start a slot twice. Slots missed during downtime are
    caught up as one run (`missed` counts the ones it stands for)."""

    __tablename__ = "schedule_run"
    __table_args__ = (UniqueConstraint("schedule_id", "slot_at"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    schedule_id: str = Field(foreign_key="schedule.id", index=True)
    slot_at: datetime  # UTC instant of the slot
    missed: int = 0  # earlier slots this run also stands for (downtime catch-up)
    status: str = "started"  # started | done | failed
    job_id: Optional[str] = None  # report / request: the job it started
    triage_run_id: Optional[str] = None
    note: Optional[str] = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None


class TriageRun(SQLModel, table=True):
    """One pass of triage over a person's new mail (scheduled, pushed, run now, or a dry run)."""

    __tablename__ = "triage_run"
    id: str = Field(default_factory=new_id, primary_key=True)
    principal_id: str = Field(foreign_key="principal.id", index=True)
    schedule_run_id: Optional[str] = Field(default=None, foreign_key="schedule_run.id")
    trigger: str = "schedule"  # schedule | push | manual | dry_run
    dry_run: bool = False  # shows what would happen; proposes nothing
    status: str = "running"  # running (queued) | classifying (claimed by a worker) | done | failed
    cursor_from: Optional[str] = None
    cursor_to: Optional[str] = None
    gap_note: Optional[str] = Field(default=None, sa_column=Column(Text))  # expired cursor, resync window
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    digest: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: Optional[str] = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None


class TriageItem(SQLModel, table=True):
    """One email triaged for one person: unique per person and message, so nothing is triaged twice."""

    __table_args__ = (UniqueConstraint("principal_id", "message_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    principal_id: str = Field(foreign_key="principal.id", index=True)
    message_id: str
    run_id: Optional[str] = Field(default=None, foreign_key="triage_run.id", index=True)
    thread_id: Optional[str] = None
    sender: Optional[str] = None
    subject: Optional[str] = None
    received_at: Optional[datetime] = None
    job_id: Optional[str] = None
    category: Optional[str] = None
    priority: Optional[str] = None  # high | normal | low
    needs_reply: Optional[bool] = None
    confidence: Optional[float] = None
    reason: Optional[str] = Field(default=None, sa_column=Column(Text))
    suggested: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    action_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rule_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # rules that fired
    status: str = "classified"  # classified | proposed | done | skipped
    created_at: datetime = Field(default_factory=utcnow)


class TriageRule(SQLModel, table=True):
    """A person's rule in plain language ("Newsletters: label Reading and archive"), versioned: an
    edit writes a new row with `version + 1` and deactivates the old one. `match` holds the
    sender/domain/subject part that also runs as a deterministic pre-filter."""

    __tablename__ = "triage_rule"
    id: str = Field(default_factory=new_id, primary_key=True)
    principal_id: str = Field(foreign_key="principal.id", index=True)
    rule_key: str = Field(default_factory=new_id, index=True)  # the same across a rule's versions
    version: int = 1
    text: str = Field(sa_column=Column(Text, nullable=False))
    match: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    actions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    source: str = "person"  # person | suggested (accepted from learning)
    created_at: datetime = Field(default_factory=utcnow)


class TriageMemory(SQLModel, table=True):
    """What triage learned from a person's decisions, visible and revertible: examples for the
    classifier and suggested rule changes the person accepts or declines."""

    __tablename__ = "triage_memory"
    id: str = Field(default_factory=new_id, primary_key=True)
    principal_id: str = Field(foreign_key="principal.id", index=True)
    kind: str  # example | suggestion
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = "active"  # active | forgotten | accepted | declined
    source_action_id: Optional[str] = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MailWatch(SQLModel, table=True):
    """Gmail push for one person (`users.watch`, renewed daily): when it expires and the history id
    it started from. A push for the mailbox triggers a debounced incremental triage."""

    __tablename__ = "mail_watch"
    principal_id: str = Field(foreign_key="principal.id", primary_key=True)
    provider: str = "gmail"
    email: str = Field(index=True)  # the mailbox Pub/Sub names in its notifications
    history_id: Optional[str] = None
    expires_at: Optional[datetime] = None
    last_push_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    """A personal API token (Bearer). Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"
    id: str = Field(default_factory=new_id, primary_key=True)
    principal_id: str = Field(foreign_key="principal.id", index=True)
    name: str
    token_hash: str = Field(index=True, unique=True)
    prefix: str  # first characters, so a person can tell their tokens apart
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None
    expires_at: datetime  # every token expires (services/api/tokens.py sets it, within the configured maximum)
    scope: str = "read-write"  # "read-only": GET only; "read-write": everything the person may do


class WebSession(SQLModel, table=True):
    """A signed-in browser. The signed cookie carries a random session id; only its SHA-256 is
    stored. It ends at sign-out, "sign out everywhere", deactivation, after `expires_at`, or when
    idle (no request since `last_seen_at`) for longer than the configured idle timeout."""

    __tablename__ = "web_session"
    id: str = Field(default_factory=new_id, primary_key=True)  # shown in Settings; not the secret
    principal_id: str = Field(foreign_key="principal.id", index=True)
    token_hash: str = Field(index=True, unique=True)
    user_agent: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: Optional[datetime] = None


class LoginLink(SQLModel, table=True):
    """A one-time sign-in link (development): single use, short expiry, stored hashed."""

    __tablename__ = "login_link"
    id: str = Field(default_factory=new_id, primary_key=True)
    principal_id: str = Field(foreign_key="principal.id", index=True)
    token_hash: str = Field(index=True, unique=True)
    expires_at: datetime
    used_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """The organisation-wide audit trail (services/audit.py): append-only, one row per thing a
    security team asks about (who asked for what, who decided which action with which arguments
    hash, what ran and how it ended, policy and people changes, sign-ins, connections). `data`
    holds ids, names, hashes and outcomes, never a secret or an action's arguments."""

    __tablename__ = "audit_event"
    id: Optional[int] = Field(default=None, primary_key=True)
    org_id: str = Field(index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    kind: str = Field(index=True)
    actor_id: Optional[str] = None  # a principal id, or "policy" / "system" / "cli"
    actor_email: Optional[str] = Field(default=None, index=True)  # kept as it was then
    job_id: Optional[str] = Field(default=None, index=True)
    action_id: Optional[str] = None
    subject: Optional[str] = None  # what it is about: a person's email, a provider, a tool
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
