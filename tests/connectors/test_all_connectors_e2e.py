"""One agent job across all four real connectors — Gmail, Google Calendar, Jira and Slack — each
spoken to through its real client library against a local server that speaks its API: reads
first, then four proposed writes, each approved by a person, each executed exactly once."""
from __future__ import annotations

from sqlmodel import Session

from services.approvals.service import decide
from services.config import reset_settings
from services.store.db import get_engine
from services.store.models import Organisation, Principal
from tests.fakes.google_api import ALEX, DANA, mail, make_world
from tests.fakes.jira_api import API_TOKEN, EMAIL, FakeJira
from tests.fakes.model_server import text, tool_calls
from tests.fakes.slack_web import BOT_TOKEN, FakeSlack
from tests.support.jobs import actions, start, wait_status, wait_until

WRITES = (
    ("calendar_create_event", {"summary": "Checkout incident review", "attendees": [DANA],
                               "start": "2025-03-10T15:00:00", "end": "2025-03-10T15:30:00"}),
    ("gmail_send", {"to": [DANA], "subject": "Incident review", "body": "Invite sent for Monday 15:00."}),
    ("jira_comment", {"key": "OPS-1", "body": "Review booked for Monday 15:00 London."}),
    ("slack_post", {"channel": "#ops", "text": "OPS-1 review: Monday 15:00 London."}),
)


def test_one_job_reads_and_writes_gmail_calendar_jira_and_slack(store, fake_google, embedded, scripted_model,
                                                                fast_model, monkeypatch):
    world = make_world(fake_google)
    fake_google.deliver(ALEX, mail(DANA, ALEX, "Checkout is slow", "Can we review OPS-1 on Monday?"))
    with FakeJira(cloud=True) as jira, FakeSlack() as slack:
        jira.add_user(ALEX, "Alex")
        jira.add_user(DANA, "Dana")
        jira.add_issue("OPS", "Checkout is slow", reporter=DANA, description="p95 is 4s since Monday.")
        slack.add_user(ALEX, "Alex", user_id="U0ALEX")
        ops = slack.add_channel("ops")
        for key, value in {"JIRA_URL": jira.url, "JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": API_TOKEN,
                           "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.url}.items():
            monkeypatch.setenv(f"WORKMODE_{key}", value)
        reset_settings()
        with Session(get_engine(), expire_on_commit=False) as s:
            org = s.get(Organisation, world.org_id)
            org.policy = {**org.policy, "connectors": {"mail": "gmail", "calendar": "gcal", "tickets": "jira",
                                                       "chat": "slack"}}
            s.add(org)
            s.commit()
            alex = s.get(Principal, world.principal_id)

        scripted_model.push(
            tool_calls(("gmail_search", {"query": "from:dana@acme.example"})),
            tool_calls(("jira_get_issue", {"key": "OPS-1"}), ("calendar_list_events", {})),
            tool_calls(*WRITES),
            text("Booked the review, replied to Dana, commented on OPS-1 and told #ops."))
        job_id = start(alex, "Set up the OPS-1 review with Dana and tell everyone")

        wait_status(job_id, "waiting")
        proposed = wait_until(lambda: (lambda p: p if len(p) == 4 else None)(
            [a for a in actions(job_id) if a.status == "pending"]), what="four pending actions")
        assert sorted((a.connector, a.tool) for a in proposed) == [
            ("gcal", "calendar_create_event"), ("gmail", "gmail_send"), ("jira", "jira_comment"),
            ("slack", "slack_post")]
        assert slack.posted() == [] and len(jira.calls("POST", "/comment")) == 0  # nothing before approval
        for action in proposed:
            with Session(get_engine()) as s:
                decide(session=s, action_id=action.id, actor=alex, decision="approve", shown_hash=action.args_hash)
                s.commit()

        job = wait_status(job_id, "completed", timeout=60)
        assert job.result.startswith("Booked the review")
        done = {a.tool: a for a in actions(job_id)}
        assert {a.status for a in done.values()} == {"succeeded"}
        assert fake_google.event(done["calendar_create_event"].result["event_id"])["summary"] == \
            "Checkout incident review"
        sent = [m for m in fake_google.mailboxes[ALEX].messages.values()
                if m.parsed["X-Workmode-Action"] == done["gmail_send"].id]
        assert len(sent) == 1
        assert len(jira.calls("POST", "/comment")) == 1
        (posted,) = slack.posted(done["slack_post"].id)
        assert posted["channel"] == ops
