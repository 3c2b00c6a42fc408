"""Finding the principal a command acts for, and ending every way a principal is signed in
(deactivation; the web's "sign out everywhere" ends only the sessions)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.errors import NotFound
from services.store.models import ApiToken, Principal, WebSession, utcnow


class UnknownPrincipal(NotFound):
    """No Workmode user with that email."""


def principal_by_email(session: Session, email: str) -> Principal:
    found = session.exec(select(Principal).where(Principal.email == email.strip().lower())).first()
    if found is None:
        raise UnknownPrincipal(
            "user", email, "email",
            message=f"no Workmode user with email {email!r}; ask an admin to add you "
            "(or run `workmode demo` to seed the sandbox's people)",
        )
    return found


def cli_principal(session: Session, email: Optional[str]) -> Principal:
    from services.config import DEMO_EMAIL, get_settings

    return principal_by_email(session, email or get_settings().user_email or DEMO_EMAIL)


@dataclass(frozen=True)
class Revoked:
    sessions: int
    tokens: int


def revoke_principal_access(session: Session, principal_id: str) -> Revoked:
    """End every way a principal is signed in: all live web sessions and all API tokens
    (deactivation). The caller commits."""
    now = utcnow()
    sessions = session.exec(update(WebSession).where(col(WebSession.principal_id) == principal_id,
                                                     col(WebSession.revoked_at).is_(None))
                            .values(revoked_at=now)).rowcount
    tokens = session.exec(update(ApiToken).where(col(ApiToken.principal_id) == principal_id,
                                                 col(ApiToken.revoked_at).is_(None))
                          .values(revoked_at=now)).rowcount
    return Revoked(sessions=sessions, tokens=tokens)
