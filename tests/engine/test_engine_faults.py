"""Model faults, budgets, expiry and duplicate deliveries: the job waits, ends with a clear
reason, or stays untouched — it is never lost."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from services.agent.runner import advance
from services.config import reset_settings
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Action, Job, utcnow
from tests.fakes.model_server import delay, error, raw, text, tool_calls
from tests.support.jobs import actions, job_state, kinds, messages, pending_action, start, wait_status


def test_model_429_then_success(worker, workspace):
    _, people = workspace
    worker.push(error(429, retry_after=0.01), text("fine"))
    job_id = start(people["alex"])
    assert wait_status(job_id, "completed").result == "fine"
    assert len(worker.requests) == 2


def test_model_500_and_timeout_are_retried(worker, workspace):
    _, people = workspace
    worker.push(error(500), delay(3.0, text("late")), text("fine"))
    job_id = start(people["alex"])
    assert wait_status(job_id, "completed").result == "fine"


def test_model_down_makes_the_job_wait_not_fail(worker, workspace):
    _, people = workspace
    worker.push(*[error(503)] * 3, text("back"))  # 1 try + 2 retries exhausted, then a later attempt
    job_id = start(people["alex"])
    job = wait_status(job_id, "completed", timeout=30)
    assert "model_unavailable" in kinds(job_id)
    assert job.result == "back"


def test_broken_tool_arguments_get_one_repair_round(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("gmail_search", '{"query": "from:dana')),
                tool_calls(("gmail_search", {"query": "from:dana"})), text("ok"))
    job_id = start(people["alex"])
    wait_status(job_id, "completed")
    repair = worker.requests[1]["messages"]
    assert "not valid JSON" in repair[-1]["content"]
    assert [m.role for m in messages(job_id)] == ["user", "assistant", "tool", "assistant"]


def test_broken_twice_fails_visibly_and_keeps_the_job(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("gmail_search", {"query": 5, "max_results": "many"})), tool_calls(("no_such_tool", {})))
    job_id = start(people["alex"])
    job = wait_status(job_id, "failed")
    assert "invalid tool calls twice" in job.error and "no_such_tool" in job.error
    assert kinds(job_id).count("model_output_invalid") == 2
    assert messages(job_id)[0].role == "user"  # the transcript is kept


def test_json_mode_first_turn_schema_allows_only_the_plan(worker, workspace, monkeypatch):
    monkeypatch.setenv("WORKMODE_TOOL_MODE", "json")
    monkeypatch.setenv("WORKMODE_PLAN_FIRST", "true")
    reset_settings()
    _, people = workspace
    worker.push(tool_calls(("update_plan", {"steps": [{"title": "Look", "status": "done"}]})), text("fine"))
    job_id = start(people["alex"])
    assert wait_status(job_id, "completed").result == "fine"
    first, second = (r["response_format"]["json_schema"]["schema"] for r in worker.requests)
    assert first["properties"]["tool"] == {"const": "update_plan"}
    # After a turn that only wrote the plan, the next must do work or answer: no update_plan.
    names = [o["properties"]["tool"]["const"] for o in second["anyOf"]]
    assert len(names) > 20 and "update_plan" not in names and "final_answer" in names
    assert worker.requests[0]["messages"][0] == worker.requests[1]["messages"][0]


def test_json_mode_invalid_json_is_repaired(worker, workspace, monkeypatch):
    monkeypatch.setenv("WORKMODE_TOOL_MODE", "json")
    reset_settings()
    _, people = workspace
    worker.push(raw("not json at all"), text("fine"))
    job_id = start(people["alex"])
    assert wait_status(job_id, "completed").result == "fine"
    assert "response_format" in worker.requests[0] and "tools" not in worker.requests[0]


def test_step_budget_ends_the_job_with_a_reason(worker, workspace):
    _, people = workspace
    worker.set_default(tool_calls(("gmail_list_labels", {})))
    job_id = start(people["alex"], max_steps=4)
    job = wait_status(job_id, "failed")
    assert job.error.startswith("step budget reached: 4 of 4")


def test_token_budget_ends_the_job_with_a_reason(worker, workspace):
    _, people = workspace
    worker.set_default(tool_calls(("gmail_list_labels", {}), prompt_tokens=600, completion_tokens=10))
    job_id = start(people["alex"], max_tokens=1000)
    job = wait_status(job_id, "failed")
    assert job.error.startswith("token budget reached")
    assert job.model_turns == 2


def test_expired_approval_executes_nothing_and_tells_the_model(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "x"})),
                text("The approval expired; nothing was sent."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    with Session(get_engine()) as s:
        row = s.get(Action, action.id)
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
        s.commit()
    assert reconcile()["approvals_expired"] == 1
    wait_status(job_id, "completed")
    assert actions(job_id)[0].status == "expired"
    assert "expired" in worker.requests[-1]["messages"][-1]["content"]


def test_duplicate_advance_delivery_changes_nothing(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "x"})))
    job_id = start(people["alex"])
    pending_action(job_id)
    before = (job_state(job_id).version, len(messages(job_id)), len(worker.requests), kinds(job_id))
    for version in range(0, before[0] + 1):
        assert advance(job_id, version) == "duplicate"
    assert (job_state(job_id).version, len(messages(job_id)), len(worker.requests), kinds(job_id)) == before


def test_cancel_ends_pending_actions(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "x"})))
    job_id = start(people["alex"])
    pending_action(job_id)
    from services.jobs.service import cancel_job

    with Session(get_engine()) as s:
        cancel_job(session=s, job_id=job_id, actor=people["alex"])
        s.commit()
    assert job_state(job_id).status == "cancelled"
    assert actions(job_id)[0].status == "cancelled"


def test_deadline_expires_a_waiting_job(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("ask_user", {"question": "Which week?"})))
    job_id = start(people["alex"])
    wait_status(job_id, "waiting")
    with Session(get_engine()) as s:
        job = s.get(Job, job_id)
        job.deadline = utcnow() - timedelta(seconds=1)
        s.add(job)
        s.commit()
    reconcile()
    assert job_state(job_id).status == "expired"
