"""Store, load and delete a principal's credential for a provider (google, jira, slack).

Functions take the store session and do not commit: the caller owns the transaction. Saving only
stores: whoever makes a new grant (connect routes, OAuth callbacks, `workmode connect`) resumes the
jobs paused for it (services.agent.reconnect.resume_after_reconnect). Secrets are
returned as `Secret` mappings whose repr hides their values, so they cannot leak into logs by
accident.
"""
from __future__ import annotations

from typing import Any, Optional

from sqlmodel import Session, col, select

from services import audit
from services.config import get_settings
from services.credentials.crypto import CredentialError, decrypt, encrypt
from services.store.models import Credential, Principal, utcnow

PROVIDERS = ("google", "jira", "slack")

__all__ = ["PROVIDERS", "CredentialError", "Secret", "connections", "delete", "load", "save"]


class Secret(dict):
    """A credential's fields. `repr` and `str` never show values."""

    def __repr__(self) -> str:
        return f"Secret(fields={sorted(self)})"

    __str__ = __repr__


def _key() -> str:
    return get_settings().secret_key.get_secret_value()


def _row(session: Session, principal_id: str, provider: str) -> Optional[Credential]:
    return session.exec(
        select(Credential).where(Credential.principal_id == principal_id, Credential.provider == provider)
    ).first()


def save(*, session: Session, principal_id: str, provider: str, secret: dict[str, Any]) -> None:
    """Create or replace the credential (one per principal and provider)."""
    ciphertext = encrypt(_key(), principal_id=principal_id, provider=provider, secret=dict(secret))
    row = _row(session, principal_id, provider)
    if row is None:
        row = Credential(principal_id=principal_id, provider=provider, ciphertext=ciphertext)
        _audit(session, principal_id, provider, "connection_made")
    else:  # a refreshed or replaced grant of the same connection
        row.ciphertext, row.updated_at = ciphertext, utcnow()
    session.add(row)
    session.flush()


def load(*, session: Session, principal_id: str, provider: str) -> Optional[Secret]:
    """The decrypted credential, or None when there is none. Raises CredentialError if unreadable."""
    row = _row(session, principal_id, provider)
    if row is None:
        return None
    return Secret(decrypt(_key(), row.ciphertext, principal_id=principal_id, provider=provider))


def delete(*, session: Session, principal_id: str, provider: str) -> bool:
    row = _row(session, principal_id, provider)
    if row is None:
        return False
    session.delete(row)
    _audit(session, principal_id, provider, "connection_removed")
    session.flush()
    return True


def _audit(session: Session, principal_id: str, provider: str, kind: str) -> None:
    person = session.get(Principal, principal_id)
    if person is not None:
        audit.record(session, org_id=person.org_id, kind=kind, actor=person, subject=provider, provider=provider)


def connections(*, session: Session, principal_id: str) -> list[dict[str, Any]]:
    """Which providers a principal has connected (no secrets), for pages and the CLI."""
    rows = session.exec(select(Credential).where(Credential.principal_id == principal_id,
                                                 col(Credential.provider).in_(PROVIDERS)))
    return [{"provider": r.provider, "connected_at": r.created_at, "updated_at": r.updated_at}
            for r in sorted(rows, key=lambda r: r.provider)]
