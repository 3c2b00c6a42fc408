"""Finding 9 (part): in production every response carries HSTS, the OpenAPI schema needs a
signed-in caller, /docs does not exist, and /metrics needs the metrics bearer token (and is off
without one). Development and test keep them open for tooling."""
from __future__ import annotations

import secrets

import pytest
from fastapi.testclient import TestClient

from services.config import reset_settings
from tests.support.web import api_token

METRICS_TOKEN = secrets.token_urlsafe(32)


@pytest.fixture
def store(pg_store):
    return pg_store


def app_in(monkeypatch, environment: str, **env: str):
    monkeypatch.setenv("WORKMODE_ENVIRONMENT", environment)
    monkeypatch.delenv("WORKMODE_METRICS_TOKEN", raising=False)
    if environment == "production":
        monkeypatch.setenv("WORKMODE_SECRET_KEY", secrets.token_urlsafe(48))
    for key, value in env.items():
        monkeypatch.setenv(f"WORKMODE_{key.upper()}", value)
    reset_settings()
    from services.api.app import create_app

    return TestClient(create_app(), base_url="https://workmode.example")


def test_hsts_in_production_only(monkeypatch, workspace):
    with app_in(monkeypatch, "production") as c:
        for r in (c.get("/healthz"), c.get("/login"), c.get("/api/jobs")):
            assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    with app_in(monkeypatch, "development") as c:
        assert "strict-transport-security" not in c.get("/healthz").headers


def test_openapi_and_docs_are_not_public_in_production(monkeypatch, workspace):
    _, people = workspace
    with app_in(monkeypatch, "production") as c:
        assert c.get("/openapi.json").status_code == 401
        assert c.get("/openapi.json", headers={"Authorization": "Bearer wm_wrong"}).status_code == 401
        schema = c.get("/openapi.json", headers=api_token(people["alex"]))
        assert schema.status_code == 200 and "/api/jobs" in schema.json()["paths"]
        assert "/openapi.json" not in schema.json()["paths"]
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            assert c.get(path).status_code == 404
    with app_in(monkeypatch, "test") as c:
        assert c.get("/openapi.json").status_code == 200


def test_metrics_need_the_bearer_token_in_production(monkeypatch, workspace):
    with app_in(monkeypatch, "production") as c:  # no token configured: no /metrics at all
        assert c.get("/metrics").status_code == 404
    with app_in(monkeypatch, "production", metrics_token=METRICS_TOKEN) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.get("/metrics", headers={"Authorization": f"Basic {METRICS_TOKEN}"}).status_code == 401
        r = c.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert r.status_code == 200 and "workmode_approvals_pending" in r.text
    with app_in(monkeypatch, "test") as c:  # development tooling scrapes without ceremony
        assert c.get("/metrics").status_code == 200
    with app_in(monkeypatch, "test", metrics_token=METRICS_TOKEN) as c:  # a token, once set, is always needed
        assert c.get("/metrics").status_code == 401
