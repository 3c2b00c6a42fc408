"""A Jira issue is created once, even when the create reached Jira but the worker never learned
it, and Jira's search has not caught up yet (as on Jira Cloud, whose search is eventually
consistent). The real engine, store and Celery worker; the fake Jira with search lag on."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session

from connectors.registry import get_connector
from services.config import reset_settings
from services.credentials.access import tool_context
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Action, ActionStatus, Organisation, utcnow
from tests.fakes.jira_api import API_TOKEN, EMAIL, FakeJira
from tests.fakes.model_server import text, tool_calls
from tests.support.jobs import actions, decide_now, events, pending_action, start, wait_status

ALEX, DANA = "alex@northwind.example", "dana@northwind.example"
CREATE = ("jira_create_issue", {"project": "OPS", "issue_type": "Bug", "summary": "Checkout times out",
                                "description": "p95 is 4s since Monday.", "priority": "High"})


@pytest.fixture
def lagging_jira(worker, workspace, monkeypatch):
    """The seeded organisation's tickets go to a Jira Cloud whose search lags behind writes."""
    org, people = workspace
    with FakeJira(cloud=True) as jira:
        jira.add_user(ALEX, "Alex Morgan")
        jira.add_user(DANA, "Dana Kim")
        jira.add_issue("OPS", "Checkout is slow", reporter=DANA)
        jira.search_lag = True
        for key, value in {"JIRA_URL": jira.url, "JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": API_TOKEN}.items():
            monkeypatch.setenv(f"WORKMODE_{key}", value)
        reset_settings()
        with Session(get_engine()) as s:
            row = s.get(Organisation, org.id)
            row.policy = {**row.policy, "connectors": {"tickets": "jira"}}
            s.add(row)
            s.commit()
        yield people, jira, worker


def created_by(jira: FakeJira, action_id: str) -> list[str]:
    return [i.key for i in jira.issues.values()
            if (i.properties.get("workmode.action") or {}).get("action_id") == action_id]


def test_crash_after_the_create_does_not_create_a_second_issue(lagging_jira):
    """The worker created the issue and died before recording it. The reconciler's verify finds
    the issue by reading it, although search does not show it yet; nothing runs again."""
    people, jira, model = lagging_jira
    model.push(tool_calls(CREATE), text("Filed it."))
    job_id = start(people["alex"], "File a bug: checkout times out")
    action = pending_action(job_id)
    _dead_worker_created(people, job_id, action)
    assert jira.index.keys() == {"OPS-1"}  # search has not seen OPS-2

    counts = reconcile(executing_stale_s=0)
    assert counts.get("executing_succeeded") == 1 and not counts.get("executing_absent")
    wait_status(job_id, "completed")
    (done,) = actions(job_id)
    assert done.status == "succeeded" and done.result == {"key": "OPS-2", "id": jira.issues["OPS-2"].id}
    assert created_by(jira, action.id) == ["OPS-2"] and len(jira.calls("POST", "/rest/api/2/issue")) == 1
    assert [e.data.get("verified") for e in events(job_id) if e.kind == "action_succeeded"] == [True]


def test_a_create_whose_answer_was_lost_is_not_repeated(lagging_jira, monkeypatch):
    """Jira created the issue but its answer never arrived (the client timed out). The engine asks
    verify at once, while search still lags: the issue is found, not created again."""
    people, jira, model = lagging_jira
    monkeypatch.setenv("WORKMODE_JIRA_TIMEOUT_S", "0.5")
    reset_settings()
    jira.fail(201, "/rest/api/2/issue", method="POST", apply=True, delay_s=2.0)
    model.push(tool_calls(CREATE), text("Filed it."))
    job_id = start(people["alex"], "File a bug: checkout times out")
    action = pending_action(job_id)
    decide_now(action, people["alex"], decision="approve")

    wait_status(job_id, "completed")
    (done,) = actions(job_id)
    assert done.status == "succeeded" and done.result["key"] == "OPS-2"
    assert created_by(jira, action.id) == ["OPS-2"] and len(jira.calls("POST", "/rest/api/2/issue")) == 1
    assert "OPS-2" not in jira.index  # all of it happened before search caught up
    issue = jira.issues["OPS-2"]
    assert (issue.issue_type, issue.priority, issue.labels) == ("Bug", "High", [f"workmode-{action.id}"])


def _dead_worker_created(people, job_id: str, action: Action) -> None:
    """The create the dead worker made, and its action left `executing` long enough to be stale."""
    tool = get_connector("jira").tools["jira_create_issue"]
    with Session(get_engine()) as world:
        tool.run(tool_context(session=world, principal_id=people["alex"].id, principal_email=ALEX,
                              org_id=people["alex"].org_id, job_id=job_id, action_id=action.id),
                 tool.parse(action.arguments))
    with Session(get_engine()) as s:
        s.execute(update(Action).where(Action.id == action.id).values(
            status=ActionStatus.executing, approved_hash=action.args_hash, decided_by="policy",
            decided_via="policy", decided_at=utcnow(), executing_since=utcnow() - timedelta(hours=1), attempts=1))
        s.commit()


def test_search_far_behind_is_asked_again_later_and_then_found(lagging_jira):
    """So many new issues that verify cannot read its way past search's lag: it cannot tell YET.
    The action stays executing (never 'absent', never run again) and the next tick asks again;
    once search has caught up the issue is found."""
    people, jira, model = lagging_jira
    for n in range(55):  # made by others just now; search shows none of them yet
        jira.add_issue("OPS", f"Someone else's issue {n}", reporter=DANA, indexed=False)
    model.push(tool_calls(CREATE), text("Filed it."))
    job_id = start(people["alex"], "File a bug: checkout times out")
    action = pending_action(job_id)
    _dead_worker_created(people, job_id, action)

    counts = reconcile(executing_stale_s=0)
    assert counts.get("executing_deferred") == 1 and not counts.get("executing_absent")
    with Session(get_engine()) as s:
        assert s.get(Action, action.id).status == ActionStatus.executing
    assert [e.kind for e in events(job_id) if e.action_id == action.id].count("verify_deferred") == 1

    jira.catch_up()
    counts = reconcile(executing_stale_s=0)
    assert counts.get("executing_succeeded") == 1
    wait_status(job_id, "completed")
    assert len(created_by(jira, action.id)) == 1 and len(jira.calls("POST", "/rest/api/2/issue")) == 1


def test_search_that_never_catches_up_ends_in_doubt_after_the_deferrals(lagging_jira, monkeypatch):
    monkeypatch.setenv("WORKMODE_VERIFY_DEFERRALS", "2")
    reset_settings()
    people, jira, model = lagging_jira
    for n in range(55):
        jira.add_issue("OPS", f"Someone else's issue {n}", reporter=DANA, indexed=False)
    model.push(tool_calls(CREATE), text("Filed it."))
    job_id = start(people["alex"], "File a bug: checkout times out")
    action = pending_action(job_id)
    _dead_worker_created(people, job_id, action)

    outcomes = [next(k for k in reconcile(executing_stale_s=0) if k.startswith("executing_")) for _ in range(3)]
    assert outcomes == ["executing_deferred", "executing_deferred", "executing_in_doubt"]
    (done,) = actions(job_id)
    assert done.status == "in_doubt" and "far behind" in (done.error or "")
    assert len(jira.calls("POST", "/rest/api/2/issue")) == 1  # asked, never repeated
