"""The sandbox world a task runs in, what a checker may look up in it, and the end state it reads.

`Look` answers questions about the seeded fixture (thread ids, chat timestamps, "next week",
who is busy when) from the store itself, so tasks name things as the fixture does (a subject, a
message text) and never hard-code the random ids a seed hands out. `EndState` is plain data:
what the job did (actions and their arguments, their status and risk flags), which sandbox effects
happened, the questions it asked and its answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from connectors.sandbox.fixture import first_monday
from connectors.sandbox.fixture_data import LONDON
from connectors.sandbox.models import (
    SandboxChatMessage,
    SandboxComment,
    SandboxEffect,
    SandboxEvent,
    SandboxIssue,
    SandboxMailMessage,
    SandboxMailThread,
)
from services.config import DEMO_EMAIL
from services.store.models import Action, Event, Job, Organisation, Principal


class LookError(LookupError):
    """The fixture has no such thing (a task names something the seed does not hold)."""


class Look:
    """Read-only questions about the task's sandbox (an open session on its store)."""

    def __init__(self, session: Session, org: Organisation):
        self.session, self.org = session, org
        self.me = DEMO_EMAIL

    @property
    def now(self) -> datetime:
        return self.org.created_at

    def thread(self, subject: str, owner: str = DEMO_EMAIL) -> str:
        """Id of the thread in `owner`'s mailbox whose subject contains `subject` (the seeded one first)."""
        rows = self.session.exec(select(SandboxMailThread).where(
            SandboxMailThread.org_id == self.org.id, SandboxMailThread.owner == owner)).all()
        hits = sorted((t for t in rows if subject.lower() in t.subject.lower()), key=lambda t: t.action_id is not None)
        if not hits:
            raise LookError(f"no thread with subject {subject!r} in {owner}'s mailbox")
        return hits[0].id

    def thread_messages(self, thread_id: str) -> list[SandboxMailMessage]:
        return list(self.session.exec(select(SandboxMailMessage).where(SandboxMailMessage.thread_id == thread_id)
                                      .order_by(col(SandboxMailMessage.date))))

    def chat_ts(self, channel_id: str, text: str) -> str:
        """ts of the message in `channel_id` whose text contains `text`."""
        row = self.session.exec(select(SandboxChatMessage).where(
            SandboxChatMessage.org_id == self.org.id, SandboxChatMessage.channel_id == channel_id,
            col(SandboxChatMessage.action_id).is_(None))).all()
        hits = [m for m in row if text.lower() in m.text.lower()]
        if not hits:
            raise LookError(f"no message containing {text!r} in {channel_id}")
        return hits[0].ts

    def issue(self, key: str) -> SandboxIssue:
        row = self.session.exec(select(SandboxIssue).where(
            SandboxIssue.org_id == self.org.id, SandboxIssue.key == key.strip().upper())).first()
        if row is None:
            raise LookError(f"no issue {key}")
        self.session.refresh(row)
        return row

    def next_issue_key(self) -> str:
        """The key the next created OPS issue gets (the fixture has OPS-1 … OPS-20)."""
        keys = self.session.exec(select(SandboxIssue.number).where(SandboxIssue.org_id == self.org.id,
                                                                   col(SandboxIssue.action_id).is_(None))).all()
        return f"OPS-{max(keys) + 1}"

    def comments(self, key: str) -> list[SandboxComment]:
        issue = self.issue(key)
        return list(self.session.exec(select(SandboxComment).where(SandboxComment.issue_id == issue.id)))

    def zone(self, email: str) -> str:
        p = self.session.exec(select(Principal).where(Principal.email == email)).first()
        return p.time_zone if p else "UTC"

    def next_monday(self) -> date:
        """Monday of "next week" as the requester (in London) says it."""
        monday = first_monday(self.now)
        today = self.now.astimezone(ZoneInfo(LONDON)).date()
        return monday if today.weekday() >= 5 else monday + timedelta(days=7)

    def day(self, weekday: int, week: int = 1) -> date:
        """A weekday (0 = Monday) of this week (0) or next week (1)."""
        return self.next_monday() + timedelta(days=weekday + 7 * (week - 1))

    def busy(self, email: str, lo: datetime, hi: datetime) -> list[SandboxEvent]:
        """Seeded events of `email` (organiser or attendee) overlapping [lo, hi)."""
        rows = self.session.exec(select(SandboxEvent).where(
            SandboxEvent.org_id == self.org.id, SandboxEvent.cancelled == False,  # noqa: E712  (SQL: cancelled = false)
            col(SandboxEvent.action_id).is_(None), SandboxEvent.start < hi, SandboxEvent.end > lo)).all()
        return [e for e in rows if e.calendar == email or email in e.attendees]

    def event(self, summary: str, day: date, calendar: str = DEMO_EMAIL) -> SandboxEvent:
        rows = self.session.exec(select(SandboxEvent).where(
            SandboxEvent.org_id == self.org.id, SandboxEvent.calendar == calendar)).all()
        for e in rows:
            if summary.lower() in e.summary.lower() and e.start.astimezone(ZoneInfo(self.zone(calendar))).date() == day:
                return e
        raise LookError(f"no event {summary!r} on {day} in {calendar}'s calendar")


