"""A later attempt asks the connector first: a send whose request timed out but arrived anyway is
found, not sent again (the first look came too early to see it)."""
from __future__ import annotations

from sqlmodel import Session

from connectors.base import args_hash
from services.approvals.execute import execute_action
from services.config import reset_settings
from services.store.db import get_engine
from services.store.models import Action, ActionStatus, Job, JobStatus, Message
from tests.fakes.google_api import ALEX, DANA, make_world
from tests.support.jobs import actions, wait_until


def _approved_send(world) -> str:
    args = {"to": [DANA], "cc": [], "bcc": [], "subject": "Hi", "body": "Monday?", "thread_id": None}
    with Session(get_engine()) as s:
        job = Job(org_id=world.org_id, principal_id=world.principal_id, prompt="say hi", status=JobStatus.waiting,
                  waiting_for="approval")
        s.add(job)
        s.flush()
        s.add(Message(job_id=job.id, seq=0, role="user", content="say hi"))
        s.add(Message(job_id=job.id, seq=1, role="assistant", tool_calls=[
            {"id": "abcdefghi", "name": "gmail_send", "arguments": "{}"}]))
        action = Action(job_id=job.id, tool_call_id="abcdefghi", connector="gmail", tool="gmail_send",
                        arguments=args, args_hash=args_hash(args), approved_hash=args_hash(args),
                        status=ActionStatus.approved, decided_via="person")
        s.add(action)
        s.commit()
        return action.id


def test_a_retry_finds_the_send_that_arrived_late(store, fake_google, monkeypatch):
    world = make_world(fake_google)
    monkeypatch.setenv("WORKMODE_GOOGLE_TIMEOUT_S", "0.5")
    reset_settings()
    action_id = _approved_send(world)
    fake_google.slow_paths[r"/messages/send$"] = 1.5  # answers after the client gave up, then sends

    assert execute_action(action_id) == "retry"  # timed out; nothing found yet; retry later
    box = fake_google.mailboxes[ALEX]
    wait_until(lambda: [m for m in box.messages.values() if m.parsed["X-Workmode-Action"] == action_id],
               what="the late send to arrive")
    fake_google.slow_paths.clear()

    assert execute_action(action_id) == "succeeded"  # the retry delivery: verify first, found
    sent = [m for m in box.messages.values() if m.parsed["X-Workmode-Action"] == action_id]
    assert len(sent) == 1
    (done,) = actions_of(action_id)
    assert done.status == "succeeded" and done.attempts == 2


def actions_of(action_id: str) -> list[Action]:
    with Session(get_engine()) as s:
        job_id = s.get(Action, action_id).job_id
    return actions(job_id)
