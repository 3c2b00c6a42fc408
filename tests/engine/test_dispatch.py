"""After-commit dispatch: tasks go out after the commit of the session that enqueued them, never
after a rollback, and sessions that enqueue nothing carry no hooks."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session

from services.jobs import dispatch


def _sent(monkeypatch) -> list:
    sent: list = []
    monkeypatch.setattr(dispatch, "send_task", lambda name, args, countdown=None: sent.append((name, args)))
    return sent


def test_sent_after_commit_once_and_dropped_on_rollback(monkeypatch):
    sent = _sent(monkeypatch)
    engine = sa.create_engine("sqlite://")
    with Session(engine) as s:
        dispatch.enqueue_advance(s, "job-1", 3)
        dispatch.enqueue_execute(s, "action-1")
        assert sent == []
        s.commit()
        assert sent == [("workmode.agent.advance", ["job-1", 3]), ("workmode.actions.execute", ["action-1"])]
        s.commit()  # the next transaction sends nothing again
        assert len(sent) == 2
        s.execute(sa.text("SELECT 1"))  # a transaction that rolls back (the engine's always wrote first)
        dispatch.enqueue_advance(s, "job-2", 0)
        s.rollback()
        s.commit()
        assert len(sent) == 2
        dispatch.enqueue_advance(s, "job-3", 0)
        s.commit()
        assert sent[-1] == ("workmode.agent.advance", ["job-3", 0]) and len(sent) == 3


def test_a_session_that_enqueues_nothing_has_no_hooks(monkeypatch):
    _sent(monkeypatch)
    engine = sa.create_engine("sqlite://")
    with Session(engine) as quiet, Session(engine) as busy:
        dispatch.enqueue_advance(busy, "job-1", 0)
        assert event.contains(busy, "after_commit", dispatch._run_after_commit)
        assert not event.contains(quiet, "after_commit", dispatch._run_after_commit)
        assert not event.contains(Session, "after_commit", dispatch._run_after_commit)
