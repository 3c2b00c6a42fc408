"""What the Slack notifier costs the engine: jobs that did not come from Slack send no notify
task per step (only their few approval events do); a Slack job sends one per changed commit."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from sqlmodel import Session

from services.approvals.service import expire_pending
from services.jobs.notify import APPROVAL_KINDS, NOTIFY
from services.jobs.service import create_job
from services.store.db import get_engine
from services.store.models import Action, utcnow
from tests.fakes.model_server import text, tool_calls
from tests.support.jobs import actions, events, wait_status, wait_until

STEPS = [tool_calls(("update_plan", {"steps": [{"title": "Look", "status": "in_progress"}]})),
         tool_calls(("gmail_search", {"query": "from:dana@northwind.example"})),
         tool_calls(("update_plan", {"steps": [{"title": "Look", "status": "done"}]})),
         text("Nothing needs doing.")]


@pytest.fixture
def published():
    names: list[str] = []

    def count(sender=None, **_kw):
        names.append(sender)

    before_task_publish.connect(count, weak=False)
    yield names
    before_task_publish.disconnect(count)


def start(principal, source="cli", prompt="check my mail") -> str:
    with Session(get_engine(), expire_on_commit=False) as s:
        job = create_job(session=s, principal=principal, prompt=prompt, source=source)
        s.commit()
        return job.id


def test_a_job_from_elsewhere_pays_no_broker_hop_per_step(worker, slack, workspace, published):
    _, people = workspace
    worker.push(*STEPS)
    job_id = start(people["alex"])
    wait_status(job_id, "completed")
    assert published.count("workmode.agent.advance") >= 1
    assert NOTIFY not in published
    assert len(events(job_id)) >= 6  # it did record its steps


def test_approval_events_are_the_only_ones_that_notify(worker, slack, workspace, published):
    _, people = workspace
    worker.push(tool_calls(("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "x"})),
                text("ok"))
    job_id = start(people["alex"])
    wait_status(job_id, "waiting")
    dm = wait_until(lambda: slack.fake.in_channel("D0ALEX"), what="the DM")[0]
    value = next(e["value"] for b in dm.blocks if b["type"] == "actions" for e in b["elements"])
    slack.send.click("wm_approve", value, user="U0ALEX", message=dm)
    wait_status(job_id, "completed")
    approval_events = [e for e in events(job_id) if e.kind in APPROVAL_KINDS]
    assert 1 <= published.count(NOTIFY) <= len(approval_events) < len(events(job_id))


def test_a_slack_job_notifies_at_most_once_per_event(worker, slack, published):
    from tests.support.slack import card, one_job

    worker.push(*STEPS)
    slack.send.command("check my mail")
    job = one_job()
    wait_status(job.id, "completed")
    card(slack, job.id)
    assert 1 <= published.count(NOTIFY) <= len(events(job.id))


def test_an_expired_approval_shows_in_slack(worker, slack, workspace):
    worker.push(tool_calls(("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "x"})),
                text("It expired."))
    slack.send.command("email Dana")
    from tests.support.slack import card, one_job

    job = one_job()
    wait_status(job.id, "waiting")
    msg = card(slack, job.id)
    approval = wait_until(lambda: slack.fake.thread(msg.channel, msg.ts), what="the approval")[0]
    with Session(get_engine()) as s:  # the reconciler's expiry, on a session that never loaded the job
        a = s.get(Action, actions(job.id)[0].id)
        a.expires_at = utcnow() - timedelta(seconds=1)
        s.commit()
    with Session(get_engine()) as s:
        assert expire_pending(session=s) == 1
        s.commit()
    wait_status(job.id, "completed")
    wait_until(lambda: "Expired without a decision" in json.dumps(slack.fake.message(msg.channel, approval.ts).blocks),
               what="the card to say it expired")
