"""Crash safety with a real worker process, real Redis and real PostgreSQL: SIGKILL at each crash
point of executing an action, flushing Redis mid-run. Every approved effect happens exactly once
(or is honestly in_doubt), and no job is lost."""
from __future__ import annotations

import signal

import pytest
import redis
from sqlmodel import Session, select

from connectors.sandbox.models import SandboxMessage
from services.config import reset_settings
from services.faults import EXECUTE_AFTER_CALL, EXECUTE_AFTER_COMMIT, EXECUTE_BEFORE_CALL
from services.reconcile import reconcile
from services.store.db import get_engine
from tests.fakes.model_server import text, tool_calls
from tests.support.jobs import actions, decide_now, pending_action, start, wait_status
from tests.support.worker_process import WorkerProcess

SEND = ("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "Tuesday works."})


@pytest.fixture
def redis_env(pg_store, redis_url, scripted_model, fast_model, monkeypatch):
    monkeypatch.setenv("WORKMODE_BROKER_URL", redis_url)
    reset_settings()
    from connectors.sandbox.seed import seed_workspace
    from services.store.models import Principal

    with Session(get_engine(), expire_on_commit=False) as s:
        seed_workspace(s)
        s.commit()
        alex = s.exec(select(Principal).where(Principal.email == "alex@northwind.example")).one()
    return scripted_model, alex, redis_url


def sent(action_id: str) -> int:
    with Session(get_engine()) as s:
        return len(s.exec(select(SandboxMessage).where(SandboxMessage.action_id == action_id)).all())


@pytest.mark.parametrize("point", [EXECUTE_BEFORE_CALL, EXECUTE_AFTER_CALL, EXECUTE_AFTER_COMMIT])
def test_sigkill_while_executing_never_duplicates(redis_env, point):
    model, alex, _ = redis_env
    model.push(tool_calls(SEND), text("Sent."))
    with WorkerProcess(fault_point=point) as doomed:
        job_id = start(alex)
        action = pending_action(job_id)
        decide_now(action, alex, decision="approve")
        assert doomed.wait_killed() == -signal.SIGKILL, doomed.output()
    with WorkerProcess() as survivor:
        counts = reconcile(executing_stale_s=0, stale_s=0)
        job = wait_status(job_id, "completed", timeout=60)
        assert survivor.proc.poll() is None
    (final,) = actions(job_id)
    assert final.status in ("succeeded", "in_doubt"), counts
    # Exactly once when it succeeded; never twice in any case (in_doubt may be 0 or 1).
    assert sent(action.id) == 1 if final.status == "succeeded" else sent(action.id) <= 1
    assert job.result == "Sent."
    if point == EXECUTE_BEFORE_CALL:
        assert counts.get("executing_absent") == 1 and final.attempts == 2
    if point == EXECUTE_AFTER_CALL:
        assert counts.get("executing_succeeded") == 1 and final.attempts == 1


def test_flushing_redis_loses_no_job(redis_env):
    model, alex, url = redis_env
    model.push(tool_calls(SEND), text("Sent."))
    job_id = start(alex)  # advance is in Redis, no worker yet
    redis.Redis.from_url(url).flushdb()
    with WorkerProcess():
        assert reconcile(stale_s=0)["queued_reenqueued"] == 1
        action = pending_action(job_id)
    decide_now(action, alex, decision="approve")  # execute is in Redis, no worker
    redis.Redis.from_url(url).flushdb()
    with WorkerProcess():
        assert reconcile(stale_s=0)["approved_reenqueued"] == 1
        wait_status(job_id, "completed", timeout=60)
    assert sent(action.id) == 1


def test_a_killed_step_is_taken_over_after_its_lease(redis_env):
    model, alex, _ = redis_env
    model.push(tool_calls(("gmail_list_labels", {})), text("Done."))
    with WorkerProcess(fault_point="step.after_model") as doomed:
        job_id = start(alex)
        doomed.wait_killed()
    from services.store.models import Job

    with Session(get_engine()) as s:
        job = s.get(Job, job_id)
        assert job.status == "running"
        job.lease_until = job.updated_at  # the lease ran out
        s.add(job)
        s.commit()
    with WorkerProcess():
        assert reconcile(stale_s=0)["running_taken_over"] == 1
        assert wait_status(job_id, "completed", timeout=60).result == "Done."
