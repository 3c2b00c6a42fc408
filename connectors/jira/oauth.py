"""Jira Cloud OAuth 2.0 (3LO) at tool time: the OAuth client's settings, Atlassian's token
endpoint, and the rotating refresh of a stored grant.

`fresh` is what the Jira connector calls: an access token about to expire (or just refused with a
401) is refreshed with the refresh token; Atlassian rotates refresh tokens, so the new pair is
written back at once through `ctx.credentials.save` (its own transaction). `invalid_grant` means
the grant is gone (revoked, or unused for 90 days): ReconnectRequired with the link to connect
again. Connecting (authorize URL, callback, PKCE state) is services/credentials/jira_oauth.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.base import (
    CredentialUnreadable,
    ReconnectRequired,
    ToolContext,
    ToolError,
    TransientError,
    checked_base_url,
)
from services.config import Settings, get_settings

PROVIDER = "jira"
REFRESH_MARGIN_S = 60  # refresh a token that expires within this many seconds
CONNECT_PATH = "/connect/jira/oauth"
CALLBACK_PATH = "/oauth/jira/callback"


class JiraNotConfigured(ToolError):
    kind = "not_configured"


@dataclass(frozen=True)
class JiraOAuthConfig:
    client_id: str
    client_secret: SecretStr
    redirect_url: str
    connect_url: str
    auth_url: str  # https://auth.atlassian.com
    api_url: str  # https://api.atlassian.com
    site_url: str  # WORKMODE_JIRA_URL: which site to pick when the grant covers several
    timeout_s: float

    @property
    def authorize_url(self) -> str:
        return self.auth_url + "/authorize"

    @property
    def token_url(self) -> str:
        return self.auth_url + "/oauth/token"

    @property
    def resources_url(self) -> str:
        return self.api_url + "/oauth/token/accessible-resources"

    def require_client(self) -> None:
        if not self.client_id or not self.client_secret.get_secret_value():
            raise JiraNotConfigured(
                "Jira OAuth is not configured: set WORKMODE_JIRA_CLIENT_ID and WORKMODE_JIRA_CLIENT_SECRET (an "
                "OAuth 2.0 integration at developer.atlassian.com/console), or connect with an API token: "
                "`workmode connect jira --url ... --email ...`")


def jira_oauth_config(settings: Settings | None = None) -> JiraOAuthConfig:
    s = settings or get_settings()
    public = s.public_url.rstrip("/") if s.public_url else "http://127.0.0.1:8000"
    return JiraOAuthConfig(
        client_id=s.jira_client_id, client_secret=s.jira_client_secret,
        redirect_url=s.jira_redirect_url or public + CALLBACK_PATH, connect_url=public + CONNECT_PATH,
        auth_url=checked_base_url("WORKMODE_ATLASSIAN_AUTH_URL", s.atlassian_auth_url),
        api_url=checked_base_url("WORKMODE_ATLASSIAN_API_URL", s.atlassian_api_url),
        site_url=s.jira_url, timeout_s=s.jira_timeout_s)


# ---------------------------------------------------------------- Atlassian's token endpoint
def token_request(cfg: JiraOAuthConfig, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    resp = httpx.post(cfg.token_url, timeout=cfg.timeout_s, json={
        **body, "client_id": cfg.client_id, "client_secret": cfg.client_secret.get_secret_value()})
    try:
        data = resp.json()
    except ValueError:
        data = {}
    return resp.status_code, data if isinstance(data, dict) else {}


def why(status: int, body: dict[str, Any]) -> str:
    return str(body.get("error_description") or body.get("error") or f"HTTP {status}")


def expiry(tokens: dict[str, Any]) -> str:
    return (datetime.now(UTC) + timedelta(seconds=int(tokens.get("expires_in", 3600)))).isoformat()


# ---------------------------------------------------------------- refresh
def _expiring(secret: dict[str, Any]) -> bool:
    try:
        expires = datetime.fromisoformat(str(secret.get("expiry")))
    except ValueError:
        return True
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return expires - datetime.now(UTC) < timedelta(seconds=REFRESH_MARGIN_S)


def fresh(ctx: ToolContext, secret: dict[str, Any], *, force: bool = False,
          cfg: JiraOAuthConfig | None = None) -> dict[str, Any]:
    """The stored OAuth credential with an access token that is good for a while. `force`: the token
    in `secret` was just refused (401). A rotated pair is committed before this returns."""
    if not force and not _expiring(secret):
        return secret
    cfg = cfg or jira_oauth_config()
    reconnect = (f"Jira access has expired or was revoked; connect again at {cfg.connect_url} "
                 "(or run `workmode connect jira --oauth`), then try again")
    if ctx.credentials is None:
        raise ReconnectRequired(reconnect)
    try:  # the latest pair: another worker may have rotated it since `secret` was read
        current = dict(ctx.credentials.load(PROVIDER) or {})
    except CredentialUnreadable as exc:
        raise ReconnectRequired(f"{exc.reason}: {reconnect}") from None
    if not current.get("refresh_token"):
        raise ReconnectRequired(reconnect)
    if current.get("oauth_token") != secret.get("oauth_token") and not _expiring(current):
        return current
    cfg.require_client()
    try:
        status, tokens = token_request(cfg, {"grant_type": "refresh_token", "refresh_token": current["refresh_token"]})
    except httpx.HTTPError as exc:
        raise TransientError(f"could not reach Atlassian to refresh the Jira token ({type(exc).__name__})") from None
    if status in (400, 401, 403) and tokens.get("error") in ("invalid_grant", "unauthorized_client",
                                                              "invalid_client"):
        raise ReconnectRequired(f"{reconnect} (Atlassian: {why(status, tokens)})")
    if status != 200 or not tokens.get("access_token"):
        if status >= 500 or status == 429:
            raise TransientError(f"Atlassian failed to refresh the Jira token ({why(status, tokens)})")
        raise ReconnectRequired(f"{reconnect} (Atlassian: {why(status, tokens)})")
    updated = {**current, "oauth_token": tokens["access_token"], "expiry": expiry(tokens),
               "refresh_token": tokens.get("refresh_token") or current["refresh_token"]}
    ctx.credentials.save(PROVIDER, updated)  # committed at once: the old refresh token is spent
    return updated
