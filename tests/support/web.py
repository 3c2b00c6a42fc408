"""Helpers for the API, web and browser tests: signing in with a one-time link, API tokens, and a
job with a pending approval proposed by the scripted model."""
from __future__ import annotations

import re
from typing import Any

from fastapi import Header, HTTPException
from fastapi.testclient import TestClient
from sqlmodel import Session

from services.api.tokens import create_api_token, create_login_link
from services.identity import principal_by_email
from services.jobs.service import create_job
from services.store.db import get_engine
from services.store.models import Action, Principal
from tests.fakes.model_server import text, tool_calls
from tests.support.jobs import actions, wait_status, wait_until

CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
EMAIL = {"to": ["dana@northwind.example"], "subject": "Q3 review", "body": "Tuesday 10:00 works for me."}


def login_link(person: Principal) -> str:
    with Session(get_engine(), expire_on_commit=False) as s:
        _, token = create_login_link(session=s, principal=person)
        s.commit()
    return token


def sign_in(client: TestClient, person: Principal) -> str:
    """Sign in through the one-time link; returns the session's CSRF token."""
    token = login_link(person)
    page = client.get(f"/login/link/{token}")
    assert page.status_code == 200, page.text
    r = client.post("/login/link", data={"token": token, "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/queue").text)


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def api_token(person: Principal, name: str = "test") -> dict[str, str]:
    with Session(get_engine(), expire_on_commit=False) as s:
        _, token = create_api_token(session=s, principal=person, name=name)
        s.commit()
    return {"Authorization": f"Bearer {token}"}


def start_job(person: Principal, prompt: str = "Email Dana about the Q3 review") -> str:
    with Session(get_engine(), expire_on_commit=False) as s:
        job = create_job(session=s, principal=person, prompt=prompt)
        s.commit()
        return job.id


def pending(job_id: str) -> Action:
    wait_status(job_id, "waiting")
    return wait_until(lambda: next((a for a in actions(job_id) if a.status == "pending"), None),
                      what="a pending action")


def propose(worker, person: Principal, arguments: dict[str, Any] | None = None, tool: str = "gmail_send",
            answer: str = "Sent.", prompt: str = "Email Dana about the Q3 review") -> Action:
    """A job whose model proposes one action and, once it is decided, answers `answer` (every
    later model turn of the test answers that, so several jobs can wait at once)."""
    worker.push(tool_calls((tool, arguments or EMAIL)))
    worker.set_default(text(answer))
    return pending(start_job(person, prompt))


def header_principal(x_test_user: str = Header("")) -> Principal:
    """A test app's sign-in for routers that take their sign-in dependency (the connect routes):
    the principal named by the X-Test-User header. The API app passes its session-based one."""
    with Session(get_engine(), expire_on_commit=False) as s:
        try:
            return principal_by_email(s, x_test_user)
        except LookupError:
            raise HTTPException(401, "sign in first") from None
