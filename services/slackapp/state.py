"""What the Slack app remembers about a job, kept in `job.reply_to` (no table of its own).

reply_to of a job created from Slack:
    {"team", "channel", "user", "trigger_id", "response_url", "channel_name",
     "ts"/"thread_ts" (the job's message, once posted),
     "slack": {"card": {"hash", "at", "deferred_until"},
               "approvals": {action_id: {"msgs": [[channel, ts], ...], "hash"}},
               "questions": {call_id: ts}, "answered": [message ts, ...]}}
Other jobs only get a "slack" key when an approval of theirs was DMed.

Writers (the notifier, the thread-reply handler) change only their own keys, under the row's
write lock, so they never lose each other's updates; the engine never writes reply_to.
"""
from __future__ import annotations

import copy
import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select, text, update
from sqlmodel import Session, col

from services.store.db import get_engine
from services.store.models import Job

KEY = "slack"


def slack_state(reply_to: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy((reply_to or {}).get(KEY) or {})


def update_reply_to(session: Session, job_id: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Read-modify-write job.reply_to under the row's write lock (PostgreSQL row lock; SQLite
    database write lock). The caller commits."""
    session.execute(update(Job).where(col(Job.id) == job_id).values(reply_to=Job.reply_to))  # take the lock
    current = session.scalar(select(col(Job.reply_to)).where(col(Job.id) == job_id)
                             .execution_options(populate_existing=True))
    new = copy.deepcopy(current or {})
    change(new)
    session.execute(update(Job).where(col(Job.id) == job_id).values(reply_to=new))
    return new


def lock_principal(session: Session, principal_id: str) -> None:
    """Serialise one person's Slack job creation (dedupe check, then insert)."""
    from services.store.models import Principal

    session.execute(update(Principal).where(col(Principal.id) == principal_id).values(email=Principal.email))


_STRIPES = [threading.Lock() for _ in range(64)]


def _key(job_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"workmode-notify:{job_id}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def notify_lock(job_id: str) -> Iterator[bool]:
    """One notifier at a time per job, across processes (PostgreSQL advisory lock) or threads
    (SQLite, one process). Yields False when another holds it."""
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _key(job_id)}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(job_id)})
                    conn.commit()
        return
    lock = _STRIPES[_key(job_id) % len(_STRIPES)]
    got = lock.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            lock.release()
