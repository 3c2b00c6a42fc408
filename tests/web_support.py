"""Helpers for the API, web and browser tests: a second organisation, signing in with a one-time
link, API tokens, and a job with a pending approval proposed by the scripted model."""
from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from services.api.tokens import create_api_token, create_login_link
from services.jobs.service import create_job
from services.store.db import get_engine
from services.store.models import Action, Job, Organisation, Principal
from tests.fakes.model_server import text, tool_calls
from tests.helpers import actions, wait_status, wait_until

CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
EMAIL = {"to": ["dana@northwind.example"], "subject": "Q3 review", "body": "Tuesday 10:00 works for me."}


@pytest.fixture(autouse=True)
def settle(workspace, scripted_model):
    """After each test, wait until the embedded worker has nothing in hand, so that it does not
    write into the next test's freshly emptied tables. (It holds the scripted model, so the model
    is still there while the last jobs finish.)"""
    yield

    def quiet():
        with Session(get_engine()) as s:
            busy_jobs = s.exec(select(Job.id).where(col(Job.status).in_(["queued", "running"]))).first()
            busy_actions = s.exec(select(Action.id).where(col(Action.status).in_(["approved", "executing"]))).first()
            return busy_jobs is None and busy_actions is None

    wait_until(quiet, timeout=30, what="the worker to finish its work")


@pytest.fixture
def other_org(workspace) -> Principal:
    """Globex, a second organisation with its own approver, Eve."""
    with Session(get_engine(), expire_on_commit=False) as s:
        org = Organisation(name="Globex", domains=["globex.example"], policy={"approvers": ["eve@globex.example"]})
        s.add(org)
        s.flush()
        eve = Principal(org_id=org.id, email="eve@globex.example", name="Eve Globex", roles=["approver"],
                        time_zone="Asia/Tokyo")
        s.add(eve)
        s.commit()
        return eve


@pytest.fixture
def app(workspace):
    from services.api.app import create_app

    return create_app()


@pytest.fixture
def client(app):
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


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
