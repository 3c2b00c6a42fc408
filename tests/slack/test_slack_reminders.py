"""Reminders in Slack (issue 13, part 5): the nudges and the daily summary are DMed to the people
they name, once each however many ticks run; the requester hears when an approval expired."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import Session

from services.approvals.reminders import aware
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Action, utcnow
from tests.support.jobs import wait_status, wait_until
from tests.support.reminders import set_reminders, tick, waiting


def test_reminders_summaries_and_expiry_reach_people_in_slack(worker, workspace, slack):
    org, people = workspace
    set_reminders(org, after_s=3600, before_expiry_s=None, summary_hour=0)
    action = waiting(worker, people["priya"], answer="It expired.")
    t0 = aware(action.created_at)

    def said(channel: str, words: str) -> list[str]:
        return [m.text for m in slack.fake.in_channel(channel) if words in m.text]

    assert tick(t0 + timedelta(hours=2)) == {"reminders_sent": 1, "summaries_sent": 3}
    for channel in ("D0PRIYA", "D0ALEX", "D0DANA"):
        wait_until(lambda channel=channel: said(channel, "Reminder:") and said(channel, "Waiting for you: 1 approval"),
                   what=f"the reminder and the summary in {channel}")
    # Ticks again at the same moment send nothing more. (A later moment could fall on the next day
    # in someone's zone, where the 00:00 summary is due again: the action is created at the real now.)
    assert tick(t0 + timedelta(hours=2)) == {} and tick(t0 + timedelta(hours=2)) == {}
    reminder = said("D0ALEX", "Reminder:")
    assert len(reminder) == 1 and "waited 2h" in reminder[0] and "Q3" in json.dumps(reminder)

    with Session(get_engine()) as s:  # its time runs out: the reconciler expires it
        row = s.get(Action, action.id)
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.commit()
    reconcile()
    wait_status(action.job_id, "completed")
    told = wait_until(lambda: said("D0PRIYA", "expired without a decision"), what="the requester told")
    assert len(told) == 1 and "nothing ran" in told[0]
    for channel in ("D0PRIYA", "D0ALEX", "D0DANA"):
        assert len(said(channel, "Reminder:")) == 1 and len(said(channel, "Waiting for you")) == 1
