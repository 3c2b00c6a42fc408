"""The atomic guards under real concurrency (PostgreSQL, separate sessions): two deciders, and two
executors, released together at a barrier, and two real worker processes given the same action.
Exactly one wins, and the outside effect (mail in the sandbox world) happens once.

The deciders have each read the action (pending) before either writes, as two web requests or
two Slack clicks do, so only the decision's conditional UPDATE (`status = 'pending'`) can stop the
second; the executors have no earlier check at all, so only the claim (`status = 'approved'`) can.
Remove either condition and these tests fail."""
from __future__ import annotations

import re
import threading

import pytest
from sqlmodel import Session, select

from services.approvals.execute import execute_action
from services.approvals.service import decide
from services.broker import send_task
from services.config import reset_settings
from services.errors import Conflict
from services.queues import EXECUTE
from services.store.db import get_engine
from services.store.models import Action, Principal
from tests.fakes.model_server import text
from tests.support.gate import effects, propose_send, sent
from tests.support.jobs import actions, decide_now, events, kinds, messages, wait_until
from tests.support.worker_process import WorkerProcess


@pytest.fixture
def pg_world(pg_store, redis_url, scripted_model, fast_model, monkeypatch):
    """Tasks go to Redis and wait there unless a test starts worker processes to take them."""
    monkeypatch.setenv("WORKMODE_BROKER_URL", redis_url)
    reset_settings()
    from connectors.sandbox.seed import seed_workspace

    with Session(get_engine(), expire_on_commit=False) as s:
        seed_workspace(s)
        s.commit()
        people = {p.email.split("@")[0]: p for p in s.exec(select(Principal))}
    return scripted_model, people


def run_together(*fns):
    """Run each fn in its own thread, all released at one barrier; return what each returned or raised."""
    barrier = threading.Barrier(len(fns))
    results: list[object] = [None] * len(fns)

    def run(i, fn):
        try:
            results[i] = fn(barrier)
        except Exception as exc:  # the loser's refusal is a result here
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


def decider(action: Action, actor: Principal, **choice):
    def go(barrier: threading.Barrier):
        with Session(get_engine(), expire_on_commit=False) as s:
            assert s.get(Action, action.id).status == "pending"  # each has read it, as a request does
            barrier.wait()
            decided = decide(session=s, action_id=action.id, actor=actor, shown_hash=action.args_hash, **choice)
            s.commit()
            return decided.status
    return go


def tool_results(job_id: str, call_id: str) -> int:
    return sum(1 for m in messages(job_id) if m.role == "tool" and m.tool_call_id == call_id)


@pytest.mark.parametrize("first, second", [
    ({"decision": "approve"}, {"decision": "approve"}),
    ({"decision": "approve"}, {"decision": "reject", "reason": "not now"}),
], ids=["approve+approve", "approve+reject"])
def test_two_deciders_at_once_exactly_one_wins(pg_world, first, second):
    model, people = pg_world
    job_id, action = propose_send(model, people["alex"])
    results = run_together(decider(action, people["alex"], **first), decider(action, people["alex"], **second))

    won = [r for r in results if isinstance(r, str)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], Conflict), repr(lost[0])
    assert kinds(job_id).count("decided") == 1
    (after,) = actions(job_id)
    assert after.status == won[0]
    if after.status == "approved":
        assert execute_action(action.id) == "succeeded"
        assert execute_action(action.id) == "duplicate"
    assert sent(action.id) == (1 if won[0] == "approved" else 0)
    assert tool_results(job_id, action.tool_call_id) == 1


def test_two_executors_at_once_exactly_one_runs(pg_world):
    model, people = pg_world
    job_id, action = propose_send(model, people["alex"])
    decide_now(action, people["alex"], decision="approve")

    def executor(barrier: threading.Barrier) -> str:
        barrier.wait()
        return execute_action(action.id)

    results = run_together(executor, executor)
    assert sorted(results) == ["duplicate", "succeeded"], results
    (after,) = actions(job_id)
    assert after.status == "succeeded" and after.attempts == 1
    assert sent(action.id) == 1 and effects(action.id) == 1
    assert [e.kind for e in events(job_id)].count("action_succeeded") == 1
    assert tool_results(job_id, action.tool_call_id) == 1


TASK_DONE = re.compile(r"Task workmode\.actions\.execute\[[^\]]+\] succeeded in [0-9.]+s: '(\w+)'")


def test_two_worker_processes_given_the_same_action_run_it_once(pg_world):
    model, people = pg_world
    job_id, action = propose_send(model, people["alex"])
    model.push(text("Sent."))  # the job's next step, once the action's result is in
    with WorkerProcess() as one, WorkerProcess() as two:
        workers = (one, two)
        wait_until(lambda: all("ready." in w.output() for w in workers), timeout=60, what="both workers ready")
        # The decision's own delivery plus a duplicate (a redelivery, a reconciler's resend).
        decide_now(action, people["alex"], decision="approve")
        send_task(EXECUTE, [action.id])

        def outcomes() -> list[str]:
            return [m for w in workers for m in TASK_DONE.findall(w.output())]

        wait_until(lambda: len(outcomes()) == 2, timeout=60, what="both deliveries executed")
        assert sorted(outcomes()) == ["duplicate", "succeeded"], [w.output()[-2000:] for w in workers]
    (after,) = actions(job_id)
    assert after.status == "succeeded" and after.attempts == 1
    assert sent(action.id) == 1 and effects(action.id) == 1
    assert [e.kind for e in events(job_id)].count("action_succeeded") == 1
    assert tool_results(job_id, action.tool_call_id) == 1
