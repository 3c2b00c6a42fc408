"""A job's transcript: its first message, appending to it, and the calls still without a result.

Several writers append to one transcript (the agent step, action executors, decisions, answers).
Concurrent writers lock the job row while they number their message; a step that is the only
writer numbers its own (see `append`). Whether a waiting job can go on is decided in
services/jobs/service.py (`maybe_resume`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.store.models import Job, Message, Principal


def first_user_message(job: Job, principal: Principal, now: datetime) -> str:
    """The request as the transcript's first message: who asked, their time zone and the time."""
    local = now.astimezone(ZoneInfo(principal.time_zone or "UTC"))
    return (
        f"Request from {principal.name or principal.email} <{principal.email}>, "
        f"time zone {principal.time_zone}. Now: {local:%A %Y-%m-%d %H:%M %Z}.\n\n{job.prompt}"
    )


def lock_job(session: Session, job_id: str) -> Job:
    """Lock the job row for this transaction and refresh it (PostgreSQL; SQLite serialises writers)."""
    return session.exec(
        select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
    ).one()


def append(session: Session, job_id: str, *, seq: int | None = None, **fields: Any) -> Message:
    """Add a message to the transcript. Writers that may run concurrently (executors, decisions,
    answers, a step whose turn proposed actions) pass no `seq`: the job row is locked and the
    next number read in one round trip, and the row is flushed at once. A step whose turn neither
    proposes actions nor asks a question is the only writer while it runs, so it passes `seq` and
    lets the rows go out with the step's next flush."""
    if seq is not None:
        msg = Message(job_id=job_id, seq=seq, **fields)
        session.add(msg)
        return msg
    last = select(func.max(Message.seq)).where(Message.job_id == job_id).scalar_subquery()
    _, last_seq = session.execute(select(Job.id, last).where(Job.id == job_id).with_for_update(of=Job)).one()
    msg = Message(job_id=job_id, seq=(last_seq if last_seq is not None else -1) + 1, **fields)
    session.add(msg)
    session.flush()
    return msg


def tool_message(session: Session, job_id: str, call_id: str, name: str, content: str, *, seq: int | None = None,
                 **extra: Any) -> Message:
    return append(session, job_id, seq=seq, role="tool", tool_call_id=call_id, name=name, content=content, **extra)


def last_assistant(session: Session, job_id: str) -> Message | None:
    return session.exec(
        select(Message)
        .where(Message.job_id == job_id, Message.role == "assistant")
        .order_by(col(Message.seq).desc())
        .limit(1)
    ).first()


def unanswered_calls(session: Session, job_id: str) -> list[dict[str, Any]]:
    """Tool calls of the latest assistant turn that have no tool result yet (reads only that turn)."""
    msg = last_assistant(session, job_id)
    if msg is None:
        return []
    since = session.exec(select(Message).where(Message.job_id == job_id, Message.seq >= msg.seq)
                         .order_by(col(Message.seq))).all()
    return unanswered_in(list(since))


def unanswered_in(messages: list[Message]) -> list[dict[str, Any]]:
    """Calls of the latest assistant turn in `messages` (ordered by seq) without a tool result."""
    last = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "assistant"), None)
    if last is None or not messages[last].tool_calls:
        return []
    answered = {m.tool_call_id for m in messages[last + 1:] if m.role == "tool"}
    return [c for c in messages[last].tool_calls if c["id"] not in answered]

