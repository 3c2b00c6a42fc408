"""Personal API tokens (Bearer) and one-time sign-in links. Both are random secrets that are
shown once and stored only as their SHA-256; keyword-only functions that take the session, the
caller commits.

Every API token expires (WORKMODE_API_TOKEN_DEFAULT_DAYS unless asked otherwise, at most
WORKMODE_API_TOKEN_MAX_DAYS) and has a scope: "read-only" (reads only) or "read-write"."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Optional, get_args

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.config import get_settings
from services.errors import Forbidden, Invalid, NotFound, WorkmodeError
from services.store.models import ApiToken, LoginLink, Principal, utcnow

API_TOKEN_PREFIX = "wm_"
TokenScope = Literal["read-only", "read-write"]
TOKEN_SCOPES: tuple[str, ...] = get_args(TokenScope)
LAST_USED_EVERY_S = 60  # write last_used_at at most this often per token


class TokenError(WorkmodeError, ValueError):
    """A refusal about tokens or sign-in links: catch it to catch any of the kinds below."""


class InvalidTokenName(TokenError, Invalid):
    """The token's name is missing or too long."""


class InvalidTokenOption(TokenError, Invalid):
    """An expiry or scope a token may not have."""


class TokenNotFound(TokenError, NotFound):
    def __init__(self, token_id: str):
        super().__init__("token", token_id, "token_id", message=f"no token {token_id} of yours")


class LoginLinksOff(TokenError, Forbidden):
    """Sign-in links are switched off here."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ------------------------------------------------------------------ personal API tokens
def create_api_token(*, session: Session, principal: Principal, name: str, expires_days: Optional[int] = None,
                     scope: str = "read-write") -> tuple[ApiToken, str]:
    """A new token for `principal`, valid for `expires_days` (default: the configured default).
    Returns the row and the token itself (shown once, never stored)."""
    name = (name or "").strip()
    if not name:
        raise InvalidTokenName("name: give the token a name, e.g. 'laptop script'", field="name")
    if len(name) > 100:
        raise InvalidTokenName("name: at most 100 characters", field="name")
    s = get_settings()
    days = s.api_token_default_days if expires_days is None else expires_days
    if not 1 <= days <= s.api_token_max_days:
        raise InvalidTokenOption(f"expires_days: between 1 and {s.api_token_max_days} days "
                                 "(WORKMODE_API_TOKEN_MAX_DAYS)", field="expires_days")
    if scope not in TOKEN_SCOPES:
        raise InvalidTokenOption(f"scope: one of {', '.join(TOKEN_SCOPES)}", field="scope")
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(principal_id=principal.id, name=name, token_hash=digest(token), prefix=token[:10],
                   created_at=now, expires_at=now + timedelta(days=days), scope=scope)
    session.add(row)
    session.flush()
    return row, token


def list_api_tokens(*, session: Session, principal: Principal) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.principal_id == principal.id).order_by(col(ApiToken.created_at).desc())
    return list(session.exec(stmt))


def revoke_api_token(*, session: Session, principal: Principal, token_id: str) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or row.principal_id != principal.id:
        raise TokenNotFound(token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
    return row


def revoke_all_api_tokens(*, session: Session, principal_id: str) -> int:
    """Revoke every live token of a principal; returns how many."""
    return session.exec(
        update(ApiToken).where(col(ApiToken.principal_id) == principal_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    ).rowcount


@dataclass(frozen=True)
class TokenCheck:
    """What a presented token is worth: the principal and scope, or why it is refused."""

    principal: Optional[Principal] = None
    scope: str = "read-only"
    refusal: str = ""

    @property
    def read_only(self) -> bool:
        return self.scope != "read-write"


def check_api_token(*, session: Session, token: str) -> TokenCheck:
    """Whom a live token belongs to, and its scope; or the refusal (unknown, revoked, expired)."""
    unknown = TokenCheck(refusal="invalid or revoked API token")
    if not token.startswith(API_TOKEN_PREFIX):
        return unknown
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest(token))).first()
    if row is None or row.revoked_at is not None:
        return unknown
    now = utcnow()
    if _aware(row.expires_at) <= now:
        return TokenCheck(refusal=f"API token expired on {_aware(row.expires_at):%Y-%m-%d}: create a new one")
    principal = session.get(Principal, row.principal_id)
    if principal is None or not principal.active:
        return unknown
    if row.last_used_at is None or (now - _aware(row.last_used_at)).total_seconds() > LAST_USED_EVERY_S:
        session.execute(update(ApiToken).where(col(ApiToken.id) == row.id).values(last_used_at=now))
        session.commit()
    return TokenCheck(principal=principal, scope=row.scope)


def principal_for_api_token(*, session: Session, token: str) -> Optional[Principal]:
    """The principal a live token belongs to, or None (unknown, revoked or expired)."""
    return check_api_token(session=session, token=token).principal


# ------------------------------------------------------------------ one-time sign-in links
def login_links_enabled() -> bool:
    s = get_settings()
    return s.login_links if s.login_links is not None else s.environment != "production"


def create_login_link(*, session: Session, principal: Principal) -> tuple[LoginLink, str]:
    if not login_links_enabled():
        raise LoginLinksOff("sign-in links are off (WORKMODE_LOGIN_LINKS=false, or production); use OpenID Connect")
    token = secrets.token_urlsafe(32)
    ttl = get_settings().login_link_ttl_s
    row = LoginLink(principal_id=principal.id, token_hash=digest(token), expires_at=utcnow() + timedelta(seconds=ttl))
    session.add(row)
    session.flush()
    return row, token


def login_link_url(token: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}/login/link/{token}"


def peek_login_link(*, session: Session, token: str) -> Optional[Principal]:
    """Whom an unused, unexpired link signs in (without using it up)."""
    if not login_links_enabled():
        return None
    row = session.exec(select(LoginLink).where(LoginLink.token_hash == digest(token))).first()
    if row is None or row.used_at is not None or _aware(row.expires_at) <= utcnow():
        return None
    return _active(session.get(Principal, row.principal_id))


def use_login_link(*, session: Session, token: str) -> Optional[Principal]:
    """Use the link up (atomically: a second use, even at the same moment, gets None)."""
    if not login_links_enabled():
        return None
    now = utcnow()
    row = session.exec(select(LoginLink).where(LoginLink.token_hash == digest(token))).first()
    if row is None:
        return None
    won = session.exec(
        update(LoginLink)
        .where(col(LoginLink.id) == row.id, col(LoginLink.used_at).is_(None), col(LoginLink.expires_at) > now)
        .values(used_at=now)
    ).rowcount
    if won != 1:
        session.rollback()
        return None
    return _active(session.get(Principal, row.principal_id))


def _active(principal: Optional[Principal]) -> Optional[Principal]:
    """A deactivated person signs in with nothing."""
    return principal if principal is not None and principal.active else None


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
