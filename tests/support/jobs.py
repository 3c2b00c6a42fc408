"""Helpers for tests that run jobs: start one, wait for a status, read its actions, events and
messages, decide an action."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sqlmodel import Session, col, select

from services.approvals.service import decide
from services.jobs.service import create_job
from services.store.db import get_engine
from services.store.models import Action, Event, Job, Message


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05,
               what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def job_state(job_id: str) -> Job:
    with Session(get_engine(), expire_on_commit=False) as s:
        return s.get(Job, job_id)


def wait_status(job_id: str, *statuses: str, timeout: float = 30.0) -> Job:
    def check():
        job = job_state(job_id)
        return job if job.status in statuses else None

    try:
        return wait_until(check, timeout, what=f"job {job_id} to reach {statuses}")
    except AssertionError as timed_out:
        job = job_state(job_id)
        message = f"job is {job.status} (error={job.error!r}), wanted {statuses}; events: {kinds(job_id)}"
        raise AssertionError(message) from timed_out


def actions(job_id: str) -> list[Action]:
    with Session(get_engine(), expire_on_commit=False) as s:
        return list(s.exec(select(Action).where(Action.job_id == job_id).order_by(col(Action.created_at))))


def events(job_id: str) -> list[Event]:
    with Session(get_engine(), expire_on_commit=False) as s:
        return list(s.exec(select(Event).where(Event.job_id == job_id).order_by(col(Event.id))))


def kinds(job_id: str) -> list[str]:
    return [e.kind for e in events(job_id)]


def messages(job_id: str) -> list[Message]:
    with Session(get_engine(), expire_on_commit=False) as s:
        return list(s.exec(select(Message).where(Message.job_id == job_id).order_by(col(Message.seq))))


def last_tool_result(request: dict) -> str:
    """Content of the last tool message in a chat-completions request body."""
    for msg in reversed(request["messages"]):
        if msg["role"] == "tool":
            return msg["content"]
    raise AssertionError("no tool result in request")


def tool_result_json(request: dict) -> Any:
    """The last tool result of a request, parsed (without the untrusted-content fence)."""
    content = last_tool_result(request)
    if content.startswith("<untrusted"):
        content = content.split("\n", 1)[1].rsplit("\n", 1)[0]
    return json.loads(content)


def start(principal, prompt="Reply to Dana's meeting request", **kw) -> str:
    with Session(get_engine(), expire_on_commit=False) as s:
        job = create_job(session=s, principal=principal, prompt=prompt, **kw)
        s.commit()
        return job.id


def decide_now(action: Action, actor, **choice) -> Action:
    with Session(get_engine(), expire_on_commit=False) as s:
        result = decide(session=s, action_id=action.id, actor=actor, shown_hash=action.args_hash, **choice)
        s.commit()
        return result


def pending_action(job_id: str) -> Action:
    wait_status(job_id, "waiting")
    return wait_until(lambda: next((a for a in actions(job_id) if a.status == "pending"), None), what="pending action")
