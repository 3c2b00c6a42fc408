"""Finding the principal a command acts for."""
from __future__ import annotations

from typing import Optional

from sqlmodel import Session, select

from services.errors import NotFound
from services.store.models import Principal


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
