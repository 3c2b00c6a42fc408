"""The single-use pending state of an OAuth web flow (Google, Atlassian).

`begin` stores a nonce and a PKCE verifier for the person, encrypted like any credential, under
the flow's pending provider name (a new start replaces an unfinished one); the `state` parameter is
`<principal id>.<nonce>`. `consume` checks it in constant time, deletes it (used once, even when
the flow then fails) and refuses it after STATE_TTL_S."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

from sqlmodel import Session

from services.credentials import service as store
from services.credentials.crypto import CredentialError

STATE_TTL_S = 600


class OAuthError(Exception):
    """The flow cannot complete; the message says what to do."""


def challenge(verifier: str) -> str:
    """The PKCE S256 code challenge."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def begin(*, session: Session, principal_id: str, pending_provider: str) -> tuple[str, str]:
    """Returns (state, PKCE verifier)."""
    nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    store.save(session=session, principal_id=principal_id, provider=pending_provider,
               secret={"nonce": nonce, "verifier": verifier, "created": time.time()})
    return f"{principal_id}.{nonce}", verifier


def consume(*, session: Session, state: str, pending_provider: str, service: str, restart: str
            ) -> tuple[str, dict[str, Any]]:
    """Returns (principal id, pending record); raises OAuthError naming `service` and `restart`."""
    principal_id, _, nonce = state.partition(".")
    try:
        pending = store.load(session=session, principal_id=principal_id, provider=pending_provider) if nonce else None
    except CredentialError:
        pending = None
    if pending is None or not hmac.compare_digest(str(pending.get("nonce", "")), nonce):
        raise OAuthError(f"this sign-in link is unknown, already used or forged; start again from {restart}")
    store.delete(session=session, principal_id=principal_id, provider=pending_provider)
    if time.time() - float(pending.get("created", 0)) > STATE_TTL_S:
        raise OAuthError(f"the {service} sign-in took longer than 10 minutes; start again")
    return principal_id, pending
