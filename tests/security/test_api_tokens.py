"""Finding 8: personal API tokens expire (a default lifetime, a chosen one up to a maximum), have
a scope (read-only tokens get 403 on any change, with a clear error), and are minted only from a
signed-in web session (a token cannot mint tokens) or by the admin's `workmode tokens create`.
The upgrade gives tokens made before it an expiry and keeps them read-write."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.api.app import create_app
from services.api.tokens import InvalidTokenOption, create_api_token
from services.config import get_settings, reset_settings
from services.store.db import dispose_engines, get_engine
from services.store.models import ApiToken, utcnow
from tests.support.db import PG_ADMIN_URL
from tests.support.paths import ROOT
from tests.support.web import api_token, sign_in


@pytest.fixture
def client(workspace):
    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def only_token() -> ApiToken:
    with Session(get_engine()) as s:
        (row,) = s.exec(select(ApiToken)).all()
        return row


def test_a_token_cannot_mint_tokens(workspace, client):
    _, people = workspace
    auth = api_token(people["alex"])
    r = client.post("/api/tokens", json={"name": "another"}, headers=auth)
    assert r.status_code == 403
    assert r.json()["error"]["field"] == "Authorization" and "cannot create API tokens" in r.json()["error"]["message"]
    assert len(client.get("/api/tokens", headers=auth).json()) == 1

    csrf = sign_in(client, people["alex"])  # a signed-in web session may (with its CSRF header)
    assert client.post("/api/tokens", json={"name": "another"}).status_code == 403
    made = client.post("/api/tokens", json={"name": "another"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201 and made.json()["scope"] == "read-write"
    assert client.get("/api/jobs", headers=bearer(made.json()["token"])).status_code == 200


def test_read_only_tokens_read_but_never_change(workspace, client):
    _, people = workspace
    csrf = sign_in(client, people["alex"])
    ro = client.post("/api/tokens", json={"name": "dashboard", "scope": "read-only"},
                     headers={"X-CSRF-Token": csrf}).json()
    rw = client.post("/api/tokens", json={"name": "script"}, headers={"X-CSRF-Token": csrf}).json()
    client.cookies.clear()
    assert client.get("/api/jobs", headers=bearer(ro["token"])).status_code == 200
    for method, path, body in [("POST", "/api/jobs", {"prompt": "send mail"}),
                               ("POST", f"/api/tokens/{rw['id']}/revoke", None),
                               ("POST", "/connect/jira", {"url": "https://acme.atlassian.net", "token": "x"})]:
        r = client.request(method, path, json=body, headers=bearer(ro["token"]))
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"]["field"] == "Authorization" and "read-only" in r.json()["error"]["message"]
    # The read-write token may change things (here: revoke the read-only one).
    r = client.post(f"/api/tokens/{ro['id']}/revoke", headers=bearer(rw["token"]))
    assert r.status_code == 200 and r.json()["revoked_at"]


def test_tokens_expire_after_the_default_or_the_chosen_lifetime(workspace, client):
    _, people = workspace
    s = get_settings()
    csrf = sign_in(client, people["alex"])
    made = client.post("/api/tokens", json={"name": "default"}, headers={"X-CSRF-Token": csrf}).json()
    row = only_token()
    assert row.expires_at - row.created_at == timedelta(days=s.api_token_default_days)
    assert made["expires_at"] and made["scope"] == "read-write"

    week = client.post("/api/tokens", json={"name": "a week", "expires_days": 7}, headers={"X-CSRF-Token": csrf})
    with Session(get_engine()) as db:
        row = db.get_one(ApiToken, week.json()["id"])
    assert row.expires_at - row.created_at == timedelta(days=7)

    too_long = client.post("/api/tokens", json={"name": "forever", "expires_days": s.api_token_max_days + 1},
                           headers={"X-CSRF-Token": csrf})
    assert too_long.status_code == 400 and too_long.json()["error"]["field"] == "expires_days"
    assert client.post("/api/tokens", json={"name": "never", "expires_days": 0},
                       headers={"X-CSRF-Token": csrf}).status_code == 422
    with Session(get_engine()) as db, pytest.raises(InvalidTokenOption):
        create_api_token(session=db, principal=people["alex"], name="x", expires_days=s.api_token_max_days + 1)


def test_an_expired_token_is_refused_and_says_so(workspace, client):
    _, people = workspace
    auth = api_token(people["alex"])
    assert client.get("/api/jobs", headers=auth).status_code == 200
    with Session(get_engine()) as s:
        (row,) = s.exec(select(ApiToken)).all()
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
        s.commit()
    r = client.get("/api/jobs", headers=auth)
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


def test_settings_page_makes_a_read_only_token_with_a_lifetime(workspace, client):
    _, people = workspace
    csrf = sign_in(client, people["alex"])
    page = client.post("/settings/tokens", data={"csrf_token": csrf, "name": "dash", "expires_days": "30",
                                                 "scope": "read-only"})
    assert page.status_code == 200 and 'id="new-token"' in page.text
    row = only_token()
    assert row.scope == "read-only" and row.expires_at - row.created_at == timedelta(days=30)
    bad = client.post("/settings/tokens", data={"csrf_token": csrf, "name": "x", "expires_days": "9999"})
    assert bad.status_code == 400 and "expires_days" in bad.text


def test_cli_creates_tokens_with_expiry_and_scope(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_")}
    env.update(WORKMODE_HOME=str(tmp_path / "home"))
    workmode = str(Path(sys.executable).parent / "workmode")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([workmode, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert run("db", "upgrade").returncode == 0 and run("db", "seed").returncode == 0
    made = run("tokens", "create", "alex@northwind.example", "--name", "cron", "--expires-days", "7",
               "--scope", "read-only")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("wm_") and "read-only" in made.stderr
    too_long = run("tokens", "create", "alex@northwind.example", "--name", "x", "--expires-days", "1000")
    assert too_long.returncode != 0 and "expires_days" in too_long.stderr
    listed = run("tokens", "list", "alex@northwind.example").stdout
    assert "read-only" in listed and "cron" in listed
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'home' / 'workmode.db'}")
    with engine.connect() as c:
        scope, created, expires = c.execute(sa.text("SELECT scope, created_at, expires_at FROM api_token")).one()
    engine.dispose()
    assert scope == "read-only"
    assert datetime.fromisoformat(str(expires)) - datetime.fromisoformat(str(created)) == timedelta(days=7)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_db(request, tmp_path, monkeypatch):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'upgrade.db'}"
        yield url
        return
    name = f"workmode_upgrade_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    dispose_engines()
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_upgrade_gives_existing_tokens_an_expiry_and_keeps_their_scope(fresh_db, monkeypatch):
    from services.store.migrate import upgrade

    monkeypatch.setenv("WORKMODE_DATABASE_URL", fresh_db)
    reset_settings()
    upgrade("0004")
    with get_engine().begin() as c:
        c.execute(sa.text("INSERT INTO organisation (id, name, domains, policy, created_at) "
                          "VALUES ('o', 'Org', '[]', '{}', CURRENT_TIMESTAMP)"))
        c.execute(sa.text("INSERT INTO principal (id, org_id, email, name, time_zone, roles, created_at) "
                          "VALUES ('p', 'o', 'old@org.example', 'Old', 'UTC', '[]', CURRENT_TIMESTAMP)"))
        c.execute(sa.text("INSERT INTO api_token (id, principal_id, name, token_hash, prefix, created_at) "
                          "VALUES ('t', 'p', 'old script', 'h', 'wm_old', CURRENT_TIMESTAMP)"))
    upgrade()
    with Session(get_engine()) as s:
        row = s.get_one(ApiToken, "t")
        assert row.scope == "read-write"
        assert row.expires_at > utcnow() + timedelta(days=80)
    dispose_engines()
