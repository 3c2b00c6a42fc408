"""How to reach a Jira site: its URL and one way to sign in. Secrets stay `SecretStr` until
`client.py` builds the client.

Cloud: email + API token (basic auth), or an OAuth 2.0 (3LO) access token with the URL
`https://api.atlassian.com/ex/jira/<cloud id>`. Data Center: a personal access token (Bearer).
A person's own connection (the credential store, provider "jira") wins over the site-wide
account in the settings.
"""
from __future__ import annotations

from typing import Any, Literal, Optional
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr, ValidationError, field_validator, model_validator

from connectors.base import ReconnectRequired, ToolContext
from connectors.jira import oauth
from services.config import get_settings

PROVIDER = "jira"


class JiraConfig(BaseModel):
    url: str
    email: str = ""
    api_token: Optional[SecretStr] = None  # Cloud, with email
    pat: Optional[SecretStr] = None  # Data Center personal access token
    oauth_token: Optional[SecretStr] = None  # Cloud OAuth 2.0 (3LO) access token
    timeout_s: float = 30.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        parts = urlsplit(v.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Jira URL {v!r} must look like https://acme.atlassian.net")
        return v.strip().rstrip("/")

    @model_validator(mode="after")
    def _one_way_in(self) -> JiraConfig:
        given = [k for k in ("api_token", "pat", "oauth_token") if _has(getattr(self, k))]
        if len(given) != 1:
            raise ValueError("Jira needs exactly one of: email + API token (Cloud), a personal access token "
                             "(Data Center), or an OAuth access token")
        if given == ["api_token"] and not self.email:
            raise ValueError("a Jira API token needs the account's email")
        return self

    @property
    def auth(self) -> Literal["basic", "pat", "oauth"]:
        return "basic" if _has(self.api_token) else "pat" if _has(self.pat) else "oauth"

    @property
    def origin(self) -> str:
        """scheme://host[:port]: the only place this connector sends requests."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}".lower()


def _has(secret: Optional[SecretStr]) -> bool:
    return secret is not None and bool(secret.get_secret_value())


def load_config(ctx: ToolContext, *, refresh: bool = False) -> JiraConfig:
    """The principal's own Jira connection if they made one, else the site-wide account. An OAuth
    connection's access token is refreshed when it is about to expire (or `refresh`: it was refused)."""
    settings = get_settings()
    stored = stored_credential(ctx, PROVIDER)
    if stored and stored.get("refresh_token"):  # OAuth 2.0 (3LO), `workmode connect jira --oauth`
        stored = oauth.fresh(ctx, stored, force=refresh)
    try:
        if stored:  # {"url", "email" + "api_token" | "pat" | "oauth_token" (+ "refresh_token", ...)}
            return JiraConfig(**{"timeout_s": settings.jira_timeout_s, "url": settings.jira_url, **stored})
        if not settings.jira_url:
            raise ReconnectRequired("Jira is not connected: connect it with `workmode connect jira` "
                                    "(or set WORKMODE_JIRA_URL and an account for the whole site)")
        return JiraConfig(url=settings.jira_url, email=settings.jira_email, api_token=settings.jira_api_token,
                          pat=settings.jira_pat, timeout_s=settings.jira_timeout_s)
    except ValidationError as exc:  # only the messages: the input holds the secrets
        where = "your Jira connection" if stored else "the WORKMODE_JIRA_* settings"
        raise ReconnectRequired(f"{where} cannot be used ({problems(exc)}); reconnect with "
                                "`workmode connect jira`") from None


def problems(exc: ValidationError) -> str:
    return "; ".join(e["msg"] for e in exc.errors())


def stored_credential(ctx: ToolContext, provider: str) -> Optional[dict[str, Any]]:
    """The principal's decrypted credential for `provider` (`workmode connect {provider}`), or None.
    An unreadable one raises ReconnectRequired."""
    if ctx.credentials is None:
        return None
    return ctx.credentials.load(provider)
