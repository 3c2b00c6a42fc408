"""A scheduled report, end to end: the tick starts a Job (source "schedule") whose prompt asks the
agent to gather across the connectors and cite its sources; the scripted model answers with source
links; the answer is on the web job page and DMed to the person in Slack by the notifier."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.store.db import get_engine
from services.store.models import Job, Principal, ScheduleRun
from tests.fakes.model_server import text
from tests.support.jobs import wait_status, wait_until
from tests.support.web import sign_in

JIRA = "https://jira.example/browse/OPS-12"
MAIL = "https://mail.google.com/mail/u/0/#all/t-7"
ANSWER = (f"## OPS\n- [OPS-12 Printer on fire]({JIRA}) moved to Done\n"
          f"## Escalations\n- [Globex: invoice overdue]({MAIL})\n## #support\n- nothing new")


def add_report(deliver: list[str]) -> datetime:
    from services.schedules.service import add_schedule

    with Session(get_engine(), expire_on_commit=False) as s:
        alex = s.exec(select(Principal).where(Principal.email == "alex@northwind.example")).one()
        sc = add_schedule(session=s, principal=alex, kind="report", when="every Monday 09:00", delivery=deliver,
                          prompt="OPS tickets that changed last week, escalations in my inbox, #support highlights",
                          now=datetime(2025, 3, 20, tzinfo=UTC))
        s.commit()
        return sc.next_run_at


def test_a_report_is_delivered_to_the_web_and_as_a_slack_dm_with_its_sources(worker, slack):
    from services.api.app import create_app
    from services.schedules.tick import tick

    slot = add_report(["web", "slack"])
    worker.push(text(ANSWER))
    # Two slots passed while Workmode was down: one run, and the prompt says so.
    [started] = tick(slot + timedelta(days=7, minutes=1))
    assert started.kind == "report" and started.missed == 1
    job = wait_status(started.job_id, "completed")
    assert job.source == "schedule" and job.result == ANSWER
    with Session(get_engine()) as s:
        assert s.exec(select(ScheduleRun)).one().job_id == job.id
    prompt = worker.requests[0]["messages"][1]["content"]
    assert "Scheduled report (every Monday 09:00, Europe/London): OPS tickets that changed last week" in prompt
    assert "Cite every item with a Markdown link to its source" in prompt
    assert "1 earlier scheduled time" in prompt and "gmail_create_draft" not in prompt

    def dm_with_answer():
        return next((m for m in slack.fake.in_channel("D0ALEX") if f"<{JIRA}|OPS-12 Printer on fire>" in str(m.blocks)),
                    None)

    dm = wait_until(dm_with_answer, what="the report in Alex's DM")
    assert f"<{MAIL}|Globex: invoice overdue>" in str(dm.blocks)
    assert "schedule: *report · every Monday 09:00" in str(dm.blocks)
    assert len(slack.fake.in_channel("D0ALEX")) == 1  # one message, edited as the job went on

    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        sign_in(client, Principal(**_alex()))
        page = client.get(f"/jobs/{job.id}")
    assert page.status_code == 200 and JIRA in page.text and MAIL in page.text


def _alex() -> dict:
    with Session(get_engine(), expire_on_commit=False) as s:
        return s.exec(select(Principal).where(Principal.email == "alex@northwind.example")).one().model_dump()


def test_a_web_only_report_sends_no_slack_message_and_email_delivery_asks_for_a_draft(worker, slack):
    from services.schedules.tick import tick

    slot = add_report(["web", "email"])
    worker.push(text(ANSWER))
    [started] = tick(slot + timedelta(seconds=5))
    job = wait_status(started.job_id, "completed")
    assert "gmail_create_draft" in worker.requests[0]["messages"][1]["content"]
    assert "alex@northwind.example" in worker.requests[0]["messages"][1]["content"]
    with Session(get_engine()) as s:
        assert s.get_one(Job, job.id).reply_to.get("slack_dm") is None
    assert slack.fake.in_channel("D0ALEX") == []