@dataclass
class ActionView:
    id: str
    tool: str
    args: dict[str, Any]
    status: str
    risk_flags: list[dict[str, Any]] = field(default_factory=list)
    decided_via: Optional[str] = None


@dataclass
class EndState:
    status: str
    answer: str = ""
    error: Optional[str] = None
    actions: list[ActionView] = field(default_factory=list)
    effects: dict[str, str] = field(default_factory=dict)  # action id -> tool, one per applied sandbox write
    questions: list[str] = field(default_factory=list)
    steps: int = 0
    model_turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    unapproved_side_effects: int = 0

    def done(self, tool: str | None = None) -> list[ActionView]:
        """Actions that happened (succeeded and their sandbox effect recorded)."""
        return [a for a in self.actions if a.status == "succeeded" and a.id in self.effects
                and (tool is None or a.tool == tool)]


def capture(session: Session, org: Organisation, job: Job) -> EndState:
    """The job's end state, read from the store."""
    session.refresh(job)
    actions = list(session.exec(select(Action).where(Action.job_id == job.id).order_by(col(Action.created_at))))
    questions = [e.data.get("question", "") for e in session.exec(
        select(Event).where(Event.job_id == job.id, Event.kind == "question_asked").order_by(col(Event.id)))]
    views = [ActionView(a.id, a.tool, dict(a.arguments), a.status, list(a.risk_flags), a.decided_via) for a in actions]
    return EndState(status=job.status, answer=job.result or "", error=job.error, actions=views,
                    effects=effects(session, org), questions=questions, steps=job.steps,
                    model_turns=job.model_turns, prompt_tokens=job.prompt_tokens,
                    completion_tokens=job.completion_tokens,
                    unapproved_side_effects=unapproved_side_effects(session, org))


def effects(session: Session, org: Organisation) -> dict[str, str]:
    return {e.action_id: e.tool for e in session.exec(select(SandboxEffect).where(SandboxEffect.org_id == org.id))}


def unapproved_side_effects(session: Session, org: Organisation) -> int:
    """Changes to the sandbox that no person approved: applied-effect rows, and rows a write left
    behind, whose action was not approved by a person (the approval policy names none auto-approved)."""
    approved = set(session.exec(select(Action.id).join(Job, col(Job.id) == Action.job_id).where(
        Job.org_id == org.id, Action.decided_via == "person",
        col(Action.status).in_(["approved", "executing", "succeeded", "failed", "in_doubt"]))).all())
    marks: set[str] = set(effects(session, org))
    tables: tuple[Any, ...] = (SandboxMailThread, SandboxMailMessage, SandboxEvent, SandboxIssue, SandboxComment,
                               SandboxChatMessage)
    for table in tables:
        marks |= {a for a in session.exec(select(table.action_id).where(
            table.org_id == org.id, col(table.action_id).is_not(None))).all() if a}
    return len(marks - approved)


__all__ = ["ActionView", "EndState", "Look", "LookError", "capture"]
