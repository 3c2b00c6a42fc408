"""Finding 7: rate limits per IP and per principal, counted in Redis (the real one: every API
process shares the counts), with 429 and Retry-After: sign-in links, failed token
authentication, the Slack endpoint and the REST API. On the embedded defaults (no Redis) the
counts live in the process's memory."""
from __future__ import annotations

import pytest
import redis
from fastapi.testclient import TestClient

from services.config import reset_settings
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET
from tests.support.web import api_token

HOME, AWAY = ("203.0.113.7", 40000), ("198.51.100.9", 40000)


@pytest.fixture
def store(pg_store):
    return pg_store


@pytest.fixture
def limited(redis_url, monkeypatch, workspace):
    """`limited(**limits)`: a fresh app (as a new API process would be) whose limits are counted in
    the test Redis; `limited.client(app, ip)` a client calling from that address."""

    def make(**limits):
        monkeypatch.setenv("WORKMODE_RATE_LIMIT_STORAGE_URL", redis_url)
        for name, value in limits.items():
            monkeypatch.setenv(f"WORKMODE_RATE_LIMIT_{name.upper()}", value)
        reset_settings()
        from services.api.app import create_app

        return create_app()

    return make


def client(app, ip=HOME) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1", client=ip)


def assert_429(r):
    assert r.status_code == 429, r.text
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert r.json()["error"]["status"] == 429


def test_sign_in_links_per_ip_shared_across_processes(limited, redis_url):
    first, second = limited(sign_in="3/minute"), limited(sign_in="3/minute")
    with client(first) as c:
        assert [c.get("/login/link/not-a-real-link").status_code for _ in range(2)] == [410, 410]
    with client(second) as c:  # another API process: the same count, kept in Redis
        assert c.get("/login/link/still-not-real").status_code == 410
        assert_429(c.get("/login/link/not-a-real-link"))
        assert_429(c.post("/login/link", data={"token": "x"}))
        assert c.get("/healthz").status_code == 200  # other pages are not sign-in attempts
    with client(first, AWAY) as c:  # another address has its own budget
        assert c.get("/login/link/not-a-real-link").status_code == 410
    assert redis.Redis.from_url(redis_url).keys("LIMITS*")


def test_failed_token_authentication_per_ip(limited, workspace):
    _, people = workspace
    good = api_token(people["alex"])
    app = limited(auth_failures="3/minute")
    with client(app) as c:
        bad = {"Authorization": "Bearer wm_guessed"}
        assert [c.get("/api/jobs", headers=bad).status_code for _ in range(3)] == [401, 401, 401]
        assert_429(c.get("/api/jobs", headers=bad))
        assert_429(c.get("/api/jobs", headers=good))  # refused before the token is even looked up
        assert c.get("/healthz").status_code == 200  # requests without a token go on
    with client(app, AWAY) as c:
        assert c.get("/api/jobs", headers=good).status_code == 200


def test_good_tokens_do_not_count_as_failures(limited, workspace):
    _, people = workspace
    good = api_token(people["alex"])
    with client(limited(auth_failures="2/minute")) as c:
        assert {c.get("/api/jobs", headers=good).status_code for _ in range(5)} == {200}


def test_slack_endpoint_per_ip(limited, monkeypatch):
    monkeypatch.setenv("WORKMODE_SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("WORKMODE_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    app = limited(slack="2/minute")
    with client(app) as c:
        assert [c.post("/slack/events", content=b"{}").status_code for _ in range(2)] == [401, 401]
        assert_429(c.post("/slack/events", content=b"{}"))
    with client(app, AWAY) as c:
        assert c.post("/slack/events", content=b"{}").status_code == 401


def test_rest_api_per_principal_and_per_ip(limited, workspace):
    _, people = workspace
    alex, alex_again, dana = api_token(people["alex"]), api_token(people["alex"], "2"), api_token(people["dana"])
    app = limited(api="3/minute", api_ip="5/minute")
    with client(app) as c:
        assert [c.get("/api/jobs", headers=alex).status_code for _ in range(3)] == [200, 200, 200]
        assert_429(c.get("/api/approvals", headers=alex))
    with client(app, AWAY) as c:  # the same person from elsewhere, with another token: still Alex
        assert_429(c.get("/api/jobs", headers=alex_again))
        assert c.get("/api/jobs", headers=dana).status_code == 200  # Dana has her own budget
        c.get("/api/jobs", headers=dana)
        c.get("/api/jobs", headers=dana)
        assert_429(c.get("/api/jobs", headers=dana))  # Dana's budget (3) spent
    with client(app, ("192.0.2.1", 1)) as c:  # an address that sends many requests: 5 a minute
        codes = [c.get("/api/jobs").status_code for _ in range(6)]
        assert codes[:5] == [401] * 5 and codes[5] == 429


def test_embedded_defaults_count_in_memory(monkeypatch, redis_url, workspace):
    monkeypatch.setenv("WORKMODE_RATE_LIMIT_SIGN_IN", "2/minute")
    reset_settings()
    from services.api.app import create_app

    app = create_app()  # broker memory://, no storage URL: counted in this process
    with client(app) as c:
        assert [c.get("/login/link/nope").status_code for _ in range(2)] == [410, 410]
        assert_429(c.get("/login/link/nope"))
    assert redis.Redis.from_url(redis_url).keys("LIMITS*") == []
    with client(create_app()) as c:  # another process: its own memory
        assert c.get("/login/link/nope").status_code == 410


def test_an_unreachable_store_lets_requests_through(monkeypatch, workspace):
    monkeypatch.setenv("WORKMODE_RATE_LIMIT_STORAGE_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    monkeypatch.setenv("WORKMODE_RATE_LIMIT_SIGN_IN", "1/minute")
    reset_settings()
    from services.api.app import create_app

    with client(create_app()) as c:  # a Redis outage must not take the API down with it
        assert [c.get("/login/link/nope").status_code for _ in range(3)] == [410, 410, 410]
