"""Finding 5: /slack/events checks Slack's signature on the raw bytes before anything parses the
body. An unsigned body nested deeper than any parser's recursion limit is 401, never a 5xx; the
same body correctly signed is a clear 400."""
from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from services.config import reset_settings
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, SlackSender

DEPTH = 100_000  # far past Python's recursion limit (json.loads raises RecursionError)
NESTED_JSON = "[" * DEPTH + "]" * DEPTH
NESTED_FORM = "payload=" + "%5B" * DEPTH + "%5D" * DEPTH  # payload=[[[…]]]
FORM, JSON_TYPE = "application/x-www-form-urlencoded", "application/json"


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("WORKMODE_SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("WORKMODE_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("WORKMODE_SLACK_API_URL", "http://127.0.0.1:9/api/")  # never reached: nothing is dispatched
    reset_settings()
    from services.api.app import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def signer(client) -> SlackSender:
    return SlackSender(client, SIGNING_SECRET, None)


@pytest.mark.parametrize(("body", "ctype"), [(NESTED_JSON, JSON_TYPE), (NESTED_FORM, FORM)], ids=["json", "form"])
def test_unsigned_deeply_nested_body_is_401(client, body, ctype):
    unsigned = client.post("/slack/events", content=body, headers={"Content-Type": ctype})
    forged = signer(client).post(body, ctype, signature="v0=" + "0" * 64)
    stale = signer(client).post(body, ctype, ts=int(time.time()) - 6 * 60)
    assert [r.status_code for r in (unsigned, forged, stale)] == [401, 401, 401]
    assert unsigned.json() == {"error": "invalid request"}


@pytest.mark.parametrize(("body", "ctype"), [(NESTED_JSON, JSON_TYPE), (NESTED_FORM, FORM)], ids=["json", "form"])
def test_signed_deeply_nested_body_is_400(client, body, ctype):
    r = signer(client).post(body, ctype)
    assert r.status_code == 400
    assert "malformed Slack request" in r.json()["error"]


def test_signed_requests_still_work(client):
    challenge = signer(client).post(json.dumps({"type": "url_verification", "challenge": "c-9", "token": "t"}),
                                    JSON_TYPE)
    assert challenge.status_code == 200 and challenge.json() == {"challenge": "c-9"}
