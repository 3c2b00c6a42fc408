"""A revoked Google grant pauses the job and asks the person to reconnect; connecting again
lets the job go on — the paused read runs again, a refused write executes once."""
from __future__ import annotations

from sqlmodel import Session

from services.agent.reconnect import resume_after_reconnect
from services.credentials import service as credentials
from services.store.db import get_engine
from services.store.models import Principal
from tests.fakes.google_api import ALEX, DANA, make_world
from tests.fakes.model_server import text, tool_calls
from tests.support.jobs import (
    actions,
    decide_now,
    events,
    job_state,
    kinds,
    pending_action,
    start,
    wait_status,
    wait_until,
)


def _revoke(fake, principal_id: str) -> None:
    with Session(get_engine()) as s:
        fake.revoke(credentials.load(session=s, principal_id=principal_id, provider="google")["refresh_token"])


def _reconnect(fake, principal_id: str) -> None:
    with Session(get_engine()) as s:
        credentials.save(session=s, principal_id=principal_id, provider="google", secret={
            "refresh_token": fake.grant(ALEX), "token": None, "expiry": None, "scopes": [], "account": ALEX})
        resume_after_reconnect(s, principal_id)  # what the connect routes and `workmode connect` do
        s.commit()


def test_revoked_grant_pauses_a_read_until_reconnect(store, fake_google, embedded, scripted_model, fast_model):
    world = make_world(fake_google)
    _revoke(fake_google, world.principal_id)
    scripted_model.push(tool_calls(("gmail_search", {"query": "is:unread"})), text("Inbox read."))
    with Session(get_engine(), expire_on_commit=False) as s:
        alex = s.get(Principal, world.principal_id)
    job_id = start(alex)
    job = wait_status(job_id, "waiting")
    assert job.waiting_for == "reconnect"
    paused = next(e for e in events(job_id) if e.kind == "reconnect_required")
    assert "/connect/google" in paused.data["message"]
    assert len(scripted_model.requests) == 1

    _reconnect(fake_google, world.principal_id)
    assert wait_status(job_id, "completed").result == "Inbox read."
    assert len(scripted_model.requests) == 2  # the engine re-ran the read; the model was not asked again
    assert "reconnected" in kinds(job_id)


def test_revoked_grant_pauses_an_approved_write_which_then_runs_once(store, fake_google, embedded, scripted_model,
                                                                     fast_model):
    world = make_world(fake_google)
    scripted_model.push(tool_calls(("gmail_send", {"to": [DANA], "subject": "Hi", "body": "Monday?"})), text("Sent."))
    with Session(get_engine(), expire_on_commit=False) as s:
        alex = s.get(Principal, world.principal_id)
    job_id = start(alex)
    action = pending_action(job_id)
    _revoke(fake_google, world.principal_id)
    decide_now(action, alex, decision="approve")
    wait_until(lambda: actions(job_id)[0].error, what="the refused execution")
    refused = actions(job_id)[0]
    assert refused.status == "approved" and refused.error.startswith("reconnect required")
    assert job_state(job_id).status == "waiting"

    from services.reconcile import reconcile

    assert "approved_reenqueued" not in reconcile(stale_s=0)  # paused, not lost: no retry against a dead grant
    _reconnect(fake_google, world.principal_id)
    assert wait_status(job_id, "completed").result == "Sent."
    done = actions(job_id)[0]
    assert done.status == "succeeded" and done.attempts == 2
    sent = [m for m in fake_google.mailboxes[ALEX].messages.values() if m.parsed["X-Workmode-Action"] == action.id]
    assert len(sent) == 1
