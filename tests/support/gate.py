"""Helpers for the approval gate's edge and race tests: drive a job to a pending approval without a
worker (the engine's own functions, tasks left in Redis), count what the sandbox world received,
and hold a real PostgreSQL table lock to pause a step or an executor at a chosen place."""
from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from connectors.sandbox.models import SandboxEffect, SandboxMessage
from services.agent.runner import advance
from services.jobs.service import cancel_job
from services.store.db import get_engine
from services.store.models import Action
from tests.fakes.model_server import ScriptedModel, tool_calls
from tests.support.jobs import actions, start, wait_until

SEND = ("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "Tuesday works."})


def propose_send(model: ScriptedModel, principal, **job) -> tuple[str, Action]:
    """A job whose first step proposes one email and waits for its approval."""
    model.push(tool_calls(SEND))
    job_id = start(principal, **job)
    assert advance(job_id, 0) == "waiting"
    (action,) = actions(job_id)
    assert action.status == "pending"
    return job_id, action


def sent(action_id: str) -> int:
    """Mail the sandbox world holds from this action (the outside effect)."""
    with Session(get_engine()) as s:
        return len(s.exec(select(SandboxMessage).where(SandboxMessage.action_id == action_id)).all())


def effects(action_id: str) -> int:
    with Session(get_engine()) as s:
        return len(s.exec(select(SandboxEffect).where(SandboxEffect.action_id == action_id)).all())


def cancel(job_id: str, actor) -> None:
    with Session(get_engine()) as s:
        cancel_job(session=s, job_id=job_id, actor=actor)
        s.commit()


class TableLock:
    """An ACCESS EXCLUSIVE lock on one table, held by a connection of its own (PostgreSQL): any
    session that touches the table waits until `release()`; `wait_blocked()` returns once one does."""

    def __init__(self, table: str):
        self.table = table
        self.conn = get_engine().connect()
        self.conn.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))

    def waiters(self) -> int:
        with get_engine().connect() as probe:
            return probe.execute(sa.text(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = CAST(:t AS regclass)"),
                {"t": self.table}).scalar_one()

    def wait_blocked(self) -> None:
        wait_until(lambda: self.waiters() > 0, what=f"a session waiting on {self.table}")

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()

    def __enter__(self) -> TableLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
