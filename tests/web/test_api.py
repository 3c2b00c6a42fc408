"""The REST API against the real app and the real store (SQLite and PostgreSQL), with a real
embedded Celery worker and the scripted model proposing actions."""
from __future__ import annotations

from services.config import reset_settings
from tests.fakes.model_server import text
from tests.support.jobs import actions, wait_status
from tests.support.web import EMAIL, api_token, propose, sign_in


def test_create_follow_and_list_jobs(worker, workspace, client):
    _, people = workspace
    auth = api_token(people["alex"])
    worker.push(text("All done."))
    r = client.post("/api/jobs", json={"prompt": "Say hello", "reasoning_effort": "none"}, headers=auth)
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    assert r.json()["source"] == "api"
    wait_status(job_id, "completed")
    detail = client.get(f"/api/jobs/{job_id}", headers=auth).json()
    assert detail["result"] == "All done." and detail["status"] == "completed"
    assert [m["role"] for m in detail["messages"]][-1] == "assistant"
    assert "created" in [e["kind"] for e in detail["events"]]
    assert detail["usage"]["model_turns"] == 1
    listed = client.get("/api/jobs", headers=auth).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == job_id


def test_jobs_are_paginated_newest_first(worker, workspace, client):
    _, people = workspace
    auth = api_token(people["priya"])
    worker.push(*(text(f"answer {i}") for i in range(5)))  # the five jobs run while we page
    ids = [client.post("/api/jobs", json={"prompt": f"job {i}"}, headers=auth).json()["id"] for i in range(5)]
    first = client.get("/api/jobs?limit=2", headers=auth).json()
    assert first["total"] == 5 and first["next_offset"] == 2
    assert [j["id"] for j in first["items"]] == ids[::-1][:2]
    last = client.get("/api/jobs?limit=2&offset=4", headers=auth).json()
    assert [j["id"] for j in last["items"]] == [ids[0]] and last["next_offset"] is None
    bad = client.get("/api/jobs?limit=0", headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "limit"
    for job_id in ids:  # no job of this test runs on into the next one's model
        wait_status(job_id, "completed")


def test_errors_name_the_field(workspace, client):
    _, people = workspace
    auth = api_token(people["alex"])
    r = client.post("/api/jobs", json={"prompt": "x", "reasoning_effort": "max"}, headers=auth)
    assert r.status_code == 422 and r.json()["error"]["field"] == "reasoning_effort"
    r = client.post("/api/jobs", json={"prompt": "   "}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["field"] == "prompt"
    r = client.get("/api/jobs/nope", headers=auth)
    assert r.status_code == 404 and r.json()["error"]["field"] == "job_id"
    # NUL characters (which PostgreSQL cannot store) are refused as input, not a server error.
    assert client.get("/api/jobs/a%00b", headers=auth).status_code == 400
    assert client.get("/api/approvals?job_id=%00", headers=auth).json()["error"]["field"] == "query"
    r = client.post("/api/jobs", json={"prompt": "a\u0000b"}, headers=auth)
    assert r.status_code == 422 and r.json()["error"]["field"] == "prompt"


def test_tokens_authenticate_and_revoke(workspace, client):
    _, people = workspace
    assert client.get("/api/jobs").status_code == 401
    assert client.get("/api/jobs", headers={"Authorization": "Bearer wm_not-a-token"}).status_code == 401
    auth = api_token(people["alex"])
    csrf = sign_in(client, people["alex"])  # tokens are made from a signed-in web session
    made = client.post("/api/tokens", json={"name": "ci script"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    token = made.json()["token"]
    assert client.get("/api/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = client.get("/api/tokens", headers=auth).json()
    assert {t["name"] for t in listed} == {"test", "ci script"} and all("token" not in t for t in listed)
    client.post(f"/api/tokens/{made.json()['id']}/revoke", headers=auth)
    assert client.get("/api/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_tokens_are_hashed_at_rest(workspace, client):
    from sqlmodel import Session, select

    from services.store.db import get_engine
    from services.store.models import ApiToken

    _, people = workspace
    token = api_token(people["alex"])["Authorization"].split()[1]
    with Session(get_engine()) as s:
        (row,) = s.exec(select(ApiToken)).all()
    assert token not in (row.token_hash, row.prefix, row.name) and len(row.token_hash) == 64


def test_approve_through_the_api(worker, workspace, client):
    _, people = workspace
    action = propose(worker, people["alex"])
    auth = api_token(people["dana"])  # an approver named by the organisation's policy
    queue = client.get("/api/approvals?status=pending", headers=auth).json()
    assert [a["id"] for a in queue["items"]] == [action.id]
    shown = queue["items"][0]
    assert shown["preview"]["kind"] == "email" and shown["args_hash"] == action.args_hash
    r = client.post(f"/api/approvals/{action.id}/decision",
                    json={"decision": "approve", "args_hash": shown["args_hash"]}, headers=auth)
    assert r.status_code == 200 and r.json()["status"] in ("approved", "executing", "succeeded")
    assert wait_status(action.job_id, "completed").result == "Sent."
    assert actions(action.job_id)[0].status == "succeeded"
    again = client.post(f"/api/approvals/{action.id}/decision",
                        json={"decision": "approve", "args_hash": action.args_hash}, headers=auth)
    assert again.status_code == 409


def test_decision_with_other_arguments_than_shown_is_refused(worker, workspace, client):
    _, people = workspace
    action = propose(worker, people["alex"])
    auth = api_token(people["alex"])
    r = client.post(f"/api/approvals/{action.id}/decision", json={"decision": "approve", "args_hash": "0" * 64},
                    headers=auth)
    assert r.status_code == 409 and r.json()["error"]["field"] == "args_hash"
    assert actions(action.job_id)[0].status == "pending"


def test_edit_reject_and_respond_need_their_fields(worker, workspace, client):
    _, people = workspace
    action = propose(worker, people["alex"])
    auth = api_token(people["alex"])
    url = f"/api/approvals/{action.id}/decision"
    r = client.post(url, json={"decision": "reject", "args_hash": action.args_hash}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
    r = client.post(url, json={"decision": "respond", "args_hash": action.args_hash, "feedback": " "}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["field"] == "feedback"
    r = client.post(url, json={"decision": "edit", "args_hash": action.args_hash, "arguments": dict(EMAIL, to=[])},
                    headers=auth)
    assert r.status_code == 400 and r.json()["error"]["field"] == "arguments" and "to" in r.json()["error"]["message"]
    r = client.post(url, json={"decision": "edit", "args_hash": action.args_hash,
                               "arguments": dict(EMAIL, body="Wednesday 15:00 instead.")}, headers=auth)
    assert r.status_code == 200 and r.json()["edited"] is True
    assert r.json()["arguments"]["body"] == "Wednesday 15:00 instead."
    wait_status(action.job_id, "completed")


def test_reject_with_reason_reaches_the_agent(worker, workspace, client):
    _, people = workspace
    action = propose(worker, people["alex"], answer="Understood, not sending.")
    r = client.post(f"/api/approvals/{action.id}/decision", headers=api_token(people["alex"]),
                    json={"decision": "reject", "args_hash": action.args_hash, "reason": "Dana is on leave"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    wait_status(action.job_id, "completed")
    assert "Dana is on leave" in worker.requests[-1]["messages"][-1]["content"]


def test_approvers_and_organisations(worker, workspace, other_org, client):
    _, people = workspace
    action = propose(worker, people["alex"])
    # Sam is not an approver: Alex's job is not his to see or decide.
    sam = api_token(people["sam"])
    assert client.get("/api/approvals", headers=sam).json()["items"] == []
    assert client.get(f"/api/jobs/{action.job_id}", headers=sam).status_code == 404
    r = client.post(f"/api/approvals/{action.id}/decision", json={"decision": "approve", "args_hash": action.args_hash},
                    headers=sam)
    assert r.status_code == 404
    # Eve approves for another organisation: nothing of Northwind's exists for her.
    eve = api_token(other_org)
    assert client.get("/api/approvals", headers=eve).json()["total"] == 0
    assert client.get("/api/jobs", headers=eve).json()["total"] == 0
    assert client.get(f"/api/approvals/{action.id}", headers=eve).status_code == 404
    assert client.post(f"/api/jobs/{action.job_id}/cancel", headers=eve).status_code == 404
    assert actions(action.job_id)[0].status == "pending"


def test_approvals_filters(worker, workspace, client):
    _, people = workspace
    outside = propose(worker, people["alex"], dict(EMAIL, to=["someone@elsewhere.example"]))
    inside = propose(worker, people["alex"])
    auth = api_token(people["alex"])
    ids = lambda q: [a["id"] for a in client.get(f"/api/approvals?{q}", headers=auth).json()["items"]]  # noqa: E731  (a one-line query helper local to this test)
    assert ids("") == [inside.id, outside.id]
    assert ids("risk=outside_recipient") == [outside.id]
    assert ids("risk=none") == [inside.id]
    assert ids(f"job_id={inside.job_id}") == [inside.id]
    assert ids("connector=sandbox") == [inside.id, outside.id] and ids("connector=jira") == []
    assert ids("limit=1&offset=1") == [outside.id]


def test_cancel(worker, workspace, client):
    _, people = workspace
    action = propose(worker, people["alex"])
    auth = api_token(people["alex"])
    r = client.post(f"/api/jobs/{action.job_id}/cancel", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert actions(action.job_id)[0].status == "cancelled"
    assert client.post(f"/api/jobs/{action.job_id}/cancel", headers=auth).status_code == 400
    r = client.post(f"/api/approvals/{action.id}/decision", headers=auth,
                    json={"decision": "approve", "args_hash": action.args_hash})
    assert r.status_code == 409 and "ended" in r.json()["error"]["message"]


def test_session_cookie_needs_csrf_header_on_the_api(worker, workspace, client):
    _, people = workspace
    csrf = sign_in(client, people["alex"])
    assert client.get("/api/jobs").status_code == 200  # reading with the session is fine
    r = client.post("/api/jobs", json={"prompt": "from the browser"})
    assert r.status_code == 403 and r.json()["error"]["field"] == "x-csrf-token"
    worker.push(text("Hello, browser."))
    r = client.post("/api/jobs", json={"prompt": "from the browser"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    wait_status(r.json()["id"], "completed")


def test_health_and_readiness(scripted_model, workspace, client, monkeypatch):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/metrics").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["failed"] == []
    monkeypatch.setenv("WORKMODE_BROKER_URL", "redis://127.0.0.1:9/0")  # nothing listens there
    monkeypatch.setenv("WORKMODE_MODEL_BASE_URL", "http://127.0.0.1:9/v1")
    reset_settings()
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.json()["failed"] == ["broker", "model"] and down.json()["checks"]["database"]["ok"]


def test_openapi_documents_the_interfaces(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/jobs", "/api/jobs/{job_id}", "/api/jobs/{job_id}/cancel", "/api/approvals",
                 "/api/approvals/{action_id}/decision", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    assert "PersonalApiToken" in spec["components"]["securitySchemes"]
    assert not any(p.startswith(("/queue", "/login", "/jobs")) for p in spec["paths"])

