"""A database connection dropped in the middle of a step (restart, failover, pg_terminate_backend)
is an outage, not a bug: the job goes back to the queue and finishes; it is not failed. Found by
bench/chaos.py, where a job failed with "internal error in a step: OperationalError"."""
from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from services.agent.runner import advance
from services.config import get_settings, reset_settings
from services.jobs.service import create_job
from services.store.db import get_engine
from services.store.models import Job, Principal
from tests.fakes.model_server import dynamic, text


def test_a_dropped_connection_requeues_the_job(pg_store, scripted_model, fast_model, redis_url, monkeypatch):
    from connectors.sandbox.seed import seed_workspace

    # The test runs the steps itself: its tasks go to Redis, where no worker listens (the session's
    # embedded worker, if one runs, would take them from the in-process queue and race it).
    monkeypatch.setenv("WORKMODE_BROKER_URL", redis_url)
    reset_settings()

    with Session(get_engine(), expire_on_commit=False) as s:
        seed_workspace(s)
        s.commit()
        alex = s.exec(select(Principal).where(Principal.email == "alex@northwind.example")).one()
        job = create_job(session=s, principal=alex, prompt="Say hello")
        s.commit()
    url = sa.engine.make_url(get_settings().database_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def drop_connections_then_answer(_body):
        with admin.connect() as conn:  # every connection of the job store but this one
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": url.database})
        return text("Hello.")

    scripted_model.push(dynamic(drop_connections_then_answer))
    try:
        assert advance(job.id, job.version) == "requeued"
    finally:
        admin.dispose()
    with Session(get_engine()) as s:
        again = s.get_one(Job, job.id)
        assert (again.status, again.error) == ("queued", None)
        version = again.version
    scripted_model.push(text("Hello."))
    assert advance(job.id, version) == "completed"
