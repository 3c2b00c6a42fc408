"""REST shapes (pydantic). Public shapes never carry secrets or internal lease fields."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Optional, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.agent.risk import describe
from services.store.models import Action, Event, Job, Message

T = TypeVar("T")


def _no_nul(value: Any) -> Any:
    """PostgreSQL cannot store NUL characters, and no person means one: refuse them as input."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("contains a NUL character")
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k)
            _no_nul(v)
    elif isinstance(value, list):
        for v in value:
            _no_nul(v)
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Items matching, on all pages")
    limit: int
    offset: int
    next_offset: Optional[int] = Field(None, description="Offset of the next page; null on the last page")


def page(items: list, total: int, limit: int, offset: int) -> dict:
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "next_offset": offset + limit if offset + limit < total else None}


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: Text = Field(..., min_length=1, max_length=20_000, description="What you want done")
    reasoning_effort: Optional[Literal["none", "high"]] = Field(None, description="Default: the server's")
    max_steps: Optional[int] = Field(None, ge=1, le=500)
    max_tokens: Optional[int] = Field(None, ge=1000, le=10_000_000)
    deadline_s: Optional[int] = Field(None, ge=60, le=30 * 24 * 3600, description="Seconds until the job expires")


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    model_turns: int
    steps: int


class JobPublic(BaseModel):
    id: str
    status: str
    waiting_for: Optional[str]
    prompt: str
    source: str
    kind: str
    principal_id: str
    reasoning_effort: str
    plan: list[dict[str, Any]]
    usage: Usage
    result: Optional[str]
    error: Optional[str]
    created_at: datetime
    updated_at: datetime
    finished_at: Optional[datetime]

    @classmethod
    def of(cls, job: Job) -> JobPublic:
        usage = Usage(prompt_tokens=job.prompt_tokens, completion_tokens=job.completion_tokens,
                      total_tokens=job.total_tokens, model_turns=job.model_turns, steps=job.steps)
        return cls(**job.model_dump(include=set(cls.model_fields) - {"usage"}), usage=usage)


class RiskFlag(BaseModel):
    kind: str
    field: Optional[str] = None
    description: str
    value: Optional[str] = None
    source: Optional[str] = None


class ActionPublic(BaseModel):
    id: str
    job_id: str
    connector: str
    tool: str
    status: str
    arguments: dict[str, Any]
    args_hash: str = Field(description="Send it back with a decision: the decision applies to these arguments only")
    preview: dict[str, Any]
    risk_flags: list[RiskFlag]
    context: list[dict[str, Any]] = Field(description="What the agent read just before proposing this")
    decided_by: Optional[str]
    decided_via: Optional[str]
    decided_at: Optional[datetime]
    reason: Optional[str]
    feedback: Optional[str]
    edited: bool
    result: Optional[dict[str, Any]]
    error: Optional[str]
    expires_at: Optional[datetime]
    created_at: datetime

    @classmethod
    def of(cls, action: Action) -> ActionPublic:
        flags = [RiskFlag(kind=f.get("kind", "?"), field=f.get("field"), value=f.get("value"), source=f.get("source"),
                          description=describe(f)) for f in action.risk_flags]
        return cls(**action.model_dump(include=set(cls.model_fields) - {"risk_flags"}), risk_flags=flags)


class MessagePublic(BaseModel):
    seq: int
    role: str
    content: str
    tool_calls: list[dict[str, Any]]
    tool_call_id: Optional[str]
    name: Optional[str]
    untrusted: bool = Field(description="Written by someone other than the requester: data, not instructions")
    source: Optional[str]
    created_at: datetime

    @classmethod
    def of(cls, m: Message) -> MessagePublic:
        return cls(**m.model_dump(include=set(cls.model_fields)))


class EventPublic(BaseModel):
    id: int
    kind: str
    action_id: Optional[str]
    actor: Optional[str]
    data: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, e: Event) -> EventPublic:
        return cls(**e.model_dump(include=set(cls.model_fields)))


class JobDetail(JobPublic):
    messages: list[MessagePublic]
    actions: list[ActionPublic]
    events: list[EventPublic]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "edit", "reject", "respond"]
    args_hash: Text = Field(..., min_length=1, max_length=128,
                           description="The args_hash of the action as you were shown it")
    arguments: Annotated[Optional[dict[str, Any]], AfterValidator(_no_nul)] = Field(
        None, description="edit: the full, changed arguments")
    reason: Optional[Text] = Field(None, max_length=5000, description="reject: why (the agent is told)")
    feedback: Optional[Text] = Field(None, max_length=5000, description="respond: what the agent should do instead")


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text = Field(..., min_length=1, max_length=100)
    expires_days: Optional[int] = Field(None, ge=1, description="Lifetime in days; default "
                                        "WORKMODE_API_TOKEN_DEFAULT_DAYS, at most WORKMODE_API_TOKEN_MAX_DAYS")
    scope: Literal["read-only", "read-write"] = Field("read-write", description="read-only: GET requests only")


class TokenPublic(BaseModel):
    id: str
    name: str
    prefix: str
    scope: str
    created_at: datetime
    expires_at: datetime
    last_used_at: Optional[datetime]
    revoked_at: Optional[datetime]


class TokenCreated(TokenPublic):
    token: str = Field(description="Shown once: store it now")


class Check(BaseModel):
    ok: bool
    detail: str = ""


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, Check]
    failed: list[str]


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["triage", "report", "request"]
    when: Text = Field(..., min_length=1, max_length=300,
                       description='"weekdays 08:00", "every Monday 09:00", "daily 07:30", or an RRULE')
    prompt: Optional[Text] = Field(None, max_length=5000, description="report/request: what to do")
    tz: Optional[Text] = Field(None, max_length=64, description="IANA time zone; default: the person's")
    deliver: Optional[list[Literal["web", "slack", "email"]]] = Field(
        None, description="Where the result goes; default: web, and a Slack DM when the person has Slack")


class ScheduleRunPublic(BaseModel):
    id: str
    slot_at: datetime
    missed: int = Field(description="Earlier slots this run also stands for (caught up after downtime)")
    status: str
    job_id: Optional[str]
    triage_run_id: Optional[str]
    note: Optional[str]


class SchedulePublic(BaseModel):
    id: str
    kind: str
    when: str
    rrule: str
    time_zone: str
    prompt: Optional[str]
    deliver: list[str]
    enabled: bool
    next_run_at: datetime
    last_slot_at: Optional[datetime]
    created_at: datetime

    @classmethod
    def of(cls, s: Any) -> SchedulePublic:
        return cls(id=s.id, kind=s.kind, when=s.when_text, rrule=s.rrule, time_zone=s.time_zone, prompt=s.prompt,
                   deliver=list(s.delivery), enabled=s.enabled, next_run_at=s.next_run_at,
                   last_slot_at=s.last_slot_at, created_at=s.created_at)
