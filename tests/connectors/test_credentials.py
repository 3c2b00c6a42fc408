"""Credential storage (encrypted with WORKMODE_SECRET_KEY-derived keys) and the Google OAuth web
flow (state + PKCE) on a plain FastAPI app with the real router, against the fake Google."""
from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from connectors.base import ReconnectRequired
from services.api.web.connect import make_router
from services.config import reset_settings
from services.credentials import load_secret
from services.credentials import service as credentials
from services.credentials.crypto import CredentialError
from services.identity import principal_by_email
from services.store.db import get_engine
from services.store.models import Credential
from tests.fakes.google_api import ALEX, DANA, make_world
from tests.support.audit import audit_rows
from tests.support.web import header_principal


@pytest.fixture
def world(store, fake_google):
    return make_world(fake_google)



@pytest.fixture
def client(world):
    app = FastAPI()
    app.include_router(make_router(header_principal))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


def _stored(principal_id: str, provider: str = "google"):
    with Session(get_engine()) as s:
        return credentials.load(session=s, principal_id=principal_id, provider=provider)


def _consent(client, user: str = ALEX) -> str:
    """Start at /connect/google and let the (fake) Google consent screen answer: the callback URL."""
    start = client.get("/connect/google", headers={"X-Test-User": user}, follow_redirects=False)
    assert start.status_code == 303
    google = httpx.get(start.headers["location"], follow_redirects=False)
    assert google.status_code == 302
    return google.headers["location"]


def _callback(client, url: str):
    parts = urlsplit(url)
    assert parts.path == "/oauth/google/callback"
    return client.get(f"{parts.path}?{parts.query}")


# ---------------------------------------------------------------- storage
def test_round_trip_is_encrypted_and_bound_to_its_row(world):
    secret = {"url": "https://acme.atlassian.net", "email": ALEX, "api_token": "atl-SECRET-123"}
    with Session(get_engine()) as s:
        credentials.save(session=s, principal_id=world.principal_id, provider="jira", secret=secret)
        dana = principal_by_email(s, DANA)
        s.commit()
        row = s.exec(select(Credential).where(Credential.provider == "jira")).one()
        assert "atl-SECRET-123" not in row.ciphertext and ALEX not in row.ciphertext
        loaded = load_secret(session=s, principal_id=world.principal_id, provider="jira")
        assert dict(loaded) == secret
        assert "atl-SECRET-123" not in repr(loaded) and "atl-SECRET-123" not in str(loaded)
        # The same ciphertext on someone else's row does not decrypt as theirs.
        s.add(Credential(principal_id=dana.id, provider="jira", ciphertext=row.ciphertext))
        s.commit()
        with pytest.raises(CredentialError, match="does not belong"):
            credentials.load(session=s, principal_id=dana.id, provider="jira")
        assert credentials.load(session=s, principal_id=dana.id, provider="slack") is None


def test_a_changed_secret_key_asks_for_reconnecting(world, monkeypatch):
    monkeypatch.setenv("WORKMODE_SECRET_KEY", "a-different-secret-key-for-this-test")
    reset_settings()
    with Session(get_engine()) as s, pytest.raises(ReconnectRequired, match="WORKMODE_SECRET_KEY"):
        load_secret(session=s, principal_id=world.principal_id, provider="google")
    with pytest.raises(ReconnectRequired):
        world.call("gmail_list_labels", {})


# ---------------------------------------------------------------- the Google web flow
def test_google_flow_with_state_and_pkce_connects_the_account(world, client, caplog):
    caplog.set_level(logging.DEBUG)
    fake = world.fake
    start = client.get("/connect/google", headers={"X-Test-User": ALEX}, follow_redirects=False)
    q = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    assert start.headers["location"].startswith(fake.url + "o/oauth2/v2/auth?")
    assert q["client_id"] == fake.client_id and q["redirect_uri"] == "http://127.0.0.1:8000/oauth/google/callback"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert q["access_type"] == "offline" and q["response_type"] == "code" and q["login_hint"] == ALEX
    assert set(q["scope"].split()) == {"openid", "email", "https://www.googleapis.com/auth/gmail.modify",
                                       "https://www.googleapis.com/auth/calendar.events",
                                       "https://www.googleapis.com/auth/calendar.freebusy"}
    assert q["state"].startswith(world.principal_id + ".")

    back = httpx.get(start.headers["location"], follow_redirects=False).headers["location"]
    done = _callback(client, back)
    assert done.status_code == 200 and "Google connected" in done.text and ALEX in done.text
    stored = _stored(world.principal_id)
    assert stored["account"] == ALEX and stored["token"].startswith("ya29.")
    new_refresh = stored["refresh_token"]
    assert fake.grants[new_refresh].email == ALEX
    exchange = fake.calls("POST", "/token")[-1]["body"]
    assert exchange["grant_type"] == "authorization_code" and len(exchange["code_verifier"]) >= 43

    # The tools now run on the new grant; google-auth refreshes with it when the token expires.
    fake.expire_access_tokens()
    assert world.call("gmail_list_labels", {}).data["labels"]
    assert fake.calls("POST", "/token")[-1]["body"]["refresh_token"] == new_refresh
    assert new_refresh not in caplog.text and stored["token"] not in caplog.text

    again = _callback(client, back)  # the state is single-use
    assert again.status_code == 400 and "already used" in again.text


