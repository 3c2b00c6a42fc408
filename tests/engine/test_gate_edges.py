"""The approval gate's edges: nothing runs on an approval that has expired, nothing of a job that
has ended (expired at its deadline, failed, cancelled) runs, and cancel is defined for an action
that is approved but queued, one that is executing, and a step that is running.

The engine is driven by its own functions (advance, decide, execute_action, reconcile, cancel_job)
against the real store; the tasks they send wait in Redis, unconsumed, so each test says exactly
what runs when. The scripted model speaks HTTP; the sandbox world is the outside."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from services.agent.runner import advance
from services.approvals.execute import execute_action
from services.approvals.service import ApprovalExpired, JobEnded
from services.config import reset_settings
from services.errors import Conflict
from services.jobs.service import finish
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Action, Job, JobStatus, utcnow
from tests.fakes.model_server import text, tool_calls
from tests.support.gate import SEND, TableLock, cancel, propose_send, sent
from tests.support.jobs import actions, decide_now, events, job_state, kinds, messages, start


@pytest.fixture
def driven(redis_url, scripted_model, fast_model, monkeypatch):
    """Tasks go to Redis (db of WORKMODE_TEST_REDIS) and stay there: no worker consumes them."""
    monkeypatch.setenv("WORKMODE_BROKER_URL", redis_url)
    reset_settings()
    return scripted_model


@pytest.fixture
def world(driven, workspace):
    """SQLite and PostgreSQL."""
    return driven, workspace[1]["alex"]


@pytest.fixture
def pg_world(driven, pg_store):
    """PostgreSQL only: the tests that pause a session on a real table lock."""
    from connectors.sandbox.seed import seed_workspace
    from services.store.models import Principal

    with Session(get_engine(), expire_on_commit=False) as s:
        seed_workspace(s)
        s.commit()
        alex = s.exec(select(Principal).where(Principal.email == "alex@northwind.example")).one()
    return driven, alex


def set_row(model, row_id: str, **values) -> None:
    with Session(get_engine()) as s:
        row = s.get(model, row_id)
        for key, value in values.items():
            setattr(row, key, value)
        s.add(row)
        s.commit()


def tool_results(job_id: str, call_id: str) -> list[str]:
    return [m.content for m in messages(job_id) if m.role == "tool" and m.tool_call_id == call_id]


# ---------------------------------------------------------------- 1. an expired approval
def test_an_approval_past_its_expiry_is_refused_before_the_reconciler_runs(world):
    model, alex = world
    job_id, action = propose_send(model, alex)
    set_row(Action, action.id, expires_at=utcnow() - timedelta(hours=1))

    with pytest.raises(ApprovalExpired) as refused:
        decide_now(action, alex, decision="approve")
    assert isinstance(refused.value, Conflict) and "expired" in refused.value.message

    (after,) = actions(job_id)
    assert after.status == "expired" and after.decided_via == "system"
    assert "approval_expired" in kinds(job_id) and "decided" not in kinds(job_id)
    # The model is told, as the reconciler would tell it, and the job goes on to hear it.
    told = tool_results(job_id, action.tool_call_id)
    assert told == ["Not executed: the approval request expired without a decision."]
    assert job_state(job_id).status == "queued"
    assert execute_action(action.id) == "duplicate"
    assert sent(action.id) == 0
    # The refusal stuck: deciding again says so, and the reconciler finds nothing left to do.
    with pytest.raises(Conflict):
        decide_now(action, alex, decision="approve")
    assert reconcile().get("approvals_expired", 0) == 0


def test_an_approval_inside_its_expiry_still_runs(world):
    model, alex = world
    _, action = propose_send(model, alex)
    set_row(Action, action.id, expires_at=utcnow() + timedelta(minutes=5))
    assert decide_now(action, alex, decision="approve").status == "approved"
    assert execute_action(action.id) == "succeeded"
    assert sent(action.id) == 1


# ---------------------------------------------------------------- 2. a job that ends takes its actions with it
def test_a_job_expired_at_its_deadline_takes_its_pending_approval_with_it(world):
    model, alex = world
    job_id, action = propose_send(model, alex)
    set_row(Job, job_id, deadline=utcnow() - timedelta(seconds=1))

    assert reconcile()["jobs_expired"] == 1
    assert job_state(job_id).status == "expired"
    (after,) = actions(job_id)
    assert after.status == "expired" and "deadline" in after.reason
    assert [e.action_id for e in events(job_id) if e.kind == "action_expired"] == [action.id]
    assert tool_results(job_id, action.tool_call_id) == ["Not executed: the job reached its deadline first."]

    with pytest.raises(JobEnded) as refused:
        decide_now(action, alex, decision="approve")
    assert isinstance(refused.value, Conflict) and "expired" in refused.value.message
    assert execute_action(action.id) == "duplicate"
    assert sent(action.id) == 0


def test_a_decision_after_the_deadline_is_refused_even_before_the_reconciler_runs(world):
    model, alex = world
    job_id, action = propose_send(model, alex)
    set_row(Job, job_id, deadline=utcnow() - timedelta(seconds=1))

    with pytest.raises(JobEnded):
        decide_now(action, alex, decision="approve")
    job = job_state(job_id)
    assert job.status == "expired" and job.error == "deadline reached while waiting"
    assert actions(job_id)[0].status == "expired"
    assert kinds(job_id)[-2:] == ["expired", "action_expired"]
    assert reconcile().get("jobs_expired", 0) == 0  # already done, once
    assert sent(action.id) == 0


@pytest.mark.parametrize("end", ["failed", "cancelled", "expired"])
def test_every_end_of_a_job_ends_its_approved_but_unstarted_action(world, end):
    model, alex = world
    job_id, action = propose_send(model, alex)
    decide_now(action, alex, decision="approve")  # the execute task waits in Redis
    with Session(get_engine(), expire_on_commit=False) as s:
        finish(s, s.get_one(Job, job_id), JobStatus(end), error=f"ended: {end}")
        s.commit()

    (after,) = actions(job_id)
    assert after.status == "cancelled" and after.decided_by == alex.id  # the person's approval stays on record
    assert "action_cancelled" in kinds(job_id)
    assert len(tool_results(job_id, action.tool_call_id)) == 1
    assert execute_action(action.id) == "duplicate"  # the queued task finds nothing to run
    assert sent(action.id) == 0
    assert job_state(job_id).status == end


def test_an_approved_action_left_open_by_an_ended_job_is_never_claimed(world):
    """As older versions left them, or a 429 retry that put it back after the job ended."""
    model, alex = world
    job_id, action = propose_send(model, alex)
    decide_now(action, alex, decision="approve")
    set_row(Job, job_id, status="cancelled")  # the job ended; the action is still `approved`

    assert execute_action(action.id) == "cancelled"
    assert sent(action.id) == 0
    (after,) = actions(job_id)
    assert after.status == "cancelled" and "action_cancelled" in kinds(job_id)
    assert execute_action(action.id) == "duplicate"


# ---------------------------------------------------------------- 3. cancel
def test_cancel_while_approved_but_queued_never_executes(world):
    model, alex = world
    job_id, action = propose_send(model, alex)
    decide_now(action, alex, decision="approve")  # queued in Redis, no worker has it yet
    cancel(job_id, alex)

    (after,) = actions(job_id)
    assert after.status == "cancelled" and after.reason == "the job was cancelled"
    assert execute_action(action.id) == "duplicate"
    assert reconcile(stale_s=0).get("approved_reenqueued", 0) == 0  # nothing left to send again
    assert sent(action.id) == 0
    job = job_state(job_id)
    assert job.status == "cancelled"
    assert kinds(job_id)[-2:] == ["cancelled", "action_cancelled"]


def test_cancel_ends_a_pending_approval_and_decide_refuses_it(world):
    model, alex = world
    job_id, action = propose_send(model, alex)
    cancel(job_id, alex)
    (after,) = actions(job_id)
    assert after.status == "cancelled" and after.decided_via == "system"
    with pytest.raises(JobEnded):
        decide_now(action, alex, decision="approve")
    assert sent(action.id) == 0


def test_cancel_while_executing_finishes_once_and_the_job_stays_cancelled(pg_world):
    model, alex = pg_world
    job_id, action = propose_send(model, alex)
    decide_now(action, alex, decision="approve")
    outcome: list[str] = []
    with TableLock("sandbox_effect") as lock:  # the sandbox write waits inside the connector call
        executor = threading.Thread(target=lambda: outcome.append(execute_action(action.id)))
        executor.start()
        lock.wait_blocked()
        assert actions(job_id)[0].status == "executing"
        cancel(job_id, alex)
        version = job_state(job_id).version
    executor.join(timeout=60)

    assert outcome == ["succeeded"]
    assert sent(action.id) == 1
    (after,) = actions(job_id)
    assert after.status == "succeeded" and after.attempts == 1
    job = job_state(job_id)
    assert job.status == "cancelled" and job.version == version  # recorded, not resumed
    assert tool_results(job_id, action.tool_call_id)[0].startswith("Approved and done.")
    assert "action_cancelled" not in kinds(job_id)
    assert advance(job_id, version) == "duplicate"
    assert len(model.requests) == 1


def test_cancel_while_a_step_runs_stops_it_before_it_proposes(pg_world):
    model, alex = pg_world
    model.push(tool_calls(("gmail_search", {"query": "from:dana"}), SEND), text("never asked"))
    job_id = start(alex)
    outcome: list[str] = []
    with TableLock("sandbox_mail_message") as lock:  # the step's read waits; its turn is committed
        step = threading.Thread(target=lambda: outcome.append(advance(job_id, 0)))
        step.start()
        lock.wait_blocked()
        cancel(job_id, alex)
    step.join(timeout=60)

    assert outcome == ["superseded"]
    assert actions(job_id) == []
    job = job_state(job_id)
    assert job.status == "cancelled"
    assert "approval_requested" not in kinds(job_id) and "waiting" not in kinds(job_id)
    assert len(model.requests) == 1
