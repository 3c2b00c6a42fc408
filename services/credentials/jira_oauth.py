"""Connecting Jira Cloud with OAuth 2.0 (3LO): authorization URL and callback.

`start` stores a single-use pending record (nonce + PKCE verifier, encrypted like any credential,
provider "jira:oauth-pending") and returns Atlassian's consent URL with
`state = <principal id>.<nonce>` and an S256 code challenge. Atlassian documents `state` as the
CSRF protection; the PKCE parameters are sent too (an authorization server ignores parameters it
does not know, and enforces them where it does). `finish` checks the state (constant time, at most
10 minutes old, used once), exchanges the code, finds the Jira site among the accessible resources
(the one at WORKMODE_JIRA_URL's host when that is set), checks that the Atlassian account is the
principal's own where Jira shows its email, and stores `{url, oauth_token, refresh_token, expiry,
site_url, cloud_id}` encrypted as the principal's "jira" credential. Nothing in start/finish
commits: the caller does, also after an OAuthError (the pending record is consumed either way),
and the caller resumes the jobs paused for a reconnect.

A flow started from a browser is bound to it: `start(browser=...)` keeps the SHA-256 of a random
value the web route also sets as a cookie, and `finish` refuses the state unless the same value
comes back (`browser=`) from the browser that finishes. So a consent URL started by one person
cannot be completed in someone else's browser (who would attach their Atlassian account to the
starter's Workmode account where Jira hides the email). A flow started from the CLI has no
browser to bind to; its single-use state and the account check guard it as before.

The OAuth client's settings and the refresh at tool time are the Jira connector's
(connectors/jira/oauth.py).
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any, Optional
from urllib.parse import urlencode, urlsplit

import httpx
from sqlmodel import Session

from connectors.jira.oauth import (  # noqa: F401  (the connect flow's names, re-exported for callers)
    CALLBACK_PATH,
    CONNECT_PATH,
    PROVIDER,
    JiraNotConfigured,
    JiraOAuthConfig,
    expiry,
    jira_oauth_config,
    token_request,
    why,
)
from services.credentials import oauth_state
from services.credentials import service as store
from services.credentials.oauth_state import OAuthError
from services.store.models import Principal

PENDING = "jira:oauth-pending"
SCOPES = ("read:jira-work", "write:jira-work", "read:jira-user", "offline_access")


# ---------------------------------------------------------------- connect
def _digest(browser: str) -> str:
    return hashlib.sha256(browser.encode()).hexdigest()


def start(*, session: Session, principal: Principal, cfg: Optional[JiraOAuthConfig] = None,
          browser: Optional[str] = None) -> str:
    """The URL to send the person to. Replaces any earlier unfinished attempt of theirs. With
    `browser` (a random value the caller also gives that browser), only it can finish the flow."""
    cfg = cfg or jira_oauth_config()
    cfg.require_client()
    state, verifier = oauth_state.begin(session=session, principal_id=principal.id, pending_provider=PENDING)
    if browser:
        pending: dict[str, Any] = dict(store.load(session=session, principal_id=principal.id, provider=PENDING) or {})
        store.save(session=session, principal_id=principal.id, provider=PENDING,
                   secret={**pending, "browser": _digest(browser)})
    params = {
        "audience": "api.atlassian.com", "client_id": cfg.client_id, "scope": " ".join(SCOPES),
        "redirect_uri": cfg.redirect_url, "state": state, "response_type": "code",
        "prompt": "consent", "code_challenge": oauth_state.challenge(verifier), "code_challenge_method": "S256",
    }
    return f"{cfg.authorize_url}?{urlencode(params)}"


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
           cfg: Optional[JiraOAuthConfig] = None, browser: Optional[str] = None) -> dict[str, Any]:
    """Complete the flow for the principal named in `state`. Returns what was connected.
    `browser`: the value the finishing browser sent back (see `start`)."""
    cfg = cfg or jira_oauth_config()
    cfg.require_client()
    principal_id, pending = oauth_state.consume(
        session=session, state=state, pending_provider=PENDING, service="Atlassian",
        restart=f"{CONNECT_PATH} (or `workmode connect jira --oauth`)")
    bound = pending.get("browser")
    if bound and not hmac.compare_digest(str(bound), _digest(browser or "")):
        raise OAuthError(f"this Jira sign-in was started in another browser session; start again from "
                         f"{CONNECT_PATH} in this browser")
    if error:
        raise OAuthError(f"Atlassian did not grant access ({error}); nothing was connected")
    if not code:
        raise OAuthError("Atlassian sent no authorization code; start again")
    try:
        status, tokens = token_request(cfg, {"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": cfg.redirect_url, "code_verifier": pending["verifier"]})
        if status != 200 or not tokens.get("access_token"):
            raise OAuthError(f"Atlassian refused the sign-in code ({why(status, tokens)}); start again")
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
        "expiry": expiry(tokens), "site_url": str(site.get("url", "")), "cloud_id": str(site["id"]),
        "account_id": str((me or {}).get("accountId", "")) if isinstance(me, dict) else ""})
    return {"principal_id": principal_id, "site_url": str(site.get("url", "")), "url": url,
            "account": account or None, "scopes": sorted(str(tokens.get("scope", "")).split())}
