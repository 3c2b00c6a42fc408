"""Google OAuth 2.0 web-server flow with PKCE: authorization URL, callback, disconnect.

`start` stores a single-use pending record (nonce + PKCE verifier, encrypted like any credential)
and returns Google's consent URL with `state = <principal id>.<nonce>` and the S256 challenge.
`finish` checks the state against the pending record (constant-time, at most 10 minutes old, used
once), exchanges the code with the verifier, checks that the Google account is the principal's
own (so nobody can attach their mailbox to someone else's Workmode account), and stores the
refresh token encrypted. Nothing here commits: the caller does, also after an OAuthError (the
pending record is consumed either way).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Optional
from urllib.parse import urlencode

import httpx
from google.auth import jwt
from sqlmodel import Session

from connectors.google.config import SCOPES, GoogleConfig, google_config
from services.credentials import oauth_state
from services.credentials import service as store
from services.credentials.crypto import CredentialError
from services.credentials.oauth_state import OAuthError
from services.store.models import Principal

PROVIDER = "google"
PENDING = "google:oauth-pending"
REQUIRED_SCOPES = tuple(s for s in SCOPES if s.startswith("https://"))



def start(*, session: Session, principal: Principal, cfg: Optional[GoogleConfig] = None) -> str:
    """The URL to send the person to. Replaces any earlier unfinished attempt of theirs."""
    cfg = cfg or google_config()
    cfg.require_client()
    state, verifier = oauth_state.begin(session=session, principal_id=principal.id, pending_provider=PENDING)
    params = {
        "client_id": cfg.client_id, "redirect_uri": cfg.redirect_url, "response_type": "code",
        "scope": " ".join(SCOPES), "state": state,
        "code_challenge": oauth_state.challenge(verifier), "code_challenge_method": "S256",
        "access_type": "offline", "prompt": "consent", "include_granted_scopes": "true",
        "login_hint": principal.email,
    }
    return f"{cfg.auth_url}?{urlencode(params)}"


def _exchange(cfg: GoogleConfig, code: str, verifier: str) -> dict[str, Any]:
    try:
        resp = httpx.post(cfg.token_url, timeout=cfg.timeout_s, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": cfg.redirect_url,
            "client_id": cfg.client_id, "client_secret": cfg.client_secret.get_secret_value(),
            "code_verifier": verifier,
        })
    except httpx.HTTPError as exc:
        raise OAuthError(f"could not reach Google to finish connecting ({type(exc).__name__}); try again") from None
    body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    if resp.status_code != 200 or "access_token" not in body:
        why = body.get("error_description") or body.get("error") or f"HTTP {resp.status_code}"
        raise OAuthError(f"Google refused the sign-in code ({why}); start again")
    return body


def _account(cfg: GoogleConfig, tokens: dict[str, Any]) -> str:
    try:
        claims = jwt.decode(tokens.get("id_token", ""), verify=False)  # straight from the token endpoint over TLS
    except ValueError:
        raise OAuthError("Google did not say which account was connected (no id_token); start again") from None
    if claims.get("aud") != cfg.client_id or not claims.get("email") or not claims.get("email_verified", False):
        raise OAuthError("Google's answer was not for this application or has no verified email; start again")
    return str(claims["email"]).lower()


def finish(*, session: Session, state: str, code: str = "", error: str = "",
           cfg: Optional[GoogleConfig] = None) -> dict[str, Any]:
    """Complete the flow for the principal named in `state`. Returns what was connected."""
    cfg = cfg or google_config()
    cfg.require_client()
    principal_id, pending = oauth_state.consume(
        session=session, state=state, pending_provider=PENDING, service="Google",
        restart="'Connect Google' (or `workmode connect google`)")
    if error:
        raise OAuthError(f"Google did not grant access ({error}); nothing was connected")
    if not code:
        raise OAuthError("Google sent no authorization code; start again")
    tokens = _exchange(cfg, code, pending["verifier"])
    principal = session.get(Principal, principal_id)
    account = _account(cfg, tokens)
    if principal is None or account != principal.email.lower():
        _revoke(cfg, tokens.get("refresh_token") or tokens["access_token"])
        raise OAuthError(f"you signed in to Google as {account}, but this Workmode account is "
                         f"{principal.email if principal else 'gone'}; sign in with that Google account")
    previous: dict[str, Any] = store.load(session=session, principal_id=principal_id, provider=PROVIDER) or {}
    refresh = tokens.get("refresh_token") or previous.get("refresh_token")
    if not refresh:
        raise OAuthError("Google returned no refresh token; remove Workmode at "
                         "https://myaccount.google.com/permissions and connect again")
    granted = sorted(set(str(tokens.get("scope", "")).split()))
    expiry = datetime.now(UTC) + timedelta(seconds=int(tokens.get("expires_in", 3600)))
    store.save(session=session, principal_id=principal_id, provider=PROVIDER, secret={
        "refresh_token": refresh, "token": tokens["access_token"], "expiry": expiry.isoformat(),
        "scopes": granted, "account": account})
    missing = [s for s in REQUIRED_SCOPES if s not in granted]
    return {"principal_id": principal_id, "account": account, "scopes": granted, "missing_scopes": missing}


def _revoke(cfg: GoogleConfig, token: str) -> bool:
    try:
        return httpx.post(cfg.revoke_url, data={"token": token}, timeout=cfg.timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def disconnect(*, session: Session, principal_id: str, cfg: Optional[GoogleConfig] = None) -> bool:
    """Revoke the grant at Google (best effort) and forget it here. True if one was stored."""
    cfg = cfg or google_config()
    try:
        secret = store.load(session=session, principal_id=principal_id, provider=PROVIDER)
    except CredentialError:
        secret = None
    if secret and secret.get("refresh_token"):
        _revoke(cfg, secret["refresh_token"])
    store.delete(session=session, principal_id=principal_id, provider=PENDING)
    return store.delete(session=session, principal_id=principal_id, provider=PROVIDER)
