"""The reconciler sends a lost task again once per staleness period, not once per tick: a job that
only waits behind a long queue would otherwise collect one more task every tick (bench/chaos.py at
200 jobs: the backlog grew with duplicates until jobs stopped finishing)."""
from __future__ import annotations

from datetime import timedelta

from celery.signals import before_task_publish
from sqlmodel import Session, select

from services.config import reset_settings
from services.jobs.service import create_job
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Job, Principal, utcnow


def test_a_queued_job_is_sent_again_once_per_staleness_period(workspace, redis_url, monkeypatch):
    # Sends go to Redis, where no worker listens (the embedded worker of this test session takes the
    # in-process queues): what is sent is counted, and nothing runs the job meanwhile.
    monkeypatch.setenv("WORKMODE_BROKER_URL", redis_url)
    reset_settings()
    sent: list[str] = []

    def record(sender=None, body=None, **_kw):
        args = body[0] if isinstance(body, (list, tuple)) else (body or {}).get("args", [])
        if sender == "workmode.agent.advance":
            sent.append(args[0])

    before_task_publish.connect(record, weak=False)
    try:
        _resend_once_per_period(sent)
    finally:
        before_task_publish.disconnect(record)


def _resend_once_per_period(sent: list[str]) -> None:
    with Session(get_engine(), expire_on_commit=False) as s:
        alex = s.exec(select(Principal).where(Principal.email == "alex@northwind.example")).one()
        job = create_job(session=s, principal=alex, source="api", prompt="summarise my inbox")
        s.commit()
    assert sent == [job.id]
    with Session(get_engine()) as s:  # its task was lost long ago
        row = s.get_one(Job, job.id)
        row.updated_at = utcnow() - timedelta(minutes=10)
        s.add(row)
        s.commit()
    assert reconcile(stale_s=60).get("queued_reenqueued") == 1
    assert reconcile(stale_s=60).get("queued_reenqueued") is None  # the next tick: not again yet
    assert reconcile(stale_s=60).get("queued_reenqueued") is None
    assert sent == [job.id, job.id]
    with Session(get_engine()) as s:  # a whole period later it is sent once more
        row = s.get_one(Job, job.id)
        assert row.status == "queued"
        row.updated_at = utcnow() - timedelta(seconds=61)
        s.add(row)
        s.commit()
    assert reconcile(stale_s=60).get("queued_reenqueued") == 1
    assert sent == [job.id, job.id, job.id]
