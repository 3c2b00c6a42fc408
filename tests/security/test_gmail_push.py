"""POST /gmail/push accepts only pushes Google signed for this endpoint: a forged, expired,
wrong-audience, wrong-issuer or wrong-account token gets 401 and starts nothing; a valid one starts
one incremental triage for the mailbox, and a second push moments later is debounced."""
from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlmodel import Session, select

from services.config import reset_settings
from services.store.db import get_engine
from services.store.models import MailWatch, Principal, TriageRun

AUDIENCE = "https://workmode.example.com/gmail/push"
ACCOUNT = "gmail-push@workmode-prod.iam.gserviceaccount.com"


class GoogleCerts:
    """Google's JWKS endpoint (https://www.googleapis.com/oauth2/v3/certs): {"keys": [public JWKs]}."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "google-1", "alg": "RS256", "use": "sig"})
        certs = json.dumps({"keys": [self.key.as_dict(private=False)]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(certs)))
                self.end_headers()
                self.wfile.write(certs)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth2/v3/certs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def token(key: RSAKey, **changes) -> str:
    now = int(time.time())
    claims = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "iat": now, "exp": now + 3600,
              "email": ACCOUNT, "email_verified": True, "sub": "1234567890"}
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def envelope(email: str = "alex@northwind.example") -> dict:
    data = base64.b64encode(json.dumps({"emailAddress": email, "historyId": "9876"}).encode()).decode()
    return {"message": {"data": data, "messageId": "m1", "publishTime": "2026-01-05T08:00:00Z"},
            "subscription": "projects/workmode-prod/subscriptions/gmail-push"}


@pytest.fixture
def push(workspace, monkeypatch):
    certs = GoogleCerts()
    for key, value in {"GMAIL_PUSH_AUDIENCE": AUDIENCE, "GMAIL_PUSH_SERVICE_ACCOUNT": ACCOUNT,
                       "GMAIL_PUSH_CERTS_URL": certs.url, "GMAIL_PUSH_DEBOUNCE_S": "300"}.items():
        monkeypatch.setenv(f"WORKMODE_{key}", value)
    reset_settings()
    _, people = workspace
    with Session(get_engine()) as s:
        s.add(MailWatch(principal_id=people["alex"].id, email="alex@northwind.example", history_id="9000"))
        s.commit()
    from services.api.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        yield client, certs
    certs.server.shutdown()


def runs() -> list[TriageRun]:
    with Session(get_engine()) as s:
        return list(s.exec(select(TriageRun)))


def send(client, bearer: str | None, body=None):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return client.post("/gmail/push", json=body or envelope(), headers=headers)


def test_refused_pushes_start_nothing(push):
    client, certs = push
    forger = RSAKey.generate_key(2048, parameters={"kid": "google-1"})  # same key id, not Google's key
    now = int(time.time())
    cases = {
        "no token": None,
        "forged signature": token(forger),
        "expired": token(certs.key, iat=now - 7200, exp=now - 3600),
        "wrong audience": token(certs.key, aud="https://evil.example/gmail/push"),
        "wrong issuer": token(certs.key, iss="https://accounts.evil.example"),
        "other service account": token(certs.key, email="someone@else.iam.gserviceaccount.com"),
        "email not verified": token(certs.key, email_verified=False),
        "no expiry": token(certs.key, exp=None),
        "not a JWT": "garbage",
        "alg none": base64.urlsafe_b64encode(b'{"alg":"none","kid":"google-1"}').decode().rstrip("=") + "."
                    + base64.urlsafe_b64encode(json.dumps({"iss": "accounts.google.com", "aud": AUDIENCE,
                                                           "exp": now + 600, "email": ACCOUNT,
                                                           "email_verified": True}).encode()).decode().rstrip("=")
                    + ".",
    }
    for what, bearer in cases.items():
        r = send(client, bearer)
        assert r.status_code == 401, (what, r.status_code, r.text)
        assert bearer is None or bearer not in r.text
    assert runs() == []


def test_valid_push_starts_one_run_debounced(push, workspace):
    client, certs = push
    _, people = workspace
    first = send(client, token(certs.key))
    assert first.status_code == 202, first.text
    assert first.json()["started"] is True
    second = send(client, token(certs.key, iss="accounts.google.com"))  # the other issuer Google uses
    assert second.status_code == 202 and second.json()["started"] is False
    (run,) = runs()
    assert run.trigger == "push" and run.principal_id == people["alex"].id and run.id == first.json()["triage_run_id"]
    # A mailbox nobody watches is acknowledged and starts nothing; a broken envelope is a clear 400.
    assert send(client, token(certs.key), envelope("nobody@northwind.example")).json()["started"] is False
    bad = send(client, token(certs.key), {"message": {"data": "%%%"}})
    assert bad.status_code == 400 and "message.data" in bad.text
    assert len(runs()) == 1


def test_push_off_when_not_configured(workspace):
    from services.api.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        r = client.post("/gmail/push", json=envelope(), headers={"Authorization": "Bearer x.y.z"})
    assert r.status_code == 503
    with Session(get_engine()) as s:
        assert s.exec(select(Principal)).first() is not None
    assert runs() == []
