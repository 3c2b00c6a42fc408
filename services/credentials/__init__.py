"""Credentials: principals' tokens for outside services, encrypted at rest, never logged.

Stored shapes (provider → fields):
  google: refresh_token, token, expiry, scopes, account   (written by the OAuth callback)
  jira:   url + email + api_token (Cloud) | url + pat (Data Center) | url + oauth_token (3LO)
  slack:  bot_token (xoxb-…), team (optional)
"""
from __future__ import annotations

from typing import Any, Optional

from sqlmodel import Session


def load_secret(*, session: Session, principal_id: str, provider: str) -> Optional[dict[str, Any]]:
    """A principal's decrypted credential for `provider`, or None. An unreadable one (secret key
    changed) raises ReconnectRequired so the job pauses and the person reconnects."""
    from services.credentials.access import unreadable
    from services.credentials.crypto import CredentialError
    from services.credentials.service import load

    try:
        return load(session=session, principal_id=principal_id, provider=provider)
    except CredentialError as exc:
        raise unreadable(exc, provider) from None
