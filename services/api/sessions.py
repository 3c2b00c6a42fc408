"""Server-side web sessions. The signed cookie carries only a random session id; the store keeps
its SHA-256 with the principal, when it started, when it was last used, when it ends, and whether
it was revoked. A copied cookie is worth nothing once its session is revoked (sign-out, "sign out
everywhere", deactivation), past its absolute end (WORKMODE_SESSION_MAX_AGE_S after sign-in) or
idle for WORKMODE_SESSION_IDLE_TIMEOUT_S. Keyword-only functions that take the session."""
from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Optional

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.api.tokens import digest
from services.config import get_settings
from services.identity import Revoked, revoke_principal_access  # noqa: F401  (re-exported: deactivation lives in services.identity)
from services.store.models import Principal, WebSession, utcnow

LAST_SEEN_EVERY_S = 60  # write last_seen_at at most this often per session (idle timeout precision)
USER_AGENT_MAX = 200


def start_session(*, session: Session, principal: Principal, user_agent: str = "") -> tuple[WebSession, str]:
    """A new session for `principal`. Returns the row and the id for the cookie (never stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(principal_id=principal.id, token_hash=digest(token), user_agent=user_agent[:USER_AGENT_MAX],
                     created_at=now, last_seen_at=now,
                     expires_at=now + timedelta(seconds=get_settings().session_max_age_s))
    session.add(row)
    session.flush()
    return row, token


def principal_for_session(*, session: Session, token: str) -> Optional[Principal]:
    """Whom a live session belongs to; None when unknown, revoked, past its end or idle too long.
    Marks it seen (at most every LAST_SEEN_EVERY_S; committed at once, like API tokens' last use)."""
    row = session.exec(select(WebSession).where(WebSession.token_hash == digest(token))).first()
    now = utcnow()
    if row is None or not _live(row, now):
        return None
    if (now - _aware(row.last_seen_at)).total_seconds() > LAST_SEEN_EVERY_S:
        session.execute(update(WebSession).where(col(WebSession.id) == row.id).values(last_seen_at=now))
        session.commit()
    principal = session.get(Principal, row.principal_id)
    return principal if principal is not None and principal.active else None


def end_session(*, session: Session, token: str) -> bool:
    """Revoke the session with this cookie id (sign-out). False when there was none live."""
    return _revoke(session, col(WebSession.token_hash) == digest(token)) > 0


def revoke_sessions(*, session: Session, principal_id: str) -> int:
    """Revoke every live session of a principal ("sign out everywhere"); returns how many."""
    return _revoke(session, col(WebSession.principal_id) == principal_id)


def live_sessions(*, session: Session, principal: Principal) -> list[WebSession]:
    """A principal's live sessions, most recently used first (Settings lists them)."""
    now = utcnow()
    rows = session.exec(select(WebSession).where(WebSession.principal_id == principal.id,
                                                 col(WebSession.revoked_at).is_(None),
                                                 col(WebSession.expires_at) > now)
                        .order_by(col(WebSession.last_seen_at).desc()))
    return [r for r in rows if _live(r, now)]


def _revoke(session: Session, which) -> int:
    return session.exec(update(WebSession).where(which, col(WebSession.revoked_at).is_(None))
                        .values(revoked_at=utcnow())).rowcount


def _live(row: WebSession, now: datetime) -> bool:
    idle = timedelta(seconds=get_settings().session_idle_timeout_s)
    return row.revoked_at is None and _aware(row.expires_at) > now and _aware(row.last_seen_at) + idle > now


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
