"""Crash safety against the real connectors: a real `celery worker` process, SIGKILLed at each
crash point of executing an action, while it talks to Gmail, Google Calendar, Jira and Slack
through their real client libraries (each replaced at its HTTP edge by the local server in
tests/fakes/). Redis is the broker, with a visibility timeout short enough that Celery puts each
killed worker's message back on the queue during the test; a surviving worker takes the messages
back and the reconciler settles what the dead workers left half done. Every approved effect then
exists exactly once on the fake service (never twice), or the action is honestly in_doubt.

One job proposes one write of each kind; a fresh doomed worker dies on each of them in turn, so
one test per crash point covers every connector (five kills, then the survivor).

The fakes run in their hardest setting: Jira's search lags behind every write for the whole test
(the created issue is never in the index, so verify must find it by reading keys), and the Slack
channel is public but the app is not in it (the post joins it first; verify after a crash before
the post must join it to read its history)."""
from __future__ import annotations

import signal
from collections.abc import Callable

import pytest
from sqlmodel import Session

from services.config import reset_settings
from services.faults import EXECUTE_AFTER_CALL, EXECUTE_AFTER_COMMIT, EXECUTE_BEFORE_CALL
from services.queues import EXECUTE
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Organisation, Principal
from tests.fakes.google_api import ALEX, DANA, FakeGoogle, make_world
from tests.fakes.jira_api import API_TOKEN, EMAIL, FakeJira
from tests.fakes.model_server import text, tool_calls
from tests.fakes.slack_web import BOT_TOKEN, FakeSlack
from tests.support.jobs import actions, decide_now, start, wait_status, wait_until
from tests.support.worker_process import WorkerProcess, wait_past_visibility

TASK_TIME_LIMIT_S = 2
VISIBILITY_TIMEOUT_S = 2 * TASK_TIME_LIMIT_S  # what services/broker.py derives from the time limit

SUBJECT, EVENT, ISSUE = "Incident review booked", "Checkout incident review", "Follow up the checkout incident"
COMMENT, POST = "Review booked for Monday 15:00 London.", "OPS-1 review: Monday 15:00 London."
WRITES = (
    ("gmail_send", {"to": [DANA], "subject": SUBJECT, "body": "Invite sent for Monday 15:00."}),
    ("calendar_create_event", {"summary": EVENT, "attendees": [DANA],
                               "start": "2025-03-10T15:00:00", "end": "2025-03-10T15:30:00"}),
    ("jira_create_issue", {"project": "OPS", "summary": ISSUE, "description": "From the review."}),
    ("jira_comment", {"key": "OPS-1", "body": COMMENT}),
    ("slack_post", {"channel": "#ops", "text": POST}),
)


