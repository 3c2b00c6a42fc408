"""A principal's Google session: stored OAuth grant → google-auth Credentials → API clients.

The grant comes from `ctx.credentials` (the credential store, passed in by the engine).
google-auth refreshes the access token when it has expired (and once more on a 401); a refreshed
token is written back through `ctx.credentials.save`, in its own short transaction so it survives
whatever the tool's transaction does. A missing, unreadable, revoked or expired grant raises
ReconnectRequired with the link to reconnect.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Optional

from google.oauth2.credentials import Credentials

from connectors.base import CredentialUnreadable, ReconnectRequired, ToolContext
from connectors.google import errors
from connectors.google.client import build_service
from connectors.google.config import GoogleConfig, google_config

PROVIDER = "google"


def _naive_utc(value: Optional[str]) -> Optional[datetime]:
    if not value:
        return None
    dt = datetime.fromisoformat(value)
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


def credentials_from_secret(secret: dict[str, Any], cfg: GoogleConfig) -> Credentials:
    return Credentials(
        token=secret.get("token"), refresh_token=secret.get("refresh_token"), token_uri=cfg.token_url,
        client_id=cfg.client_id, client_secret=cfg.client_secret.get_secret_value(),
        scopes=secret.get("scopes") or None, expiry=_naive_utc(secret.get("expiry")),
    )


def secret_from_credentials(creds: Credentials, base: dict[str, Any]) -> dict[str, Any]:
    expiry = creds.expiry.replace(tzinfo=UTC).isoformat() if creds.expiry else None
    return {**base, "token": creds.token, "refresh_token": creds.refresh_token or base.get("refresh_token"),
            "expiry": expiry}


class GoogleSession:
    """Clients for one principal. Use `call(request, what)` for every request."""

    def __init__(self, ctx: ToolContext, cfg: Optional[GoogleConfig] = None):
        self.cfg = cfg or google_config()
        self.cfg.require_client()
        self.ctx = ctx
        store = ctx.credentials
        try:
            secret = store.load(PROVIDER) if store is not None else None
        except CredentialUnreadable as exc:
            raise ReconnectRequired(errors.reconnect_message(self.cfg.connect_url, exc.reason)) from None
        if store is None or secret is None or not secret.get("refresh_token"):
            raise ReconnectRequired(
                f"{ctx.principal_email} has not connected a Google account. Connect it at {self.cfg.connect_url} "
                "(or run `workmode connect google`), then try again."
            )
        self._store = store
        self._secret = dict(secret)
        self.account = secret.get("account") or ctx.principal_email
        self.credentials = credentials_from_secret(secret, self.cfg)
        self._services: dict[str, Any] = {}

    def service(self, api: str) -> Any:
        if api not in self._services:
            self._services[api] = build_service(api, self.credentials, self.cfg)
        return self._services[api]

    @property
    def gmail(self) -> Any:
        return self.service("gmail").users()

    @property
    def calendar(self) -> Any:
        return self.service("calendar")

    def call(self, request: Any, what: str) -> dict:
        try:
            return errors.call(request, what=what, connect_url=self.cfg.connect_url)
        finally:
            self._save_if_refreshed()

    def pages(self, make_request, what: str, max_pages: int = errors.MAX_PAGES):
        try:
            yield from errors.pages(make_request, what=what, connect_url=self.cfg.connect_url, max_pages=max_pages)
        finally:
            self._save_if_refreshed()

    def _save_if_refreshed(self) -> None:
        refresh = self.credentials.refresh_token or self._secret.get("refresh_token")
        if self.credentials.token == self._secret.get("token") and refresh == self._secret.get("refresh_token"):
            return
        self._secret = secret_from_credentials(self.credentials, self._secret)
        self._store.save(PROVIDER, self._secret)
