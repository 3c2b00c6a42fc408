"""Finding 9 (part): OpenID Connect sign-in needs the ID token's `email_verified` to be true. A
claim that is missing (null) or anything but the boolean true is not the IdP vouching for the
address, and is refused."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.oidc import through_idp


@pytest.fixture
def store(pg_store):
    return pg_store


@pytest.fixture
def client(workspace, idp):
    from services.api.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c


@pytest.mark.parametrize("claim", [None, "true", 1], ids=["missing", "string", "number"])
def test_email_verified_must_be_true(idp, client, claim):
    idp.email_verified = claim
    r = through_idp(client, idp)
    assert r.status_code == 403 and "did not vouch for an email address" in r.text
    assert client.get("/queue", follow_redirects=False).status_code == 303  # still signed out


def test_verified_email_signs_in(idp, client):
    idp.email_verified = True
    r = through_idp(client, idp)
    assert r.status_code == 303 and client.get("/queue", follow_redirects=False).status_code == 200
