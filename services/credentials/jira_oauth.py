"""Jira Cloud OAuth 2.0 (3LO): authorization URL, callback, and the rotating refresh of the token.

`start` stores a single-use pending record (nonce + PKCE verifier, encrypted like any credential,
provider "jira:oauth-pending") and returns Atlassian's consent URL with
`state = <principal id>.<nonce>` and an S256 code challenge. Atlassian documents `state` as the
CSRF protection; the PKCE parameters are sent too (an authorization server ignores parameters it
does not know, and enforces them where it does). `finish` checks the state (constant time, at most
10 minutes old, used once), exchanges the code, finds the Jira site among the accessible resources
(the one at WORKMODE_JIRA_URL's host when that is set), checks that the Atlassian account is the
principal's own where Jira shows its email, and stores `{url, oauth_token, refresh_token, expiry,
site_url, cloud_id}` encrypted as the principal's "jira" credential. Nothing in start/finish
commits: the caller does, also after an OAuthError (the pending record is consumed either way).

`fresh` is what the Jira connector calls: an access token about to expire (or just refused with a
401) is refreshed with the refresh token; Atlassian rotates refresh tokens, so the new pair is
written back at once in its own transaction. `invalid_grant` means the grant is gone (revoked, or
unused for 90 days): ReconnectRequired with the link to connect again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional
from urllib.parse import urlencode, urlsplit

import httpx
from pydantic import SecretStr
from sqlmodel import Session

from connectors.base import ReconnectRequired, ToolContext, ToolError, TransientError, checked_base_url
from services.config import Settings, get_settings
from services.credentials import oauth_state
from services.credentials import service as store
from services.credentials.crypto import CredentialError
from services.credentials.oauth_state import OAuthError
from services.store.models import Principal

PROVIDER = "jira"
PENDING = "jira:oauth-pending"
REFRESH_MARGIN_S = 60  # refresh a token that expires within this many seconds
SCOPES = ("read:jira-work", "write:jira-work", "read:jira-user", "offline_access")
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


def jira_oauth_config(settings: Optional[Settings] = None) -> JiraOAuthConfig:
    s = settings or get_settings()
    public = s.public_url.rstrip("/") if s.public_url else "http://127.0.0.1:8000"
    return JiraOAuthConfig(
        client_id=s.jira_client_id, client_secret=s.jira_client_secret,
        redirect_url=s.jira_redirect_url or public + CALLBACK_PATH, connect_url=public + CONNECT_PATH,
        auth_url=checked_base_url("WORKMODE_ATLASSIAN_AUTH_URL", s.atlassian_auth_url),
        api_url=checked_base_url("WORKMODE_ATLASSIAN_API_URL", s.atlassian_api_url),
        site_url=s.jira_url, timeout_s=s.jira_timeout_s)



# ---------------------------------------------------------------- connect
def start(*, session: Session, principal: Principal, cfg: Optional[JiraOAuthConfig] = None) -> str:
    """The URL to send the person to. Replaces any earlier unfinished attempt of theirs."""
    cfg = cfg or jira_oauth_config()
    cfg.require_client()
    state, verifier = oauth_state.begin(session=session, principal_id=principal.id, pending_provider=PENDING)
    params = {
        "audience": "api.atlassian.com", "client_id": cfg.client_id, "scope": " ".join(SCOPES),
        "redirect_uri": cfg.redirect_url, "state": state, "response_type": "code",
        "prompt": "consent", "code_challenge": oauth_state.challenge(verifier), "code_challenge_method": "S256",
    }
    return f"{cfg.authorize_url}?{urlencode(params)}"


def _token_request(cfg: JiraOAuthConfig, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    resp = httpx.post(cfg.token_url, timeout=cfg.timeout_s, json={
        **body, "client_id": cfg.client_id, "client_secret": cfg.client_secret.get_secret_value()})
    try:
        data = resp.json()
    except ValueError:
        data = {}
    return resp.status_code, data if isinstance(data, dict) else {}


def _why(status: int, body: dict[str, Any]) -> str:
    return str(body.get("error_description") or body.get("error") or f"HTTP {status}")


def _expiry(tokens: dict[str, Any]) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=int(tokens.get("expires_in", 3600)))).isoformat()


def _get_json(cfg: JiraOAuthConfig, url: str, token: str) -> Any:
    resp = httpx.get(url, timeout=cfg.timeout_s,
                     headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    if resp.status_code != 200:
        raise OAuthError(f"Atlassian answered HTTP {resp.status_code} to {url.split('?')[0]}; start again")
    return resp.json()


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _pick_site(cfg: JiraOAuthConfig, resources: Any) -> dict[str, Any]:
    sites = [r for r in resources if isinstance(r, dict) and r.get("id")] if isinstance(resources, list) else []
    if cfg.site_url:
        wanted = _host(cfg.site_url)
        for r in sites:
            if _host(str(r.get("url", ""))) == wanted:
                return r
        granted = ", ".join(str(r.get("url")) for r in sites) or "no site"
        raise OAuthError(f"access was granted to {granted}, but Workmode uses {cfg.site_url}; connect again and "
                         "choose that site on Atlassian's consent screen")
    for r in sites:
        if any("jira-work" in str(s) for s in r.get("scopes") or []):
            return r
    raise OAuthError("the Atlassian account granted access to no Jira site; connect again and choose one")


def finish(*, session: Session, state: str, code: str = "", error: str = "",
           cfg: Optional[JiraOAuthConfig] = None) -> dict[str, Any]:
    """Complete the flow for the principal named in `state`. Returns what was connected."""
    cfg = cfg or jira_oauth_config()
    cfg.require_client()
    principal_id, pending = oauth_state.consume(
        session=session, state=state, pending_provider=PENDING, service="Atlassian",
        restart=f"{CONNECT_PATH} (or `workmode connect jira --oauth`)")
    if error:
        raise OAuthError(f"Atlassian did not grant access ({error}); nothing was connected")
    if not code:
        raise OAuthError("Atlassian sent no authorization code; start again")
    try:
        status, tokens = _token_request(cfg, {"grant_type": "authorization_code", "code": code,
                                              "redirect_uri": cfg.redirect_url, "code_verifier": pending["verifier"]})
        if status != 200 or not tokens.get("access_token"):
            raise OAuthError(f"Atlassian refused the sign-in code ({_why(status, tokens)}); start again")
        if not tokens.get("refresh_token"):
            raise OAuthError("Atlassian returned no refresh token (is offline_access allowed for the app?); "
                             "connect again")
        site = _pick_site(cfg, _get_json(cfg, cfg.resources_url, tokens["access_token"]))
        url = f"{cfg.api_url}/ex/jira/{site['id']}"
        me = _get_json(cfg, url + "/rest/api/3/myself", tokens["access_token"])
    except httpx.HTTPError as exc:
        raise OAuthError(f"could not reach Atlassian to finish connecting ({type(exc).__name__}); try again") from None
    except ValueError:
        raise OAuthError("Atlassian's answer could not be read; start again") from None
    principal = session.get(Principal, principal_id)
    account = str((me or {}).get("emailAddress") or "").lower() if isinstance(me, dict) else ""
    # Like Google's account check: nobody attaches their Jira to someone else's Workmode account.
    # Where the profile hides the email, the state (bound to the principal, single use) is the guard.
    if principal is None or (account and account != principal.email.lower()):
        raise OAuthError(f"you signed in to Atlassian as {account}, but this Workmode account is "
                         f"{principal.email if principal else 'gone'}; sign in with that Atlassian account")
    store.save(session=session, principal_id=principal_id, provider=PROVIDER, secret={
        "url": url, "oauth_token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
        "expiry": _expiry(tokens), "site_url": str(site.get("url", "")), "cloud_id": str(site["id"]),
        "account_id": str((me or {}).get("accountId", "")) if isinstance(me, dict) else ""})
    return {"principal_id": principal_id, "site_url": str(site.get("url", "")), "url": url,
            "account": account or None, "scopes": sorted(str(tokens.get("scope", "")).split())}


# ---------------------------------------------------------------- refresh
def _expiring(secret: dict[str, Any]) -> bool:
    try:
        expiry = datetime.fromisoformat(str(secret.get("expiry")))
    except ValueError:
        return True
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=timezone.utc)
    return expiry - datetime.now(timezone.utc) < timedelta(seconds=REFRESH_MARGIN_S)


def fresh(ctx: ToolContext, secret: dict[str, Any], *, force: bool = False,
          cfg: Optional[JiraOAuthConfig] = None) -> dict[str, Any]:
    """The stored OAuth credential with an access token that is good for a while. `force`: the token
    in `secret` was just refused (401). A rotated pair is committed before this returns."""
    if not force and not _expiring(secret):
        return secret
    cfg = cfg or jira_oauth_config()
    reconnect = (f"Jira access has expired or was revoked; connect again at {cfg.connect_url} "
                 "(or run `workmode connect jira --oauth`), then try again")
    with Session(ctx.session.get_bind()) as s:
        try:  # the latest pair: another worker may have rotated it since `secret` was read
            current = dict(store.load(session=s, principal_id=ctx.principal_id, provider=PROVIDER) or {})
        except CredentialError as exc:
            raise ReconnectRequired(f"{exc}: {reconnect}") from None
        if not current.get("refresh_token"):
            raise ReconnectRequired(reconnect)
        if current.get("oauth_token") != secret.get("oauth_token") and not _expiring(current):
            return current
        cfg.require_client()
        try:
            status, tokens = _token_request(cfg, {"grant_type": "refresh_token",
                                                  "refresh_token": current["refresh_token"]})
        except httpx.HTTPError as exc:
            raise TransientError(
                f"could not reach Atlassian to refresh the Jira token ({type(exc).__name__})") from None
        if status in (400, 401, 403) and tokens.get("error") in ("invalid_grant", "unauthorized_client",
                                                                  "invalid_client"):
            raise ReconnectRequired(f"{reconnect} (Atlassian: {_why(status, tokens)})")
        if status != 200 or not tokens.get("access_token"):
            if status >= 500 or status == 429:
                raise TransientError(f"Atlassian failed to refresh the Jira token ({_why(status, tokens)})")
            raise ReconnectRequired(f"{reconnect} (Atlassian: {_why(status, tokens)})")
        updated = {**current, "oauth_token": tokens["access_token"], "expiry": _expiry(tokens),
                   "refresh_token": tokens.get("refresh_token") or current["refresh_token"]}
        store.save(session=s, principal_id=ctx.principal_id, provider=PROVIDER, secret=updated)
        s.commit()  # at once: the old refresh token is spent
    return updated
