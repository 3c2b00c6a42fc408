"""The audit export holds the decisions of a job with four approvals (who, which action, which
arguments hash), what ran and how it ended, the connection made, and no secret: a canary in a
stored credential, in an API token and in the arguments never appears."""
from __future__ import annotations

import json

from sqlmodel import Session

from services.credentials import service as credentials
from services.store.db import get_engine
from tests.fakes.model_server import text, tool_calls
from tests.support.jobs import actions, wait_status, wait_until
from tests.support.web import api_token, start_job

CANARY_SECRET = "canary-secret-7f3a9c"
CANARY_ARGS = "canary-args-51bd"


def test_export_has_four_decisions_and_no_canary(worker, workspace, admin, client):
    _, people = workspace
    priya = people["priya"]
    with Session(get_engine(), expire_on_commit=False) as s:
        credentials.save(session=s, principal_id=priya.id, provider="jira",
                         secret={"url": "https://jira.example", "email": priya.email, "token": CANARY_SECRET})
        s.commit()
    sends = [("gmail_send", {"to": ["dana@northwind.example"], "subject": f"Note {i}", "body": f"{CANARY_ARGS} {i}"})
             for i in range(4)]
    worker.push(tool_calls(*sends))
    worker.set_default(text("All four handled."))
    job_id = start_job(priya, "Send Dana four notes")
    wait_status(job_id, "waiting")
    pending = wait_until(lambda: (lambda a: a if len(a) == 4 else None)(
        [a for a in actions(job_id) if a.status == "pending"]), what="four pending actions")
    approver = api_token(people["dana"])
    for i, action in enumerate(pending):
        body = ({"decision": "approve", "args_hash": action.args_hash} if i < 3
                else {"decision": "reject", "args_hash": action.args_hash, "reason": "not this one"})
        r = client.post(f"/api/approvals/{action.id}/decision", headers=approver, json=body)
        assert r.status_code == 200, r.text
    wait_status(job_id, "completed")

    r = client.get("/api/admin/audit/export", headers=api_token(admin, f"wm_{CANARY_SECRET}"),
                   params={"since": "2000-01-01T00:00:00Z"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    assert CANARY_SECRET not in r.text and CANARY_ARGS not in r.text
    rows = [json.loads(line) for line in r.text.splitlines()]
    decided = [x for x in rows if x["kind"] == "action_decided"]
    assert len(decided) == 4
    assert {(x["action_id"], x["data"]["args_hash"]) for x in decided} == {(a.id, a.args_hash) for a in pending}
    assert {x["actor_email"] for x in decided} == {"dana@northwind.example"}
    assert sorted(x["data"]["decision"] for x in decided) == ["approve", "approve", "approve", "reject"]
    assert sum(x["kind"] == "action_succeeded" for x in rows) == 3
    created = next(x for x in rows if x["kind"] == "job_created")
    assert created["actor_email"] == "priya@northwind.example" and created["data"]["prompt"] == "Send Dana four notes"
    assert any(x["kind"] == "job_completed" and x["job_id"] == job_id for x in rows)
    assert any(x["kind"] == "connection_made" and x["subject"] == "jira" for x in rows)
    csv_export = client.get("/api/admin/audit/export", headers=api_token(admin),
                            params={"since": "2000-01-01T00:00:00Z", "format": "csv"}).text
    assert csv_export.count("action_decided") == 4 and CANARY_SECRET not in csv_export


def test_jit_sign_in_creates_a_member_only_when_on(workspace, admin, client, idp):
    from tests.support.oidc import through_idp

    idp.email = "newcomer@northwind.example"
    idp.email_verified = True
    r = through_idp(client, idp)
    assert r.status_code == 403 and "not a Workmode user" in r.text  # off by default
    assert client.patch("/api/admin/policy", headers=api_token(admin), json={"jit_sign_in": True}).status_code == 200
    idp.email_verified = None
    assert through_idp(client, idp).status_code == 403  # still needs a verified email
    idp.email_verified = True
    r = through_idp(client, idp)
    assert r.status_code == 303 and client.get("/queue", follow_redirects=False).status_code == 200
    person = client.get("/api/admin/people/newcomer@northwind.example", headers=api_token(admin)).json()
    assert person["role"] == "member" and person["active"] is True
    idp.email = "stranger@elsewhere.example"
    assert through_idp(client, idp).status_code == 403  # not one of the organisation's domains
