"""Finding 9 (part): the Jira OAuth `state` is bound to the browser that started the flow. A
callback carrying a valid state from another browser session (even the same person's) is refused
and connects nothing; the starting browser completes it."""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from services.credentials import load_secret
from services.identity import principal_by_email
from services.store.db import get_engine
from tests.support.web import sign_in

ALEX = "alex@northwind.example"


@pytest.fixture
def store(pg_store):
    return pg_store


@pytest.fixture
def app(atl):
    from services.api.app import create_app

    return create_app()


def browser(app) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1:8000")


def alex():
    with Session(get_engine(), expire_on_commit=False) as s:
        return principal_by_email(s, ALEX)


def stored():
    with Session(get_engine()) as s:
        return load_secret(session=s, principal_id=alex().id, provider="jira")


def consent(c: TestClient) -> str:
    """Start connecting in browser `c`; Atlassian's consent answers with the callback URL."""
    start = c.get("/connect/jira/oauth", follow_redirects=False)
    assert start.status_code == 303, start.text
    back = httpx.get(start.headers["location"], follow_redirects=False)
    parts = urlsplit(back.headers["location"])
    assert parts.path == "/oauth/jira/callback"
    return f"{parts.path}?{parts.query}"


def test_state_from_another_browser_session_is_refused(app):
    with browser(app) as mine, browser(app) as other, browser(app) as stranger:
        sign_in(mine, alex())
        sign_in(other, alex())  # the same person, signed in elsewhere: another session
        callback = consent(mine)
        r = other.get(callback)
        assert r.status_code == 400 and "another browser session" in r.text
        assert stored() is None
        assert mine.get(callback).status_code == 400  # the state was used up by the refused attempt
        r = stranger.get(consent(mine))  # signed out, no cookie at all
        assert r.status_code == 400 and stored() is None
        r = mine.get(consent(mine))
        assert r.status_code == 200 and "Jira connected" in r.text
        assert stored()["oauth_token"]
        assert "workmode_jira_oauth" not in mine.cookies  # the binding is dropped once used
