"""The credential store as a connector reaches it: `StoredCredentials` implements
`connectors.base.CredentialAccess` for one principal, and `tool_context` builds the ToolContext
that carries it (the engine and tests build every context for a real connector with it)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from connectors.base import CredentialUnreadable, ToolContext
from services.credentials import service
from services.credentials.crypto import CredentialError


def unreadable(exc: CredentialError, provider: str) -> CredentialUnreadable:
    """The ReconnectRequired for a credential that cannot be decrypted (secret key changed)."""
    return CredentialUnreadable(f"{exc} with `workmode connect {provider}`", reason=str(exc))


class StoredCredentials:
    """One principal's stored credentials. Each call uses its own short session on the bind of
    `session` (the tool's), so a read sees the latest committed grant (another worker may have
    rotated it) and a write commits at once, whatever the tool's transaction then does. Saving a
    refreshed token resumes nothing: only a new grant does (services.agent.reconnect)."""

    def __init__(self, session: Session, principal_id: str):
        self._session = session
        self.principal_id = principal_id

    def load(self, provider: str) -> dict[str, Any] | None:
        with Session(self._session.get_bind()) as s:
            try:
                return service.load(session=s, principal_id=self.principal_id, provider=provider)
            except CredentialError as exc:
                raise unreadable(exc, provider) from None

    def save(self, provider: str, secret: dict[str, Any]) -> None:
        with Session(self._session.get_bind()) as s:
            service.save(session=s, principal_id=self.principal_id, provider=provider, secret=secret)
            s.commit()


def tool_context(session: Session, *, principal_id: str, principal_email: str, org_id: str,
                 time_zone: str = "UTC", job_id: str | None = None,
                 action_id: str | None = None, executing_since: datetime | None = None) -> ToolContext:
    """A ToolContext whose `credentials` are the principal's stored ones."""
    return ToolContext(session=session, principal_id=principal_id, principal_email=principal_email,
                       org_id=org_id, time_zone=time_zone, job_id=job_id, action_id=action_id,
                       credentials=StoredCredentials(session, principal_id), executing_since=executing_since)
