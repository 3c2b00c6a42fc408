"""Google errors as the engine sees them (401 → reconnect, 403, 404, 429 with Retry-After, 5xx and
timeouts → transient), token refresh, revoked grants, and the hosts a connector may talk to."""
from __future__ import annotations

import httplib2
import pytest
from sqlmodel import Session

from connectors.base import NotFound, NotPermitted, RateLimited, ReconnectRequired, ToolError, TransientError
from connectors.google.client import PinnedHttp
from connectors.google.config import google_config
from services.agent.calls import with_retries
from services.config import reset_settings
from services.credentials import service as credentials
from services.store.db import get_engine
from tests.fakes.google_api import ALEX, DANA, mail

LIST = r"/gmail/v1/users/me/messages$"


def _search(world):
    return world.call("gmail_search", {"query": "in:inbox"})


def _stored(world) -> dict:
    with Session(get_engine()) as s:
        return dict(credentials.load(session=s, principal_id=world.principal_id, provider="google"))


def test_first_call_refreshes_and_stores_the_access_token(google_world):
    assert _stored(google_world)["token"] is None
    _search(google_world)
    stored = _stored(google_world)
    assert stored["token"].startswith("ya29.") and stored["expiry"]
    _search(google_world)  # the stored token is reused: no second refresh
    assert len(google_world.fake.calls("POST", "/token")) == 1


def test_expired_access_token_is_refreshed_transparently(google_world):
    fake = google_world.fake
    fake.deliver(ALEX, mail(DANA, ALEX, "hello"))
    _search(google_world)
    before = _stored(google_world)
    fake.expire_access_tokens()  # Google says 401; google-auth refreshes and retries once
    assert _search(google_world).data["messages"][0]["subject"] == "hello"
    after = _stored(google_world)
    assert after["token"] != before["token"]
    assert after["refresh_token"] == before["refresh_token"]  # kept across refreshes
    assert len(fake.calls("POST", "/token")) == 2


def test_revoked_grant_asks_the_person_to_reconnect(google_world):
    fake = google_world.fake
    refresh = _stored(google_world)["refresh_token"]
    fake.revoke(refresh)
    with pytest.raises(ReconnectRequired) as err:
        _search(google_world)
    assert "reconnect" in err.value.message and "http://127.0.0.1:8000/connect/google" in err.value.message
    assert "workmode connect google" in err.value.message


def test_persistent_401_asks_the_person_to_reconnect(google_world):
    google_world.fake.fail("GET", LIST, 401, times=5)
    with pytest.raises(ReconnectRequired):
        _search(google_world)


def test_not_connected_asks_to_connect(google_world):
    with Session(get_engine()) as s:
        credentials.delete(session=s, principal_id=google_world.principal_id, provider="google")
        s.commit()
    with pytest.raises(ReconnectRequired, match="has not connected a Google account"):
        _search(google_world)


def test_403_is_not_permitted_but_403_rate_limit_is_rate_limited(google_world):
    google_world.fake.fail("GET", LIST, 403, reason="forbidden")
    with pytest.raises(NotPermitted):
        _search(google_world)
    google_world.fake.fail("GET", LIST, 403, reason="userRateLimitExceeded")
    with pytest.raises(RateLimited):
        _search(google_world)


def test_429_honours_retry_after(google_world):
    google_world.fake.fail("GET", LIST, 429, headers={"Retry-After": "7"})
    with pytest.raises(RateLimited) as err:
        _search(google_world)
    assert err.value.retry_after == 7.0


def test_404_is_not_found(google_world):
    with pytest.raises(NotFound):
        google_world.call("gmail_read_thread", {"thread_id": "nope"})


def test_5xx_is_transient_and_the_engine_retries_it(google_world):
    fake = google_world.fake
    fake.deliver(ALEX, mail(DANA, ALEX, "after the outage"))
    fake.fail("GET", LIST, 503)
    with pytest.raises(TransientError):
        _search(google_world)
    fake.fail("GET", LIST, 500)
    fake.fail("GET", LIST, 429, headers={"Retry-After": "0"})
    result = with_retries(lambda: _search(google_world))  # the engine's retry loop for reads
    assert result.data["messages"][0]["subject"] == "after the outage"


def test_timeout_is_transient(google_world, monkeypatch):
    monkeypatch.setenv("WORKMODE_GOOGLE_TIMEOUT_S", "0.3")
    reset_settings()
    google_world.fake.slow_paths[LIST] = 1.5
    with pytest.raises(TransientError, match="could not reach Google"):
        _search(google_world)


def test_400_bad_query_is_a_clear_tool_error(google_world):
    with pytest.raises(ToolError, match="Invalid search operator"):
        google_world.call("gmail_search", {"query": "bogus:thing"})


def test_base_url_must_be_https_or_local(monkeypatch):
    monkeypatch.setenv("WORKMODE_GOOGLE_API_BASE_URL", "http://googleapis.evil.example/")
    reset_settings()
    with pytest.raises(ValueError, match="must be https"):
        google_config()
    monkeypatch.setenv("WORKMODE_GOOGLE_API_BASE_URL", "")
    reset_settings()
    cfg = google_config()
    assert ("https", "gmail.googleapis.com") in cfg.allowed_hosts and cfg.token_url.startswith("https://oauth2.")


def test_transport_refuses_other_hosts():
    http = PinnedHttp(frozenset({("https", "gmail.googleapis.com")}), timeout=1)
    with pytest.raises(NotPermitted, match="not a configured Google host"):
        http.request("https://attacker.example/steal")
    with pytest.raises(NotPermitted):
        http.request("http://gmail.googleapis.com/")  # right host, wrong scheme
    assert isinstance(http, httplib2.Http)


def test_unconfigured_client_is_a_clear_error(google_world, monkeypatch):
    monkeypatch.setenv("WORKMODE_GOOGLE_CLIENT_ID", "")
    reset_settings()
    with pytest.raises(ToolError, match="WORKMODE_GOOGLE_CLIENT_ID"):
        _search(google_world)