@pytest.fixture
def real_services(pg_store, redis_url, fake_google, scripted_model, fast_model, monkeypatch):
    """Alex's organisation on Gmail, Calendar, Jira (Cloud) and Slack, each a local fake; Redis
    as the broker; every worker started from here reaches the fakes through the environment."""
    world = make_world(fake_google)
    with FakeJira(cloud=True, search_lag=True) as jira, FakeSlack() as slack:
        jira.add_user(ALEX, "Alex")
        jira.add_user(DANA, "Dana")
        jira.add_issue("OPS", "Checkout is slow", reporter=DANA)
        slack.add_user(ALEX, "Alex", user_id="U0ALEX")
        ops = slack.add_channel("ops", member=False)
        for key, value in {"BROKER_URL": redis_url, "TASK_TIME_LIMIT_S": str(TASK_TIME_LIMIT_S),
                           "JIRA_URL": jira.url, "JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": API_TOKEN,
                           "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.url}.items():
            monkeypatch.setenv(f"WORKMODE_{key}", value)
        reset_settings()
        with Session(get_engine(), expire_on_commit=False) as s:
            org = s.get_one(Organisation, world.org_id)
            org.policy = {**org.policy, "connectors": {"mail": "gmail", "calendar": "gcal", "tickets": "jira",
                                                       "chat": "slack"}}
            s.add(org)
            s.commit()
            alex = s.get_one(Principal, world.principal_id)
        yield scripted_model, alex, redis_url, effects(fake_google, jira, slack), (jira, slack, ops)


def effects(google: FakeGoogle, jira: FakeJira, slack: FakeSlack) -> dict[str, Callable[[], int]]:
    """How many times each write's effect exists on its service, counted by its content (not by
    the connector's own markers, which are what is under test)."""
    return {
        "gmail_send": lambda: sum(1 for m in google.mailboxes[ALEX].messages.values()
                                  if "SENT" in m.labels and m.parsed["Subject"] == SUBJECT),
        "calendar_create_event": lambda: sum(1 for e in google.calendars[ALEX].events.values()
                                             if e.get("summary") == EVENT and e.get("status") != "cancelled"),
        "jira_create_issue": lambda: sum(1 for i in jira.issues.values() if i.summary == ISSUE),
        "jira_comment": lambda: sum(1 for c in jira.issues["OPS-1"].comments if c["body"] == COMMENT),
        "slack_post": lambda: sum(1 for m in slack.posted() if m["text"] == POST),
    }


@pytest.mark.parametrize("point", [EXECUTE_BEFORE_CALL, EXECUTE_AFTER_CALL, EXECUTE_AFTER_COMMIT])
def test_a_worker_killed_while_executing_acts_once_on_every_service(real_services, point):
    model, alex, url, count, (jira, slack, ops) = real_services
    model.push(tool_calls(*WRITES), text("Booked, mailed, filed, commented and posted."))
    workers: list[WorkerProcess] = []
    killed: list[str] = []  # the execute tasks each doomed worker died in
    try:
        workers.append(WorkerProcess(fault_point=point).start())
        job_id = start(alex, "Set up the checkout incident review and tell everyone")
        proposed = wait_until(lambda: (lambda p: p if len(p) == len(WRITES) else None)(
            [a for a in actions(job_id) if a.status == "pending"]), what="five pending actions")
        assert sum(n() for n in count.values()) == 0  # nothing before approval
        for action in proposed:
            decide_now(action, alex, decision="approve")
        for n in range(len(WRITES)):
            if n:
                workers.append(WorkerProcess(fault_point=point).start())
            doomed = workers[-1]
            assert doomed.wait_killed(timeout=60) == -signal.SIGKILL, doomed.output()
            killed.append(doomed.received(EXECUTE)[-1])
    finally:
        for w in workers:
            w.stop()
    assert len(set(killed)) == len(WRITES)  # each doomed worker died in a different action
    assert 1 <= wait_past_visibility(url, VISIBILITY_TIMEOUT_S) <= len(WRITES)

    with WorkerProcess() as survivor:
        workers.append(survivor)

        def redelivered() -> bool:  # each killed worker's message came back to a later worker
            return all(task_id in {t for w in workers[i + 1:] for t in w.received(EXECUTE)}
                       for i, task_id in enumerate(killed))

        wait_until(redelivered, timeout=60, what="Celery to redeliver the killed workers' messages")
        counts = reconcile(executing_stale_s=0, stale_s=0)
        job = wait_status(job_id, "completed", timeout=120)
        assert survivor.proc is not None and survivor.proc.poll() is None, survivor.output()

    assert job.result == "Booked, mailed, filed, commented and posted."
    outcome = {a.tool: (a.status, count[a.tool](), a.error) for a in actions(job_id)}
    for tool, (status, effects_seen, error) in outcome.items():
        assert status in ("succeeded", "in_doubt"), (tool, outcome, counts)
        if status == "succeeded":
            assert effects_seen == 1, (tool, outcome, counts)
        else:  # honestly unknown: said why, and still never twice
            assert error and effects_seen <= 1, (tool, outcome, counts)
    # The hard cases were the ones run: search never showed the created issue, and the app was
    # not in the channel until a post or a verify joined it.
    assert not any(i.summary == ISSUE for i in jira.index.values())
    assert [c["channel"] for c in slack.called("conversations.join")] and \
        all(c["channel"] == ops for c in slack.called("conversations.join"))
    if point == EXECUTE_BEFORE_CALL:  # nothing reached a service: verify said absent, each ran once more
        assert counts.get("executing_absent") == len(WRITES), counts
    if point == EXECUTE_AFTER_CALL:  # every effect was there: verify found it, nothing ran again
        assert counts.get("executing_succeeded") == len(WRITES), counts