def test_forged_state_is_refused(world, client):
    back = _consent(client)
    parts = urlsplit(back)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    forged = client.get(parts.path, params={**q, "state": q["state"][:-4] + "AAAA"})
    assert forged.status_code == 400 and "forged" in forged.text
    no_state = client.get(parts.path, params={"code": q["code"]})
    assert no_state.status_code == 400
    assert _stored(world.principal_id)["account"] == ALEX and "token" in _stored(world.principal_id)


def test_a_code_from_another_attempt_fails_pkce(world, client):
    """An intercepted code is useless without the verifier of the attempt that asked for it."""
    first = urlsplit(_consent(client))
    second = urlsplit(_consent(client))  # a new attempt replaces the first one's verifier
    code = parse_qs(first.query)["code"][0]
    state = parse_qs(second.query)["state"][0]
    before = dict(_stored(world.principal_id))
    answer = client.get(first.path, params={"code": code, "state": state})
    assert answer.status_code == 400 and "Invalid code verifier" in answer.text
    assert dict(_stored(world.principal_id)) == before


def test_someone_elses_google_account_is_refused_and_revoked(world, client):
    world.fake.consent_as = DANA
    answer = _callback(client, _consent(client))
    assert answer.status_code == 400 and f"signed in to Google as {DANA}" in answer.text
    assert _stored(world.principal_id)["account"] == ALEX  # unchanged
    dana_grants = [g for g in world.fake.grants.values() if g.email == DANA]
    assert dana_grants and all(g.revoked for g in dana_grants)


def test_denied_consent_and_expired_attempts(world, client):
    state = parse_qs(urlsplit(_consent(client)).query)["state"][0]
    denied = client.get("/oauth/google/callback", params={"error": "access_denied", "state": state})
    assert denied.status_code == 400 and "did not grant access" in denied.text

    back = _consent(client)
    with Session(get_engine()) as s:  # the attempt was started 11 minutes ago
        pending = credentials.load(session=s, principal_id=world.principal_id, provider="google:oauth-pending")
        credentials.save(session=s, principal_id=world.principal_id, provider="google:oauth-pending",
                         secret={**pending, "created": pending["created"] - 660})
        s.commit()
    late = _callback(client, back)
    assert late.status_code == 400 and "10 minutes" in late.text


def test_disconnect_revokes_at_google_and_forgets(world, client):
    refresh = _stored(world.principal_id)["refresh_token"]
    gone = client.post("/disconnect/google", headers={"X-Test-User": ALEX})
    assert gone.json() == {"provider": "google", "removed": True}
    assert world.fake.grants[refresh].revoked and _stored(world.principal_id) is None
    assert world.fake.calls("POST", "/revoke")[-1]["body"]["token"] == refresh
    (removed,) = audit_rows("connection_removed")
    assert removed.actor_id == world.principal_id and removed.actor_email == ALEX
    assert removed.subject == "google" and removed.data == {"provider": "google"}
    assert client.post("/disconnect/google", headers={"X-Test-User": ALEX}).json()["removed"] is False
    assert len(audit_rows("connection_removed")) == 1  # nothing removed, nothing recorded
    with pytest.raises(ReconnectRequired, match="has not connected"):
        world.call("gmail_search", {"query": ""})


def test_google_not_configured(world, client, monkeypatch):
    monkeypatch.setenv("WORKMODE_GOOGLE_CLIENT_SECRET", "")
    reset_settings()
    answer = client.get("/connect/google", headers={"X-Test-User": ALEX}, follow_redirects=False)
    assert answer.status_code == 503 and "WORKMODE_GOOGLE_CLIENT_SECRET" in answer.json()["detail"]


# ---------------------------------------------------------------- Jira and Slack tokens
def test_jira_and_slack_tokens_via_the_web(world, client):
    me = {"X-Test-User": ALEX}
    assert client.post("/connect/jira", headers=me, json={"url": "https://acme.atlassian.net/", "email": ALEX,
                                                          "api_token": "atl-123"}).status_code == 204
    assert dict(_stored(world.principal_id, "jira")) == {"url": "https://acme.atlassian.net", "email": ALEX,
                                                        "api_token": "atl-123"}
    bad = client.post("/connect/jira", headers=me, json={"url": "ftp://acme", "api_token": "x"})
    assert bad.status_code == 422 and "https" in bad.text
    assert client.post("/connect/jira", headers=me, json={"url": "https://jira.acme.example",
                                                          "pat": "dc-pat"}).status_code == 204
    assert dict(_stored(world.principal_id, "jira")) == {"url": "https://jira.acme.example", "pat": "dc-pat"}

    assert client.post("/connect/slack", headers=me, json={"bot_token": "xoxp-user-token"}).status_code == 422
    assert client.post("/connect/slack", headers=me, json={"bot_token": "xoxb-1-2-abc"}).status_code == 204
    listed = client.get("/connections", headers=me)
    assert [c["provider"] for c in listed.json()] == ["google", "jira", "slack"]
    assert "xoxb" not in listed.text and "dc-pat" not in listed.text and "refresh" not in listed.text
    assert client.post("/disconnect/slack", headers=me).json()["removed"] is True
    assert client.get("/connections").status_code == 401
