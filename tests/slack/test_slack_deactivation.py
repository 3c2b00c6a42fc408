"""Deactivating a person with pending approvals (issue 13, part 1), through the admin REST API:
each approval is handed to everyone who may decide it (approvers named in the policy and
approvers by role), with a timeline event and an audit row per approval, and every one of them is
told in a Slack DM; one who never had the approval card gets it, buttons and all, and can decide
there. Expiry, when no one may decide, is tested through the CLI (tests/admin/test_admin_cli.py)."""
from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.admin.people import set_role
from services.api.app import create_app
from services.store.db import get_engine
from services.store.models import AuditEvent, Principal
from tests.admin.test_reminders import waiting
from tests.support.jobs import actions, events, wait_status, wait_until
from tests.support.slack import buttons
from tests.support.web import api_token

HANDED = "is now for you and the other approvers to decide"


def test_deactivation_hands_pending_approvals_to_every_approver_and_dms_them(worker, workspace, slack):
    _, people = workspace
    with Session(get_engine(), expire_on_commit=False) as s:  # Alex: admin; Sam: an approver by role only
        admin = set_role(session=s, target=s.get_one(Principal, people["alex"].id), role="admin", by="test")
        set_role(session=s, target=s.get_one(Principal, people["sam"].id), role="approver", by="test")
        s.commit()

    def cards(channel: str) -> list:
        return [m for m in slack.fake.in_channel(channel) if buttons(m)]

    def notes(channel: str) -> list[str]:
        return [m.text for m in slack.fake.in_channel(channel) if HANDED in m.text]

    action = waiting(worker, people["priya"], answer="Sent it.")
    for channel in ("D0ALEX", "D0DANA"):  # the approvers the policy names got the card when it was asked
        wait_until(lambda channel=channel: cards(channel), what=f"the approval card in {channel}")
    assert cards("D0SAM") == []  # an approver by role alone gets no card at request time

    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        r = client.post("/api/admin/people/priya@northwind.example/deactivate", headers=api_token(admin))
    assert r.status_code == 200, r.text
    assert r.json()["reassigned"] == 1 and r.json()["expired"] == 0

    (handed,) = [e for e in events(action.job_id) if e.kind == "approval_reassigned"]
    everyone = ["alex@northwind.example", "dana@northwind.example", "sam@northwind.example"]
    assert handed.action_id == action.id and handed.actor == admin.id and handed.data["to"] == everyone
    assert set(handed.data["approvers"]) == {people["alex"].id, people["dana"].id, people["sam"].id}
    with Session(get_engine()) as s:
        (row,) = s.exec(select(AuditEvent).where(AuditEvent.kind == "approval_reassigned")).all()
        assert row.action_id == action.id and row.job_id == action.job_id
        assert row.actor_email == "alex@northwind.example" and row.data["to"] == everyone
        assert row.data["requester_id"] == people["priya"].id and row.data["args_hash"] == action.args_hash
        (gone,) = s.exec(select(AuditEvent).where(AuditEvent.kind == "person_deactivated")).all()
        assert gone.data["reassigned"] == 1 and gone.data["expired"] == 0

    for channel in ("D0ALEX", "D0DANA", "D0SAM"):
        told = wait_until(lambda channel=channel: notes(channel), what=f"the hand-over in {channel}")
        assert len(told) == 1 and "priya@northwind.example was deactivated" in told[0] and "Q3" in told[0]
    sams = wait_until(lambda: cards("D0SAM"), what="the approval card in Sam's DM")
    assert len(sams) == 1 and "Q3" in json.dumps(sams[0].blocks)
    assert len(cards("D0ALEX")) == 1 and len(cards("D0DANA")) == 1  # who had the card gets no second one
    assert notes("D0PRIYA") == []  # the person who left is not told to decide anything

    click = slack.send.click("wm_approve", buttons(sams[0])["wm_approve"], user="U0SAM", message=sams[0])
    assert click.status_code == 200
    wait_status(action.job_id, "completed")
    (done,) = actions(action.job_id)
    assert done.status == "succeeded" and done.decided_by == people["sam"].id
    wait_until(lambda: not buttons(slack.fake.message(sams[0].channel, sams[0].ts)),
               what="Sam's copy of the card to show the decision")
    assert len(notes("D0SAM")) == 1  # each hand-over is told once, however many runs the notifier makes
