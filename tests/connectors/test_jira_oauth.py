"""Jira Cloud OAuth 2.0 (3LO): the real router and CLI, the fake Atlassian (authorize, token with
rotating refresh tokens, accessible-resources, the /ex/jira gateway) in front of FakeJira, and the
Jira connector using the stored credential."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from connectors.base import ReconnectRequired
from connectors.jira.tools import connector
from services.api.web.connect import make_router
from services.cli import main
from services.config import reset_settings
from services.credentials import jira_oauth, load_secret
from services.credentials import service as credentials
from services.credentials.access import tool_context
from services.identity import principal_by_email
from services.store.db import get_engine
from services.store.models import Credential
from tests.fakes.atlassian_auth import CLIENT_ID, CLOUD_ID, SITE_URL
from tests.support.web import header_principal

ALEX, DANA = "alex@northwind.example", "dana@northwind.example"



@pytest.fixture
def client(atl):
    app = FastAPI()
    app.include_router(make_router(header_principal))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


def _pid(email: str = ALEX) -> str:
    with Session(get_engine()) as s:
        return principal_by_email(s, email).id


def _stored(email: str = ALEX, provider: str = "jira"):
    with Session(get_engine()) as s:
        return load_secret(session=s, principal_id=_pid(email), provider=provider)


def _consent(client, user: str = ALEX) -> str:
    """Start at /connect/jira/oauth and let the fake consent screen answer: the callback URL."""
    start = client.get("/connect/jira/oauth", headers={"X-Test-User": user}, follow_redirects=False)
    assert start.status_code == 303, start.text
    back = httpx.get(start.headers["location"], follow_redirects=False)
    assert back.status_code == 302, back.text
    return back.headers["location"]


def _callback(client, url: str):
    parts = urlsplit(url)
    assert parts.path == "/oauth/jira/callback"
    return client.get(f"{parts.path}?{parts.query}")


def _search(session: Session):
    tool = connector.tools["jira_search"]
    ctx = tool_context(session=session, principal_id=_pid(), principal_email=ALEX, org_id="org",
                       time_zone="Europe/London", action_id=None)
    return tool.run(ctx, tool.parse({"jql": "project = OPS"}))


# ---------------------------------------------------------------- start
def test_start_url_has_state_pkce_and_the_atlassian_parameters(client, atl):
    start = client.get("/connect/jira/oauth", headers={"X-Test-User": ALEX}, follow_redirects=False)
    url = start.headers["location"]
    assert url.startswith(atl.url + "/authorize?")
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert q["audience"] == "api.atlassian.com" and q["client_id"] == CLIENT_ID
    assert q["scope"].split() == ["read:jira-work", "write:jira-work", "read:jira-user", "offline_access"]
    assert q["redirect_uri"] == "http://127.0.0.1:8000/oauth/jira/callback"
    assert q["response_type"] == "code" and q["prompt"] == "consent"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    principal_id, _, nonce = q["state"].partition(".")
    assert principal_id == _pid() and len(nonce) >= 40
    with Session(get_engine()) as s:  # the pending state is stored encrypted, not in the clear
        row = s.exec(select(Credential).where(Credential.provider == jira_oauth.PENDING)).one()
        assert nonce not in row.ciphertext


def test_not_configured_is_a_clear_404(client, monkeypatch):
    monkeypatch.delenv("WORKMODE_JIRA_CLIENT_SECRET")
    reset_settings()
    r = client.get("/connect/jira/oauth", headers={"X-Test-User": ALEX}, follow_redirects=False)
    assert r.status_code == 404 and "WORKMODE_JIRA_CLIENT_ID" in r.json()["detail"]
    back = client.get("/oauth/jira/callback", params={"state": "x.y", "code": "c"})
    assert back.status_code == 404 and "not configured" in back.text


def test_non_https_atlassian_hosts_are_refused(monkeypatch):
    monkeypatch.setenv("WORKMODE_ATLASSIAN_AUTH_URL", "http://auth.evil.example")
    reset_settings()
    with pytest.raises(ValueError, match="https"):
        jira_oauth.jira_oauth_config()


# ---------------------------------------------------------------- callback
def test_good_callback_stores_the_grant_encrypted_and_the_connector_uses_it(client, atl, fake_jira):
    r = _callback(client, _consent(client))
    assert r.status_code == 200 and "Jira connected" in r.text and SITE_URL in r.text
    secret = _stored()
    assert secret["url"] == f"{atl.url}/ex/jira/{CLOUD_ID}" and secret["site_url"] == SITE_URL
    assert secret["oauth_token"] in atl.access and secret["refresh_token"] in atl.refresh_tokens
    with Session(get_engine()) as s:
        row = s.exec(select(Credential).where(Credential.provider == "jira")).one()
        assert secret["oauth_token"] not in row.ciphertext and secret["refresh_token"] not in row.ciphertext
        assert s.exec(select(Credential).where(Credential.provider == jira_oauth.PENDING)).first() is None
    # PKCE verifier went to the token endpoint; the confluence-only site was skipped.
    assert "code_verifier" in atl.calls("POST", "/oauth/token")[0]["body"]

    with Session(get_engine()) as s:
        result = _search(s)
    assert [i["key"] for i in result.data["issues"]] == ["OPS-1"]
    gateway = fake_jira.calls("GET", "/rest/api/")
    assert gateway and all(c["auth"] == f"Bearer {secret['oauth_token']}" for c in gateway)
    assert atl.calls("GET", f"/ex/jira/{CLOUD_ID}/rest/api/")  # through the api.atlassian.com URL


def test_forged_replayed_and_expired_states_are_refused(client, atl):
    url = _consent(client)
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    forged = client.get("/oauth/jira/callback", params={"state": q["state"][:-2] + "xx", "code": q["code"]})
    assert forged.status_code == 400 and "unknown, already used or forged" in forged.text
    # A forged state names the principal but not the nonce: their pending attempt is untouched.
    assert _callback(client, url).status_code == 200
    replay = _callback(client, url)
    assert replay.status_code == 400 and "already used" in replay.text

    with Session(get_engine()) as s:
        credentials.delete(session=s, principal_id=_pid(), provider="jira")
        s.commit()
    late = _consent(client)
    with Session(get_engine()) as s:  # age the pending record past 10 minutes
        pending = dict(credentials.load(session=s, principal_id=_pid(), provider=jira_oauth.PENDING))
        credentials.save(session=s, principal_id=_pid(), provider=jira_oauth.PENDING,
                         secret={**pending, "created": time.time() - 601})
        s.commit()
    r = _callback(client, late)
    assert r.status_code == 400 and "10 minutes" in r.text and _stored() is None
    assert _callback(client, late).status_code == 400  # used up even though it failed


def test_someone_elses_atlassian_account_is_refused(client, atl):
    atl.consent_as = DANA  # Alex started, but Dana's Atlassian account consented
    r = _callback(client, _consent(client))
    assert r.status_code == 400 and DANA in r.text and _stored() is None


def test_configured_site_is_picked_or_the_grant_is_refused(client, atl, monkeypatch):
    monkeypatch.setenv("WORKMODE_JIRA_URL", "https://other.atlassian.net")
    reset_settings()
    r = _callback(client, _consent(client))
    assert r.status_code == 400 and "other.atlassian.net" in r.text and _stored() is None
    monkeypatch.setenv("WORKMODE_JIRA_URL", SITE_URL + "/")
    reset_settings()
    assert _callback(client, _consent(client)).status_code == 200 and _stored()["site_url"] == SITE_URL


def test_denied_consent_connects_nothing(client, atl):
    url = _consent(client)
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    r = client.get("/oauth/jira/callback", params={"state": q["state"], "error": "access_denied"})
    assert r.status_code == 400 and "access_denied" in r.text and _stored() is None


# ---------------------------------------------------------------- refresh
def _age_access_token() -> None:
    with Session(get_engine()) as s:
        secret = dict(credentials.load(session=s, principal_id=_pid(), provider="jira"))
        secret["expiry"] = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        credentials.save(session=s, principal_id=_pid(), provider="jira", secret=secret)
        s.commit()


def test_expired_access_token_is_refreshed_and_the_rotated_pair_stored(client, atl):
    assert _callback(client, _consent(client)).status_code == 200
    before = _stored()
    _age_access_token()
    with Session(get_engine()) as s:
        assert [i["key"] for i in _search(s).data["issues"]] == ["OPS-1"]
        s.rollback()  # the write-back was its own transaction
    after = _stored()
    assert after["oauth_token"] != before["oauth_token"] and after["refresh_token"] != before["refresh_token"]
    assert before["refresh_token"] in atl.spent and after["refresh_token"] in atl.refresh_tokens
    assert datetime.fromisoformat(after["expiry"]) > datetime.now(UTC) + timedelta(minutes=50)
    assert len(atl.calls("POST", "/oauth/token")) == 2  # the code exchange and one refresh


def test_a_401_before_expiry_refreshes_once(client, atl):
    assert _callback(client, _consent(client)).status_code == 200
    before = _stored()
    atl.expire_access_tokens()  # revoked early; the stored expiry still says it is good
    with Session(get_engine()) as s:
        assert [i["key"] for i in _search(s).data["issues"]] == ["OPS-1"]
    assert _stored()["refresh_token"] != before["refresh_token"]


def test_invalid_grant_on_refresh_asks_to_reconnect(client, atl):
    assert _callback(client, _consent(client)).status_code == 200
    atl.revoke()
    _age_access_token()
    with Session(get_engine()) as s, pytest.raises(ReconnectRequired) as err:
        _search(s)
    assert "/connect/jira/oauth" in err.value.message and "invalid" in err.value.message.lower()
    assert _stored()["refresh_token"]  # kept: reconnecting replaces it


# ---------------------------------------------------------------- CLI
def test_cli_prints_the_consent_url_and_it_completes_on_the_web(client, atl):
    out = CliRunner().invoke(main, ["connect", "jira", "--oauth", "--as", ALEX], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    url = next(line.strip() for line in out.output.splitlines() if line.strip().startswith("http"))
    assert url.startswith(atl.url + "/authorize?") and "/oauth/jira/callback" in out.output
    back = httpx.get(url, follow_redirects=False)
    assert _callback(client, back.headers["location"]).status_code == 200
    assert _stored()["url"].endswith(f"/ex/jira/{CLOUD_ID}")
    missing = CliRunner().invoke(main, ["connect", "jira", "--as", ALEX])
    assert missing.exit_code == 2 and "--url" in missing.output


def test_disconnect_forgets_the_grant(client, atl):
    assert _callback(client, _consent(client)).status_code == 200
    r = client.post("/disconnect/jira", headers={"X-Test-User": ALEX})
    assert r.json() == {"provider": "jira", "removed": True} and _stored() is None
