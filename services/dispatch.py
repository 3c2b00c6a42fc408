"""Enqueue Celery tasks only after the transaction that made them necessary commits.

A task sent before its commit could run against state that is not there yet (or never will be,
after a rollback). `enqueue_*` registers the send on the session; it happens after commit and is
dropped on rollback. If the process dies between commit and send, the reconciler finds the job or
action by its state and enqueues it again: the store, not Redis, is the source of truth.
"""
from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy import event
from sqlmodel import Session

log = logging.getLogger(__name__)

ADVANCE = "workmode.agent.advance"
EXECUTE = "workmode.actions.execute"
RECONCILE = "workmode.reconcile"


def _pending(session: Session) -> list[Callable[[], None]]:
    return session.info.setdefault("after_commit", [])


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop("after_commit", [])
    for cb in callbacks:
        try:
            cb()
        except Exception:  # the reconciler will enqueue it again from the store
            log.exception("enqueue after commit failed; the reconciler will retry")


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop("after_commit", None)


def send_task(name: str, args: list, *, queue: str, countdown: float | None = None) -> None:
    from services.config import get_settings
    from workers.app import celery_app

    url = get_settings().broker_url
    if url == celery_app.conf.broker_url:
        celery_app.send_task(name, args=args, queue=queue, countdown=countdown)
        return
    # Settings changed after the app was built (tests switching brokers): send on that broker.
    with celery_app.connection_for_write(url) as conn:
        celery_app.send_task(name, args=args, queue=queue, countdown=countdown, connection=conn)


def enqueue_advance(session: Session, job_id: str, version: int, *, countdown: float | None = None) -> None:
    _pending(session).append(lambda: send_task(ADVANCE, [job_id, version], queue="agent", countdown=countdown))


def enqueue_execute(session: Session, action_id: str, *, countdown: float | None = None) -> None:
    _pending(session).append(lambda: send_task(EXECUTE, [action_id], queue="actions", countdown=countdown))
