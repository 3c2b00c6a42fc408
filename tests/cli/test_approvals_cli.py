"""`workmode approvals approve|edit|feedback`, run as a real subprocess against the same store a
worker in this process drives (both backends): the decision goes through `decide()` with the shown
hash, and a decision that comes too late is refused."""
from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from connectors.sandbox.models import SandboxMessage
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Action, utcnow
from tests.fakes.model_server import text, tool_calls
from tests.support.cli import workmode_runner
from tests.support.jobs import actions, events, pending_action, start, wait_status

SEND = ("gmail_send", {"to": ["dana@northwind.example"], "subject": "Slot", "body": "Tuesday 15:15 London?"})


@pytest.fixture
def cli(worker, store, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_")}
    env.update(WORKMODE_HOME=str(tmp_path / "home"), WORKMODE_DATABASE_URL=store, WORKMODE_ENVIRONMENT="test")
    return workmode_runner(env)


def _sent(action_id: str) -> list[SandboxMessage]:
    with Session(get_engine()) as s:
        return list(s.exec(select(SandboxMessage).where(SandboxMessage.action_id == action_id)))


def _picked_up() -> None:
    """The CLI's own in-memory broker ended with it: the reconciler re-sends what it committed."""
    reconcile(stale_s=0)


def test_edit_changes_arguments_and_runs_exactly_those(cli, worker, workspace):
    _, people = workspace
    worker.push(tool_calls(SEND), text("Sent."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    bad = cli("approvals", "edit", action.id, "--arg", "to=", ok=False)
    assert bad.returncode == 2 and "to" in bad.stderr
    bad = cli("approvals", "edit", action.id, "--arguments-json", "[1, 2]", ok=False)
    assert bad.returncode == 2 and "JSON object" in bad.stderr
    stale = cli("approvals", "edit", action.id, "--arg", "body=x", "--hash", "0" * 64, ok=False)
    assert stale.returncode == 2 and "changed since it was shown" in stale.stderr
    assert actions(job_id)[0].status == "pending"

    out = cli("approvals", "edit", action.id, "--hash", action.args_hash, "--arg", "body=Wednesday 10:00 instead",
              "--arg", "cc=priya@northwind.example,sam@northwind.example", "--as", "alex@northwind.example")
    assert f"edited and approved: {action.id}" in out.stdout
    _picked_up()
    wait_status(job_id, "completed")
    (done,) = actions(job_id)
    assert done.edited and done.status == "succeeded" and done.args_hash != action.args_hash
    assert done.arguments["cc"] == ["priya@northwind.example", "sam@northwind.example"]
    (mail,) = _sent(done.id)
    assert mail.body == "Wednesday 10:00 instead"


def test_edit_with_the_whole_object_as_json(cli, worker, workspace):
    _, people = workspace
    worker.push(tool_calls(SEND), text("Sent."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    changed = {**action.arguments, "subject": "New slot"}
    cli("approvals", "edit", action.id, "--arguments-json", json.dumps(changed))
    _picked_up()
    wait_status(job_id, "completed")
    assert actions(job_id)[0].arguments["subject"] == "New slot"


def test_feedback_runs_nothing_and_the_agent_reads_it(cli, worker, workspace):
    _, people = workspace
    worker.push(tool_calls(SEND), text("I will ask Dana about Wednesday."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    empty = cli("approvals", "feedback", action.id, "--text", "   ", ok=False)
    assert empty.returncode == 2 and "feedback is empty" in empty.stderr
    nobody = cli("approvals", "feedback", action.id, "--text", "x", "--as", "priya@northwind.example", ok=False)
    assert nobody.returncode == 2 and "not yours to decide" in nobody.stderr
    out = cli("approvals", "feedback", action.id, "--text", "ask about Wednesday first", "--hash", action.args_hash)
    assert f"answered with feedback: {action.id}" in out.stdout
    again = cli("approvals", "feedback", action.id, "--text", "again", ok=False)
    assert again.returncode == 2 and "already decided" in again.stderr
    _picked_up()
    wait_status(job_id, "completed")
    (done,) = actions(job_id)
    assert done.status == "rejected" and done.feedback == "ask about Wednesday first" and _sent(done.id) == []
    assert [e.data.get("decision") for e in events(job_id) if e.kind == "decided"] == ["respond"]
    assert "ask about Wednesday first" in worker.requests[-1]["messages"][-1]["content"]


def test_approve_after_the_approval_expired_is_refused_and_it_stays_expired(cli, worker, workspace):
    _, people = workspace
    worker.push(tool_calls(SEND), text("The approval expired; nothing was sent to Dana."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    with Session(get_engine()) as s:  # its time ran out an hour ago; the reconciler has not run since
        row = s.get_one(Action, action.id)
        row.expires_at = utcnow() - timedelta(hours=1)
        s.add(row)
        s.commit()

    late = cli("approvals", "approve", action.id, "--as", "alex@northwind.example", ok=False)
    assert late.returncode == 2 and "approved" not in late.stdout
    assert "too late: this approval expired at" in late.stderr and "nothing was run" in late.stderr
    (after,) = actions(job_id)
    assert after.status == "expired" and after.decided_via == "system" and after.decided_by is None
    again = cli("approvals", "approve", action.id, "--as", "alex@northwind.example", ok=False)
    assert again.returncode == 2 and "already decided: this action is expired" in again.stderr
    _picked_up()
    wait_status(job_id, "completed")
    assert actions(job_id)[0].status == "expired" and _sent(action.id) == []
    assert "expired" in worker.requests[-1]["messages"][-1]["content"]
