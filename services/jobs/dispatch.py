"""Enqueue Celery tasks only after the transaction that made them necessary commits.

A task sent before its commit could run against state that is not there yet (or never will be,
after a rollback). `enqueue_*` registers the send on the session; it happens after commit and is
dropped on rollback. If the process dies between commit and send, the reconciler finds the job or
action by its state and enqueues it again: the store, not Redis, is the source of truth.

The commit and rollback hooks are attached to a session the first time something is enqueued on
it (SQLAlchemy's instance-level events), not to every Session of the process: a session that
enqueues nothing pays nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from services import queues

log = logging.getLogger(__name__)

_PENDING = "after_commit"
_HOOKED = "after_commit_hooked"


def _pending(session: Session) -> list[Callable[[], None]]:
    if not session.info.get(_HOOKED):
        event.listen(session, "after_commit", _run_after_commit)
        event.listen(session, "after_rollback", _drop_after_rollback)
        session.info[_HOOKED] = True
    pending: list[Callable[[], None]] = session.info.setdefault(_PENDING, [])
    return pending


def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(_PENDING, [])
    for cb in callbacks:
        try:
            cb()
        except Exception:  # the reconciler will enqueue it again from the store
            log.exception("enqueue after commit failed; the reconciler will retry")


def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's current transaction commits; never if it rolls back."""
    _pending(session).append(callback)


def send_task(name: str, args: list[Any], countdown: float | None = None) -> None:
    # Imported here: building the Celery app reads the settings, so it is built on first send.
    from services import broker

    broker.send_task(name, args, countdown=countdown)


def enqueue_advance(session: Session, job_id: str, version: int, *, countdown: float | None = None) -> None:
    after_commit(session, lambda: send_task(queues.ADVANCE, [job_id, version], countdown=countdown))


def enqueue_execute(session: Session, action_id: str, *, countdown: float | None = None) -> None:
    after_commit(session, lambda: send_task(queues.EXECUTE, [action_id], countdown=countdown))
