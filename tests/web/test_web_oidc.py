"""OpenID Connect sign-in with the real Authlib client against a local identity provider that
speaks the protocol over HTTP (discovery, authorise, token, JWKS; RS256 ID tokens)."""
from __future__ import annotations

import base64

import pytest

from tests.support.audit import audit_rows
from tests.support.oidc import CLIENT_ID, CLIENT_SECRET, through_idp


@pytest.fixture
def store(pg_store):
    return pg_store


def test_sign_in_with_openid_connect(idp, client):
    assert "Sign in with your company account" in client.get("/login").text
    done = through_idp(client, idp)
    assert done.status_code == 303 and done.headers["location"] == "/settings"
    assert "alex@northwind.example" in client.get("/settings").text
    (signed_in,) = audit_rows("signed_in")
    assert signed_in.actor_email == "alex@northwind.example" and signed_in.data["via"] == "oidc"
    (request,) = idp.token_requests
    assert request["code_verifier"]  # PKCE
    sent = base64.b64decode(request["authorization"].removeprefix("Basic ")).decode()
    assert sent == f"{CLIENT_ID}:{CLIENT_SECRET}"  # client_secret_basic


def test_unknown_or_unverified_email_is_refused(idp, client):
    idp.email = "stranger@elsewhere.example"
    r = through_idp(client, idp)
    assert r.status_code == 403 and "not a Workmode user" in r.text
    idp.email, idp.email_verified = "alex@northwind.example", False
    r = through_idp(client, idp)
    assert r.status_code == 403
    assert client.get("/queue", follow_redirects=False).status_code == 303
    assert audit_rows("signed_in") == []  # a refused sign-in is no sign-in


def test_forged_state_is_refused(idp, client):
    client.get("/login/oidc", follow_redirects=False)
    r = client.get("/auth/callback?code=whatever&state=forged", follow_redirects=False)
    assert r.status_code == 400
    assert client.get("/queue", follow_redirects=False).status_code == 303
