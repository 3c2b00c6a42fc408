"""Enqueue Celery tasks only after the transaction that made them necessary commits.

A task sent before its commit could run against state that is not there yet (or never will be,
after a rollback). `enqueue_*` registers the send on the session; it happens after commit and is
dropped on rollback. If the process dies between commit and send, the reconciler finds the job or
action by its state and enqueues it again: the store, not Redis, is the source of truth.

The commit and rollback hooks are attached to a session the first time something is enqueued on
it (SQLAlchemy's instance-level events), not to every Session of the process: a session that
enqueues nothing pays nothing.

Savepoints (`session.begin_nested()`): SQLAlchemy emits `after_commit` when a savepoint is released
too, long before the outer transaction commits, so each pending send remembers how deeply nested
its transaction was. A released savepoint hands its sends to the transaction around it; a
savepoint rolled back drops only the sends made inside it; only the outermost commit sends.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from services import queues

log = logging.getLogger(__name__)

_PENDING = "after_commit"
_HOOKED = "after_commit_hooked"


def _depth(transaction: SessionTransaction | None) -> int:
    """How many savepoints deep `transaction` is (0: the outermost transaction, or none yet)."""
    depth = 0
    while transaction is not None:
        depth += transaction.nested
        transaction = transaction.parent
    return depth


def _pending(session: Session) -> list[tuple[int, Callable[[], None]]]:
    if not session.info.get(_HOOKED):
        event.listen(session, "after_commit", _run_after_commit)
        event.listen(session, "after_transaction_end", _drop_unsent)
        session.info[_HOOKED] = True
    pending: list[tuple[int, Callable[[], None]]] = session.info.setdefault(_PENDING, [])
    return pending


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's outermost transaction commits; never if that transaction,
    or the savepoint it was registered in, rolls back."""
    _pending(session).append((_depth(session.get_nested_transaction()), callback))


def _run_after_commit(session: Session) -> None:
    depth = _depth(session.get_nested_transaction())
    if depth:  # a savepoint released: its sends now belong to the transaction around it
        session.info[_PENDING] = [(min(d, depth - 1), cb) for d, cb in session.info.get(_PENDING, [])]
        return
    callbacks = session.info.pop(_PENDING, [])
    for _d, cb in callbacks:
        try:
            cb()
        except Exception:  # the reconciler will enqueue it again from the store
            log.exception("enqueue after commit failed; the reconciler will retry")


def _drop_unsent(session: Session, transaction: SessionTransaction) -> None:
    """`transaction` ended: sends registered inside it that were not handed outwards (it rolled
    back) are dropped. After the outermost commit nothing is left to drop. (A flush runs in a
    subtransaction of its own, neither nested nor outermost: its end changes nothing.)"""
    if transaction.parent is not None and not transaction.nested:
        return
    depth = _depth(transaction)
    kept = [(d, cb) for d, cb in session.info.get(_PENDING, []) if d < depth]
    if kept:
        session.info[_PENDING] = kept
    else:
        session.info.pop(_PENDING, None)


def send_task(name: str, args: list[Any], countdown: float | None = None) -> None:
    # Imported here: building the Celery app reads the settings, so it is built on first send.
    from services import broker

    broker.send_task(name, args, countdown=countdown)


def enqueue_advance(session: Session, job_id: str, version: int, *, countdown: float | None = None) -> None:
    after_commit(session, lambda: send_task(queues.ADVANCE, [job_id, version], countdown=countdown))


def enqueue_execute(session: Session, action_id: str, *, countdown: float | None = None) -> None:
    after_commit(session, lambda: send_task(queues.EXECUTE, [action_id], countdown=countdown))
