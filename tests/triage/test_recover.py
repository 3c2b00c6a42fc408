"""The reconciler recovers triage runs (services/triage/recover.py): a run whose task the queue lost
is sent again; a run left `classifying` by a dead worker is taken over after WORKMODE_TRIAGE_STALE_S
and triaged exactly once; a run whose worker died too often fails, saying why; a digest DM the
queue lost is sent again. On the real store and the embedded worker with the scripted classifier."""
from __future__ import annotations

from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from sqlmodel import Session, select

from services import queues
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Job, TriageItem, TriageRun, utcnow
from services.triage.run import start_run
from tests.fakes.model_server import dynamic
from tests.support.jobs import wait_until
from tests.triage.helpers import alex, classifier, seed


@pytest.fixture
def published():
    names: list[tuple[str, list]] = []

    def record(sender=None, body=None, **_kw):
        args = body[0] if isinstance(body, (list, tuple)) else (body or {}).get("args", [])
        names.append((sender, list(args)))

    before_task_publish.connect(record, weak=False)
    yield names
    before_task_publish.disconnect(record)


def left_behind(status: str, **counts) -> str:
    """A run as a dead worker (or a lost task) leaves it, an hour old."""
    p, _org = alex()
    with Session(get_engine(), expire_on_commit=False) as s:
        run = start_run(s, p, trigger="schedule")
        run.status, run.created_at = status, utcnow() - timedelta(hours=1)
        run.counts = {**run.counts, **counts}
        s.add(run)
        s.commit()
        return run.id


def finished(run_id: str) -> TriageRun:
    def done():
        with Session(get_engine()) as s:
            r = s.get_one(TriageRun, run_id)
            return r if r.status in ("done", "failed") else None
    return wait_until(done, what="the run to finish")


def test_a_lost_task_and_a_dead_worker_are_recovered_exactly_once(worker, published):
    worker.set_default(dynamic(classifier()))
    ids = seed(ago=0)  # the labelled set, new in Alex's inbox
    lost = left_behind("running")
    dead = left_behind("classifying", attempt=1, claimed_at=(utcnow() - timedelta(hours=1)).isoformat())
    live = left_behind("classifying", attempt=1, claimed_at=utcnow().isoformat())  # a worker still on it
    out = reconcile(stale_s=0)
    assert out.get("triage_resent") == 1 and out.get("triage_taken_over") == 1
    assert sorted(a[0] for n, a in published if n == queues.TRIAGE_RUN) == sorted([lost, dead])
    a, b = finished(lost), finished(dead)
    assert a.status == b.status == "done", (a.error, b.error)
    assert b.counts["attempt"] == 2  # the takeover was a new attempt
    with Session(get_engine()) as s:
        items = s.exec(select(TriageItem)).all()
        assert len(items) == len({i.message_id for i in items}) and len(items) >= len(ids)
        assert len(s.exec(select(Job).where(Job.kind == "triage")).all()) <= 2
        assert s.get_one(TriageRun, live).status == "classifying"  # not taken from a live worker
    published.clear()
    reconcile(stale_s=0)  # nothing left to recover
    assert not [n for n, _a in published if n == queues.TRIAGE_RUN]


def test_a_run_whose_worker_keeps_dying_fails_with_the_reason(worker):
    run_id = left_behind("classifying", attempt=3, claimed_at=(utcnow() - timedelta(hours=1)).isoformat())
    assert reconcile(stale_s=0).get("triage_failed") == 1
    with Session(get_engine()) as s:
        run = s.get_one(TriageRun, run_id)
        assert run.status == "failed" and "died 3 times" in (run.error or "")


def test_a_digest_the_queue_lost_is_sent_again(worker, published):
    run_id = left_behind("done")
    with Session(get_engine()) as s:
        run = s.get_one(TriageRun, run_id)
        run.finished_at = utcnow() - timedelta(minutes=10)
        run.digest = {"delivery": {"channels": ["slack"], "slack": "due"}}
        s.add(run)
        s.commit()
    assert reconcile(stale_s=0).get("digest_resent") == 1
    assert (queues.TRIAGE_DIGEST, [run_id]) in published
