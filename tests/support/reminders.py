"""Helpers for the reminders tests (tests/admin/test_reminders.py, tests/slack/test_slack_reminders.py):
set an organisation's reminder policy, run the reminders tick at a given time, and leave a job
waiting on an approval."""
from __future__ import annotations

from sqlmodel import Session

from services.approvals.reminders import REMINDED, send_reminders
from services.store.db import get_engine
from services.store.models import Action, Organisation
from tests.fakes.model_server import text, tool_calls
from tests.support.jobs import events, pending_action, start

SEND = ("gmail_send", {"to": ["dana@northwind.example"], "subject": "Q3", "body": "Tuesday 10:00?"})


def set_reminders(org: Organisation, **reminders) -> None:
    with Session(get_engine()) as s:
        row = s.get(Organisation, org.id)
        row.policy = {**row.policy, "reminders": reminders}
        s.commit()


def tick(now) -> dict[str, int]:
    with Session(get_engine()) as s:  # a plain session, as the reconciler's would be
        return send_reminders(session=s, now=now)


def reminded(job_id: str) -> list[dict]:
    return [e.data for e in events(job_id) if e.kind == REMINDED]


def waiting(worker, person, answer: str = "Done.") -> Action:
    """A job of `person`'s whose (scripted) model proposes SEND, pending approval; the model then
    answers `answer`."""
    worker.push(tool_calls(SEND))
    worker.set_default(text(answer))
    return pending_action(start(person, "email Dana about Q3"))
