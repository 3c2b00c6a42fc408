"""Just-in-time members: when an organisation switched it on (policy "jit_sign_in", off by
default), a first OpenID Connect sign-in with a verified email in one of its domains creates a
member. The caller has checked that the identity provider vouched for the email."""
from __future__ import annotations

from typing import Optional

from sqlmodel import Session, select

from services import policy
from services.admin.people import add_person
from services.store.models import Organisation, Principal


def member_for(*, session: Session, email: str, name: str = "") -> Optional[Principal]:
    """The new member for a verified `email`, or None when no organisation with JIT sign-in on owns
    its domain. The caller commits."""
    email = email.strip().lower()
    at = email.rsplit("@", 1)[-1]
    for org in session.exec(select(Organisation)):
        if at in set(org.domains or []) and policy.jit_sign_in(org):
            return add_person(session=session, org=org, email=email, name=name, by="oidc", via="jit")
    return None
