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


def test_a_send_made_inside_a_savepoint_waits_for_the_outer_commit():
    """SQLAlchemy emits after_commit when a savepoint is released: a task sent then could run
    before the row it names is committed (a scheduled job's advance finding no job)."""
    engine = sa.create_engine("sqlite://")
    sent: list[str] = []
    with Session(engine) as s:
        s.execute(sa.text("SELECT 1"))
        dispatch.after_commit(s, lambda: sent.append("outer"))
        with s.begin_nested():
            dispatch.after_commit(s, lambda: sent.append("released"))
            with s.begin_nested():
                dispatch.after_commit(s, lambda: sent.append("inner"))
        assert sent == []  # two savepoints released, nothing committed yet
        s.commit()
        assert sent == ["outer", "released", "inner"]
        s.commit()
        assert len(sent) == 3


def test_a_savepoint_rolled_back_drops_only_its_own_sends():
    engine = sa.create_engine("sqlite://")
    sent: list[str] = []
    with Session(engine) as s:
        s.execute(sa.text("SELECT 1"))
        dispatch.after_commit(s, lambda: sent.append("before"))
        try:
            with s.begin_nested():
                dispatch.after_commit(s, lambda: sent.append("rolled back"))
                raise ValueError("refused")
        except ValueError:
            pass
        with s.begin_nested():
            dispatch.after_commit(s, lambda: sent.append("after"))
        s.commit()
        assert sent == ["before", "after"]
        dispatch.after_commit(s, lambda: sent.append("never"))
        with s.begin_nested():
            dispatch.after_commit(s, lambda: sent.append("never either"))
        s.rollback()
        s.commit()
        assert sent == ["before", "after"]


def test_a_scheduled_job_is_committed_before_its_advance_is_sent(store, workspace, monkeypatch):
    """Through the schedules' tick (which starts each run inside savepoints): when the advance
    task goes out, the job it names is already committed and visible to another connection."""
    from datetime import UTC, datetime, timedelta

    from sqlmodel import select

    from services.schedules.service import add_schedule
    from services.schedules.tick import tick
    from services.store.db import get_engine
    from services.store.models import Job, Principal

    seen: list[tuple[str, bool]] = []

    def record(name, args, countdown=None):
        with Session(get_engine()) as other:  # another connection: sees only what is committed
            seen.append((name, other.get(Job, args[0]) is not None))

    monkeypatch.setattr(dispatch, "send_task", record)
    with Session(get_engine(), expire_on_commit=False) as s:
        alex = s.exec(select(Principal).where(Principal.email == "alex@northwind.example")).one()
        sc = add_schedule(session=s, principal=alex, kind="report", when="every Monday 09:00", delivery=["web"],
                          prompt="what changed", now=datetime(2025, 3, 20, tzinfo=UTC))
        s.commit()
        slot = sc.next_run_at
    [started] = tick(slot + timedelta(minutes=1))
    assert started.job_id and seen == [("workmode.agent.advance", True)]
