"""The web pages through the real app (TestClient) and the real store: sign-in links, CSRF,
security headers, the queue, the approval page, the job page and settings."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from services.config import reset_settings
from services.store.db import get_engine
from services.store.models import ActionStatus, LoginLink, utcnow
from tests.fakes.model_server import dynamic, text, tool_calls
from tests.support.audit import audit_rows
from tests.support.jobs import actions, job_state, tool_result_json, wait_status
from tests.support.web import EMAIL, csrf_of, login_link, pending, propose, sign_in, start_job


@pytest.fixture
def store(pg_store):
    """These tests run on PostgreSQL (test_api.py covers both backends)."""
    return pg_store


# ------------------------------------------------------------------ signing in
def test_login_link_signs_in_once(workspace, client):
    _, people = workspace
    assert client.get("/queue", follow_redirects=False).headers["location"] == "/login?next=/queue"
    token = login_link(people["alex"])
    page = client.get(f"/login/link/{token}")
    assert "Sign in as Alex Morgan" in page.text
    assert client.get(f"/login/link/{token}").status_code == 200  # looking does not use it up
    r = client.post("/login/link", data={"token": token, "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    assert "alex@northwind.example" in client.get("/queue").text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    client.cookies.clear()
    again = client.post("/login/link", data={"token": token, "csrf_token": csrf_of(page.text)})
    assert again.status_code == 403  # a fresh browser has no session, so no CSRF token either
    fresh = client.get(f"/login/link/{token}")
    assert fresh.status_code == 410 and "already used" in fresh.text
    (signed_in,) = audit_rows("signed_in")  # the one sign-in, in the audit trail; the refused tries are not
    assert signed_in.actor_id == people["alex"].id and signed_in.actor_email == "alex@northwind.example"
    assert signed_in.subject == "alex@northwind.example" and signed_in.data["via"] == "link"
    assert signed_in.data["session_id"] and signed_in.org_id == people["alex"].org_id


def test_expired_link_does_not_sign_in(workspace, client):
    _, people = workspace
    token = login_link(people["alex"])
    with Session(get_engine()) as s:
        for row in s.exec(select(LoginLink)):
            row.expires_at = utcnow() - timedelta(seconds=1)
            s.add(row)
        s.commit()
    page = client.get(f"/login/link/{token}")
    assert page.status_code == 410
    r = client.post("/login/link", data={"token": token, "csrf_token": csrf_of(client.get("/login").text)})
    assert r.status_code == 410 and client.get("/queue", follow_redirects=False).status_code == 303


def test_login_links_are_off_in_production(workspace, client, monkeypatch):
    _, people = workspace
    token = login_link(people["alex"])
    monkeypatch.setenv("WORKMODE_ENVIRONMENT", "production")
    monkeypatch.setenv("WORKMODE_SECRET_KEY", secrets.token_urlsafe(48))
    reset_settings()
    assert client.get(f"/login/link/{token}").status_code == 410
    assert "No sign-in method is configured" in client.get("/login").text


def test_logout(workspace, client):
    _, people = workspace
    csrf = sign_in(client, people["alex"])
    client.post("/logout", data={"csrf_token": csrf})
    assert client.get("/queue", follow_redirects=False).status_code == 303


# ------------------------------------------------------------------ CSRF and headers
def test_post_without_csrf_token_is_refused(worker, workspace, client):
    _, people = workspace
    action = propose(worker, people["alex"])
    csrf = sign_in(client, people["alex"])
    for data in ({"decision": "approve", "args_hash": action.args_hash},
                 {"decision": "approve", "args_hash": action.args_hash, "csrf_token": "forged"}):
        r = client.post(f"/approvals/{action.id}/decide", data=data)
        assert r.status_code == 403 and "CSRF" in r.text
        r = client.post("/queue/batch", data={"decision": "approve", "pick": f"{action.id}:{action.args_hash}",
                                              **{k: v for k, v in data.items() if k == "csrf_token"}})
        assert r.status_code == 403
    assert actions(action.job_id)[0].status == "pending"
    r = client.post(f"/approvals/{action.id}/decide", data={"decision": "approve", "args_hash": action.args_hash,
                                                            "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    wait_status(action.job_id, "completed")


def test_security_headers(workspace, client):
    _, people = workspace
    sign_in(client, people["alex"])
    r = client.get("/queue")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "img-src 'self' data:" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    assert "<script>" not in r.text and " on" + "click=" not in r.text  # no inline script on our pages


# ------------------------------------------------------------------ queue
def test_queue_lists_what_i_may_decide(worker, workspace, other_org, client):
    _, people = workspace
    outside = propose(worker, people["alex"], dict(EMAIL, to=["x@elsewhere.example"], subject="Outside"))
    inside = propose(worker, people["alex"], dict(EMAIL, subject="Inside"))
    sign_in(client, people["dana"])
    page = client.get("/queue").text
    assert page.index("Inside") < page.index("Outside")  # newest first
    assert "outside recipient" in page
    filtered = client.get("/queue?risk=outside_recipient").text
    assert "Outside" in filtered and f"/approvals/{inside.id}" not in filtered
    assert f"/approvals/{inside.id}" in client.get(f"/queue?job={inside.job_id}").text
    rows = client.get("/queue/rows")
    assert rows.headers["x-count"] == "2" and "<html" not in rows.text
    client.cookies.clear()
    sign_in(client, people["sam"])
    assert "Nothing is waiting for you" in client.get("/queue").text
    assert client.get(f"/approvals/{outside.id}").status_code == 404
    client.cookies.clear()
    sign_in(client, other_org)
    assert "Nothing is waiting for you" in client.get("/queue").text
    assert client.get(f"/jobs/{outside.job_id}").status_code == 404


def test_batch_approve_and_reject(worker, workspace, client):
    _, people = workspace
    first, second, third = (propose(worker, people["alex"], dict(EMAIL, subject=f"n{i}")) for i in range(3))
    csrf = sign_in(client, people["alex"])
    picks = [f"{a.id}:{a.args_hash}" for a in (first, second)]
    r = client.post("/queue/batch", data={"csrf_token": csrf, "decision": "reject", "pick": picks, "reason": ""})
    assert "needs a reason" in r.text and actions(first.job_id)[0].status == "pending"
    stale = f"{third.id}:{'0' * 64}"
    r = client.post("/queue/batch", data={"csrf_token": csrf, "decision": "approve", "pick": [*picks, stale]})
    assert "Approved 2 of 3" in r.text and "changed since it was shown" in r.text
    for a in (first, second):
        wait_status(a.job_id, "completed")
    assert actions(third.job_id)[0].status == "pending"
    r = client.post("/queue/batch", data={"csrf_token": csrf, "decision": "reject", "reason": "not needed",
                                          "pick": [f"{third.id}:{third.args_hash}"]})
    assert "Rejected 1 of 1" in r.text
    assert actions(third.job_id)[0].reason == "not needed"


# ------------------------------------------------------------------ approval page
def test_approval_page_escapes_untrusted_text(worker, workspace, client):
    _, people = workspace
    body = '<script>alert(1)</script><img src="https://tracker.example/p.gif" onerror="alert(2)">'
    action = propose(worker, people["alex"], dict(EMAIL, body=body, subject="<b>bold</b>"))
    sign_in(client, people["alex"])
    page = client.get(f"/approvals/{action.id}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert 'src="https://tracker.example' not in page
    assert f'name="args_hash" value="{action.args_hash}"' in page


def test_edit_form_is_built_from_the_schema_and_validated(worker, workspace, client):
    _, people = workspace
    action = propose(worker, people["alex"])
    csrf = sign_in(client, people["alex"])
    page = client.get(f"/approvals/{action.id}").text
    for name in ("to", "cc", "bcc", "subject", "body", "thread_id"):
        assert f'name="arg.{name}"' in page
    form = {"csrf_token": csrf, "decision": "edit", "args_hash": action.args_hash, "arg.to": "",
            "arg.subject": "Q3 review", "arg.body": "x", "arg.cc": "", "arg.bcc": "", "arg.thread_id": ""}
    r = client.post(f"/approvals/{action.id}/decide", data=form)
    assert r.status_code == 400 and 'id="error-to"' in r.text
    assert actions(action.job_id)[0].status == "pending"
    form.update({"arg.to": "dana@northwind.example\npriya@northwind.example", "arg.body": "Wednesday instead."})
    r = client.post(f"/approvals/{action.id}/decide", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/jobs/{action.job_id}"
    wait_status(action.job_id, "completed")
    done = actions(action.job_id)[0]
    assert done.edited and done.arguments["to"] == ["dana@northwind.example", "priya@northwind.example"]
    assert done.arguments["body"] == "Wednesday instead." and done.status == ActionStatus.succeeded


def test_decision_on_changed_arguments_is_refused(worker, workspace, client):
    _, people = workspace
    action = propose(worker, people["alex"])
    csrf = sign_in(client, people["alex"])
    r = client.post(f"/approvals/{action.id}/decide",
                    data={"csrf_token": csrf, "decision": "approve", "args_hash": "f" * 64})
    assert r.status_code == 409 and "changed since it was shown" in r.text
    assert actions(action.job_id)[0].status == "pending"


def test_reject_and_feedback_from_the_page(worker, workspace, client):
    _, people = workspace
    first = propose(worker, people["alex"])
    second = propose(worker, people["alex"])
    csrf = sign_in(client, people["dana"])
    client.post(f"/approvals/{first.id}/decide", data={"csrf_token": csrf, "decision": "reject",
                                                       "args_hash": first.args_hash, "reason": "wrong day"})
    client.post(f"/approvals/{second.id}/decide", data={"csrf_token": csrf, "decision": "respond",
                                                        "args_hash": second.args_hash, "feedback": "add agenda"})
    assert actions(first.job_id)[0].reason == "wrong day"
    assert actions(second.job_id)[0].feedback == "add agenda"
    page = client.get(f"/approvals/{first.id}").text
    assert "wrong day" in page and "Dana Kim" in page and 'name="decision"' not in page


def test_event_times_in_the_viewers_zone(worker, workspace, client):
    _, people = workspace  # Alex: Europe/London; Dana: America/New_York
    action = propose(worker, people["alex"], {"summary": "Q3 review", "start": "2031-01-14T15:00:00",
                                              "end": "2031-01-14T15:30:00", "attendees": ["dana@northwind.example"]},
                     tool="calendar_create_event")
    sign_in(client, people["dana"])
    page = client.get(f"/approvals/{action.id}").text
    assert "Tue 14 Jan 2031, 10:00 EST" in page and "Europe/London" in page
    client.cookies.clear()
    sign_in(client, people["alex"])
    assert "Tue 14 Jan 2031, 15:00 GMT" in client.get(f"/approvals/{action.id}").text


def test_what_the_agent_read_is_shown_and_marked(worker, workspace, client):
    _, people = workspace
    worker.push(tool_calls(("gmail_search", {"query": "from:dana@northwind.example"})),
                dynamic(lambda req: tool_calls(("gmail_read_thread",
                                                {"thread_id": tool_result_json(req)["messages"][0]["thread_id"]}))),
                tool_calls(("gmail_send", EMAIL)))
    job_id = start_job(people["alex"])
    action = pending(job_id)
    sign_in(client, people["alex"])
    page = client.get(f"/approvals/{action.id}").text
    reads = page[page.index("What the agent read"):]
    assert "gmail_read_thread" in reads and "Untrusted: written by someone else" in reads
    assert "dana@northwind.example" in reads
    job_page = client.get(f"/jobs/{job_id}").text
    assert job_page.count("Untrusted: written by someone else") >= 2 and "→ gmail_read_thread" in job_page


# ------------------------------------------------------------------ job page and settings
def test_job_page_and_cancel(worker, workspace, client):
    _, people = workspace
    worker.push(tool_calls(("update_plan", {"steps": [{"title": "Write to Dana", "status": "in_progress"}]})))
    action = propose(worker, people["alex"])
    csrf = sign_in(client, people["alex"])
    page = client.get(f"/jobs/{action.job_id}").text
    assert "Write to Dana" in page and "Approval requested" in page and "prompt +" in page
    assert 'src="/static/job.js"' in page
    assert client.get(f"/jobs/{action.job_id}/state").json()["final"] is False
    client.post(f"/jobs/{action.job_id}/cancel", data={"csrf_token": csrf})
    assert job_state(action.job_id).status == "cancelled"
    assert "Cancel job" not in client.get(f"/jobs/{action.job_id}").text


def test_new_job_from_the_web(worker, workspace, client):
    _, people = workspace
    csrf = sign_in(client, people["priya"])
    worker.push(text("Hi!"))
    r = client.post("/jobs", data={"csrf_token": csrf, "prompt": "Say hi", "effort": "none"}, follow_redirects=False)
    job_id = r.headers["location"].rsplit("/", 1)[1]
    assert wait_status(job_id, "completed").source == "web"
    assert "Say hi" in client.get("/jobs").text


def test_settings_tokens_and_approvers(workspace, client):
    _, people = workspace
    csrf = sign_in(client, people["alex"])
    page = client.get("/settings").text
    assert "Dana Kim" in page and "Alex Morgan" in page
    assert "Priya" not in page.split('id="approvers"')[1].split("</ul>")[0]
    r = client.post("/settings/tokens", data={"csrf_token": csrf, "name": "laptop"})
    token = re.search(r'id="new-token">([^<]+)<', r.text).group(1)
    assert client.get("/api/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in client.get("/settings").text  # shown once
    token_id = re.search(r'/settings/tokens/([0-9a-f]+)/revoke', r.text).group(1)
    client.post(f"/settings/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert client.get("/api/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_settings_lists_and_disconnects_accounts(workspace, client):
    from services.credentials import service as credentials

    _, people = workspace
    with Session(get_engine()) as s:
        credentials.save(session=s, principal_id=people["alex"].id, provider="jira",
                         secret={"url": "https://acme.atlassian.net", "pat": "secret-pat-value"})
        s.commit()
    csrf = sign_in(client, people["alex"])
    page = client.get("/settings").text
    assert "/settings/accounts/jira/disconnect" in page and "secret-pat-value" not in page
    r = client.post("/settings/accounts/jira/disconnect", data={"csrf_token": csrf})
    assert "jira disconnected" in r.text
    assert credentials.connections(session=Session(get_engine()), principal_id=people["alex"].id) == []
