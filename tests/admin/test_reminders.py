"""Reminders (issue 13, part 5): a pending approval nudges the people who may decide it once per
interval (after a wait, and again before it expires), never twice however many ticks run, and no
more once it is decided; a daily "waiting for you" summary per person; the requester hears when
an approval expired (tests/slack/test_slack_reminders.py). Times are passed to the tick (`now`),
never waited for."""
from __future__ import annotations

import threading
from datetime import UTC, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from services.approvals.reminders import SUMMARY, aware
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Action, Organisation, utcnow
from tests.support.jobs import decide_now, events, wait_status
from tests.support.reminders import reminded, set_reminders, tick, waiting


def test_reminders_fire_once_per_interval_and_stop_after_a_decision(worker, workspace):
    org, people = workspace
    set_reminders(org, after_s=3600, before_expiry_s=1800, summary_hour=None)
    action = waiting(worker, people["priya"])  # Priya is no approver: Alex and Dana are nudged too
    t0, expires = aware(action.created_at), aware(action.expires_at)

    assert tick(t0 + timedelta(minutes=30)) == {}
    assert tick(t0 + timedelta(hours=1, seconds=1)) == {"reminders_sent": 1}
    assert tick(t0 + timedelta(hours=1, seconds=2)) == {}
    assert tick(t0 + timedelta(hours=5)) == {}
    (first,) = reminded(action.job_id)
    assert first["index"] == 0 and first["interval"] == "after" and first["waited_s"] >= 3600
    assert set(first["approvers"]) == {people["priya"].id, people["alex"].id, people["dana"].id}

    assert tick(expires - timedelta(seconds=1799)) == {"reminders_sent": 1}
    assert tick(expires - timedelta(seconds=1)) == {}
    assert [r["index"] for r in reminded(action.job_id)] == [0, 1]
    assert reminded(action.job_id)[1]["interval"] == "before_expiry"

    other = waiting(worker, people["alex"])  # an approver's own job nudges only them
    decide_now(other, people["alex"], decision="approve")
    wait_status(other.job_id, "completed")
    assert tick(aware(other.expires_at) - timedelta(seconds=1)) == {}
    assert reminded(other.job_id) == []


def test_a_decision_stops_the_reminders(worker, workspace):
    org, people = workspace
    set_reminders(org, after_s=3600, before_expiry_s=1800, summary_hour=None)
    action = waiting(worker, people["alex"])
    t0 = aware(action.created_at)
    assert tick(t0 + timedelta(hours=2)) == {"reminders_sent": 1}
    assert reminded(action.job_id)[0]["approvers"] == [people["alex"].id]
    decide_now(action, people["alex"], decision="reject", reason="not now")
    wait_status(action.job_id, "completed")
    assert tick(aware(action.expires_at) - timedelta(seconds=60)) == {}
    assert len(reminded(action.job_id)) == 1


def test_two_ticks_at_once_remind_once(worker, workspace):
    org, people = workspace
    set_reminders(org, after_s=60, before_expiry_s=0, summary_hour=None)
    action = waiting(worker, people["alex"])
    now = aware(action.created_at) + timedelta(minutes=5)
    barrier, results = threading.Barrier(4), []

    def run():
        barrier.wait()
        results.append(tick(now))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.get("reminders_sent", 0) for r in results) == [0, 0, 0, 1]
    assert len(reminded(action.job_id)) == 1


def test_a_daily_summary_per_person_once_a_day(worker, workspace):
    org, people = workspace
    set_reminders(org, after_s=0, before_expiry_s=None, summary_hour=0)
    action = waiting(worker, people["priya"])
    t0 = aware(action.created_at)
    assert tick(t0 + timedelta(minutes=10)) == {}  # just sent: nothing has waited yet
    assert tick(t0 + timedelta(hours=2)) == {"summaries_sent": 3}  # Priya, and the approvers Alex and Dana
    assert tick(t0 + timedelta(hours=2, minutes=1)) == {}
    summaries = [e for e in events(action.job_id) if e.kind == SUMMARY]
    assert {e.actor for e in summaries} == {people["priya"].id, people["alex"].id, people["dana"].id}
    assert all(e.data["count"] == 1 and e.data["items"][0]["action_id"] == action.id for e in summaries)
    assert tick(t0 + timedelta(hours=2, days=1)) == {"summaries_sent": 3}  # the next day (everyone's)
    assert reminded(action.job_id) == []  # after_s=0: no nudges, only summaries


def test_the_reconciler_tick_sends_them(worker, workspace):
    _, people = workspace
    action = waiting(worker, people["alex"])
    with Session(get_engine()) as s:  # it was proposed five hours ago (the default nudge is after four)
        row = s.get(Action, action.id)
        row.created_at = utcnow() - timedelta(hours=5)
        row.expires_at = utcnow() + timedelta(hours=19)
        s.commit()
    assert reconcile().get("reminders_sent") == 1
    assert "reminders_sent" not in reconcile()
    assert len(reminded(action.job_id)) == 1


def test_the_web_queue_marks_a_reminded_approval(worker, workspace):
    from services.api.app import create_app
    from tests.support.web import sign_in

    org, people = workspace
    set_reminders(org, after_s=3600, before_expiry_s=None, summary_hour=None)
    action = waiting(worker, people["alex"])
    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        sign_in(client, people["alex"])
        assert "reminded" not in client.get("/queue/rows").text
        tick(aware(action.created_at) + timedelta(hours=2))
        row = client.get("/queue/rows").text
        assert "waiting 0h, reminded" in row  # it was proposed moments ago; the tick was told "two hours later"
        assert "Reminded 1 person" in client.get(f"/jobs/{action.job_id}").text
    decide_now(action, people["alex"], decision="approve")
    wait_status(action.job_id, "completed")


@pytest.mark.parametrize("given, expected", [
    ({"after_s": "soon"}, (4 * 3600, 2 * 3600, 9)), ({"after_s": 0, "before_expiry_s": None}, (None, None, 9)),
    ({"summary_hour": 25}, (4 * 3600, 2 * 3600, 9)), ({"summary_hour": None, "after_s": 60}, (60, 2 * 3600, None)),
])
def test_the_policy_overrides_the_defaults(given, expected):
    from services.approvals.reminders import reminder_policy

    policy = reminder_policy(Organisation(name="x", policy={"reminders": given}))
    assert (policy.after_s, policy.before_expiry_s, policy.summary_hour) == expected
    assert UTC  # times are UTC throughout
