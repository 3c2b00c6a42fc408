"""An agent job end to end on Gmail and Google Calendar: the real engine (store, embedded Celery
worker, scripted model) with the organisation's policy choosing the gmail and gcal connectors,
and every write approved before it reaches the (fake) Google."""
from __future__ import annotations

from sqlmodel import Session

from services.approvals.service import decide
from services.jobs.service import create_job
from services.store.db import get_engine
from services.store.models import Principal
from tests.fakes.google_api import ALEX, DANA, mail, make_world
from tests.fakes.model_server import dynamic, text, tool_calls
from tests.support.jobs import actions, job_state, tool_result_json, wait_status, wait_until


def _approve(job_id: str, tool: str) -> None:
    wait_status(job_id, "waiting")
    action = wait_until(lambda: next((a for a in actions(job_id) if a.status == "pending" and a.tool == tool), None),
                        what=f"pending {tool}")
    assert action.connector in ("gmail", "gcal")
    with Session(get_engine(), expire_on_commit=False) as s:
        decide(session=s, action_id=action.id, actor=s.get(Principal, job_state(job_id).principal_id),
               decision="approve", shown_hash=action.args_hash)
        s.commit()


def test_a_job_reads_gmail_replies_and_books_a_meeting(store, fake_google, embedded, scripted_model, fast_model):
    world = make_world(fake_google)
    root = fake_google.deliver(ALEX, mail(DANA, ALEX, "Q3 review", "Can we meet Monday afternoon?",
                                          Message_ID="<q3@acme.example>"))
    scripted_model.push(
        tool_calls(("gmail_search", {"query": "from:dana@acme.example is:unread"})),
        dynamic(lambda req: tool_calls(
            ("gmail_read_thread", {"thread_id": tool_result_json(req)["messages"][0]["thread_id"]}))),
        tool_calls(("calendar_find_slots", {"attendees": [DANA], "duration_minutes": 30, "window_start":
                                            "2025-03-10T12:00:00", "window_end": "2025-03-10T18:00:00"})),
        dynamic(lambda req: tool_calls(("calendar_create_event", {
            "summary": "Q3 review", "attendees": [DANA], "start": tool_result_json(req)["slots"][0]["start"],
            "end": tool_result_json(req)["slots"][0]["end"]}))),
        tool_calls(("gmail_send", {"to": [DANA], "subject": "Q3 review", "body": "Invite sent for Monday.",
                                   "thread_id": root.thread_id})),
        text("Booked Monday and replied to Dana."))
    with Session(get_engine(), expire_on_commit=False) as s:
        job = create_job(session=s, principal=s.get(Principal, world.principal_id),
                         prompt="Set up the Q3 review with Dana")
        s.commit()

    _approve(job.id, "calendar_create_event")
    _approve(job.id, "gmail_send")
    done = wait_status(job.id, "completed", timeout=60)
    assert done.result == "Booked Monday and replied to Dana."
    assert [a.status for a in actions(job.id)] == ["succeeded", "succeeded"]

    event, send = actions(job.id)
    booked = fake_google.event(event.result["event_id"])
    assert booked["start"]["dateTime"] == "2025-03-10T13:00:00+00:00"  # 09:00 in New York (EDT)
    assert [a["email"] for a in booked["attendees"]] == [DANA]
    reply = fake_google.message(ALEX, send.result["message_id"])
    assert reply.thread_id == root.thread_id and reply.parsed["In-Reply-To"] == "<q3@acme.example>"
    assert reply.parsed["X-Workmode-Action"] == send.id
    # What the model read from Gmail was fenced as untrusted data.
    read = next(m for m in scripted_model.requests[-1]["messages"]
                if m["role"] == "tool" and "Can we meet" in m["content"])
    assert read["content"].startswith("<untrusted")
