"""Finding 4: web sessions live in the store. Signing out, "sign out everywhere" and deactivation
(`revoke_principal_access`) end them, so a copy of the cookie taken before stops working; so do
the idle timeout and the absolute maximum age. Against the real app (FastAPI TestClient)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.api.app import SESSION_COOKIE, create_app
from services.api.sessions import revoke_principal_access
from services.config import get_settings
from services.store.db import get_engine
from services.store.models import WebSession, utcnow
from tests.support.web import api_token, csrf_of, sign_in


@pytest.fixture
def app(workspace):
    return create_app()


@pytest.fixture
def browser(app):
    """Opens browsers (clients with their own cookie jars) on the app."""
    opened: list[TestClient] = []

    def open_(cookie: str | None = None) -> TestClient:
        c = TestClient(app, base_url="http://127.0.0.1")
        c.__enter__()
        if cookie is not None:
            c.cookies.set(SESSION_COOKIE, cookie)
        opened.append(c)
        return c

    yield open_
    for c in opened:
        c.__exit__(None, None, None)


def signed_in(c: TestClient) -> bool:
    return c.get("/queue", follow_redirects=False).status_code == 200


def api_works(c: TestClient) -> bool:
    return c.get("/api/jobs").status_code == 200


def set_times(**values) -> None:
    with Session(get_engine()) as s:
        for row in s.exec(select(WebSession)):
            for name, value in values.items():
                setattr(row, name, value)
            s.add(row)
        s.commit()


def test_a_cookie_copied_before_sign_out_no_longer_works(workspace, browser):
    _, people = workspace
    mine = browser()
    csrf = sign_in(mine, people["alex"])
    thief = browser(mine.cookies[SESSION_COOKIE])
    assert signed_in(thief) and api_works(thief)

    assert mine.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert not signed_in(mine)
    assert not signed_in(thief) and thief.get("/api/jobs").status_code == 401


def test_sign_out_everywhere_ends_every_session_of_mine_only(workspace, browser):
    _, people = workspace
    laptop, phone, colleague = browser(), browser(), browser()
    csrf = sign_in(laptop, people["alex"])
    sign_in(phone, people["alex"])
    sign_in(colleague, people["priya"])
    copy = browser(phone.cookies[SESSION_COOKIE])
    settings = laptop.get("/settings").text
    assert 'id="sign-out-everywhere"' in settings and "(this browser)" in settings

    # Like every change, it needs the page's CSRF token.
    assert laptop.post("/settings/sessions/revoke-all", data={}).status_code == 403
    assert signed_in(phone)

    r = laptop.post("/settings/sessions/revoke-all", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert not any(signed_in(b) for b in (laptop, phone, copy))
    assert signed_in(colleague)
    assert "Signed out everywhere (2 sessions ended)." in laptop.get("/login").text


def test_an_idle_session_ends(workspace, browser):
    _, people = workspace
    b = browser()
    sign_in(b, people["alex"])
    idle = timedelta(seconds=get_settings().session_idle_timeout_s)
    set_times(last_seen_at=utcnow() - idle + timedelta(minutes=5))
    assert signed_in(b)  # within the idle timeout: still on, and marked seen
    set_times(last_seen_at=utcnow() - idle - timedelta(seconds=1))
    assert not signed_in(b) and b.get("/api/jobs").status_code == 401


def test_a_busy_session_still_ends_at_its_maximum_age(workspace, browser):
    _, people = workspace
    b = browser()
    sign_in(b, people["alex"])
    with Session(get_engine()) as s:
        (row,) = s.exec(select(WebSession)).all()
    assert row.expires_at - row.created_at == timedelta(seconds=get_settings().session_max_age_s)
    set_times(expires_at=utcnow() - timedelta(seconds=1), last_seen_at=utcnow())
    assert not signed_in(b)


def test_the_store_keeps_only_a_hash_of_the_session_id(workspace, browser):
    _, people = workspace
    b = browser()
    sign_in(b, people["alex"])
    cookie = b.cookies[SESSION_COOKIE]
    with Session(get_engine()) as s:
        (row,) = s.exec(select(WebSession)).all()
    assert row.principal_id == people["alex"].id and len(row.token_hash) == 64
    assert row.token_hash not in cookie and row.id not in cookie


def test_revoking_a_principals_access_ends_their_sessions_and_tokens(workspace, browser):
    """What deactivating a person does: every session and API token of theirs stops working."""
    _, people = workspace
    alex, priya = browser(), browser()
    sign_in(alex, people["alex"])
    sign_in(priya, people["priya"])
    alex_token, priya_token = api_token(people["alex"]), api_token(people["priya"])
    anyone = browser()
    assert anyone.get("/api/jobs", headers=alex_token).status_code == 200

    with Session(get_engine()) as s:
        revoked = revoke_principal_access(s, people["alex"].id)
        s.commit()
    assert (revoked.sessions, revoked.tokens) == (1, 1)
    assert not signed_in(alex)
    r = anyone.get("/api/jobs", headers=alex_token)
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    assert signed_in(priya) and anyone.get("/api/jobs", headers=priya_token).status_code == 200


def test_signing_in_again_starts_a_new_session(workspace, browser):
    """Session fixation: the id from before sign-in is not the one after it."""
    _, people = workspace
    b = browser()
    sign_in(b, people["alex"])
    first = b.cookies[SESSION_COOKIE]
    csrf = csrf_of(b.get("/queue").text)
    b.post("/logout", data={"csrf_token": csrf})
    sign_in(b, people["alex"])
    assert b.cookies[SESSION_COOKIE] != first and not signed_in(browser(first))
