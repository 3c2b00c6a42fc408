"""Seed the sandbox world: the organisation "Northwind Labs", its people, mail, calendars, tickets, chat.

`seed_workspace(session, now=...)` is idempotent (an existing organisation is returned as is) and
does not commit: the caller commits (e.g. inside `services.store.db.session_scope()`). Dates are
relative to `now`, so the demo is always current.

People (DEMO_EMAIL is the demo user):
  Alex Morgan  alex@northwind.example   Europe/London     U0ALEX   approver
  Dana Kim     dana@northwind.example   America/New_York  U0DANA   approver
  Priya Shah   priya@northwind.example  Europe/London     U0PRIYA
  Sam Rivera   sam@northwind.example    America/New_York  U0SAM
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Optional

from sqlmodel import Session, select

from connectors.sandbox import fixture
from connectors.sandbox.fixture_data import ORG_DOMAINS, ORG_NAME, PEOPLE
from connectors.sandbox.fixture_mail import INJECTION_SENDER, INJECTION_TARGET
from services.config import DEMO_EMAIL
from services.store.models import Organisation, Principal, utcnow

__all__ = ["DEMO_EMAIL", "INJECTION_SENDER", "INJECTION_TARGET", "ORG_NAME", "find_workspace", "seed_workspace"]


def find_workspace(session: Session) -> Optional[Organisation]:
    return session.exec(select(Organisation).where(Organisation.name == ORG_NAME)).first()


def seed_workspace(session: Session, *, now: Optional[datetime] = None) -> Organisation:
    """Create the demo organisation and its world (or return it if it exists). Flushes, never commits."""
    existing = find_workspace(session)
    if existing is not None:
        return existing
    now = now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)

    org = Organisation(name=ORG_NAME, domains=list(ORG_DOMAINS),
                       policy={"approvers": [email for email, *_rest, roles in PEOPLE if "approver" in roles]})
    session.add(org)
    session.flush()
    session.add_all(Principal(org_id=org.id, email=email, name=name, time_zone=tz, slack_user_id=slack,
                              roles=list(roles)) for email, name, tz, slack, roles in PEOPLE)
    session.flush()

    # Mail: threads before their messages.
    threads = fixture.mail(org.id, now)
    session.add_all(t for t, _msgs in threads)
    session.flush()
    session.add_all(m for _t, msgs in threads for m in msgs)

    session.add_all(fixture.events(org.id, now))

    # Tickets: project, workflow, issues, comments.
    project = fixture.project(org.id)
    session.add(project)
    session.flush()
    session.add_all(fixture.transitions(project.id))
    issues = fixture.tickets(org.id, project, now)
    session.add_all(i for i, _comments in issues)
    session.flush()
    session.add_all(c for _i, comments in issues for c in comments)

    # Chat: channels before messages.
    session.add_all(fixture.channels(org.id, now))
    session.flush()
    session.add_all(fixture.chat(org.id, now))
    session.flush()
    return org
