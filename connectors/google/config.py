"""Google settings as the connectors use them: endpoints, the hosts they may talk to, scopes."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from connectors.base import ToolError, checked_base_url
from services.config import Settings, get_settings

# Minimal scopes: read/label/draft/send mail (gmail.modify covers them and nothing destructive),
# read and write events, free/busy of others; openid+email to learn which account was connected.
SCOPES = (
    "openid",
    "email",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
)
API_ROOTS = {"gmail": "https://gmail.googleapis.com/", "calendar": "https://www.googleapis.com/"}
AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
REVOKE_URL = "https://oauth2.googleapis.com/revoke"
CALLBACK_PATH = "/oauth/google/callback"
CONNECT_PATH = "/connect/google"


class GoogleNotConfigured(ToolError):
    kind = "not_configured"


@dataclass(frozen=True)
class GoogleConfig:
    client_id: str
    client_secret: SecretStr
    redirect_url: str
    connect_url: str
    api_roots: dict[str, str]
    auth_url: str
    token_url: str
    revoke_url: str
    timeout_s: float

    @property
    def allowed_hosts(self) -> frozenset[tuple[str, str]]:
        """(scheme, host:port) pairs the connectors may contact; anything else is refused."""
        urls = [*self.api_roots.values(), self.token_url, self.revoke_url]
        return frozenset((urlsplit(u).scheme, urlsplit(u).netloc) for u in urls)

    def api_endpoint(self, api: str, service_path: str) -> str:
        return self.api_roots[api] + service_path

    def require_client(self) -> None:
        if not self.client_id or not self.client_secret.get_secret_value():
            raise GoogleNotConfigured(
                "Google is not configured: set WORKMODE_GOOGLE_CLIENT_ID and WORKMODE_GOOGLE_CLIENT_SECRET "
                "(an OAuth client of type 'Web application' in the Google Cloud console)"
            )


def google_config(settings: Settings | None = None) -> GoogleConfig:
    s = settings or get_settings()
    public = s.public_url.rstrip("/") if getattr(s, "public_url", "") else "http://127.0.0.1:8000"
    redirect = s.google_redirect_url or public + CALLBACK_PATH
    if s.google_api_base_url:
        base = checked_base_url("WORKMODE_GOOGLE_API_BASE_URL", s.google_api_base_url) + "/"
        roots = dict.fromkeys(API_ROOTS, base)
        auth, token, revoke = base + "o/oauth2/v2/auth", base + "token", base + "revoke"
    else:
        roots, auth, token, revoke = dict(API_ROOTS), AUTH_URL, TOKEN_URL, REVOKE_URL
    return GoogleConfig(
        client_id=s.google_client_id, client_secret=s.google_client_secret, redirect_url=redirect,
        connect_url=public + CONNECT_PATH, api_roots=roots, auth_url=auth, token_url=token, revoke_url=revoke,
        timeout_s=s.google_timeout_s,
    )
