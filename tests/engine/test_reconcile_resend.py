"""The reconciler sends a lost task again once per staleness period, not once per tick: a job that
only waits behind a long queue would otherwise collect one more task every tick (bench/chaos.py at
200 jobs: the backlog grew with duplicates until jobs stopped finishing)."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from services.jobs.service import create_job
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Job, Principal, utcnow


def test_a_queued_job_is_sent_again_once_per_staleness_period(workspace, sent):
    """`sent` records what is published, to Redis where no worker listens: nothing runs the job."""

    def advances() -> list[str]:
        return [args[0] for name, args in sent if name == "workmode.agent.advance"]

    with Session(get_engine(), expire_on_commit=False) as s:
        alex = s.exec(select(Principal).where(Principal.email == "alex@northwind.example")).one()
        job = create_job(session=s, principal=alex, source="api", prompt="summarise my inbox")
        s.commit()
    assert advances() == [job.id]
    with Session(get_engine()) as s:  # its task was lost long ago
        row = s.get_one(Job, job.id)
        row.updated_at = utcnow() - timedelta(minutes=10)
        s.add(row)
        s.commit()
    assert reconcile(stale_s=60).get("queued_reenqueued") == 1
    assert reconcile(stale_s=60).get("queued_reenqueued") is None  # the next tick: not again yet
    assert reconcile(stale_s=60).get("queued_reenqueued") is None
    assert advances() == [job.id, job.id]
    with Session(get_engine()) as s:  # a whole period later it is sent once more
        row = s.get_one(Job, job.id)
        assert row.status == "queued"
        row.updated_at = utcnow() - timedelta(seconds=61)
        s.add(row)
        s.commit()
    assert reconcile(stale_s=60).get("queued_reenqueued") == 1
    assert advances() == [job.id, job.id, job.id]
