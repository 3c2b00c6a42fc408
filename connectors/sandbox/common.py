"""Helpers the sandbox tools share: the applied-effect ledger, times, addresses, paging."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from connectors.base import ToolContext, ToolError, ToolResult
from connectors.sandbox.models import SandboxEffect
from services.store.models import Principal

_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


# ---------------------------------------------------------------- effect ledger
def find_effect(session: Session, org_id: str, action_id: Optional[str]) -> Optional[dict]:
    if not action_id:
        return None
    row = session.exec(
        select(SandboxEffect).where(SandboxEffect.action_id == action_id, SandboxEffect.org_id == org_id)
    ).first()
    return dict(row.result) if row is not None else None


def replay(ctx: ToolContext) -> Optional[ToolResult]:
    """If this action was already applied, the recorded result (a write never applies twice)."""
    done = find_effect(ctx.session, ctx.org_id, ctx.action_id)
    return ToolResult(done) if done is not None else None


def applied(ctx: ToolContext, tool: str, result: dict[str, Any]) -> ToolResult:
    """Record the effect in the same transaction as the change (no commit: the engine commits)."""
    if ctx.action_id:
        ctx.session.add(SandboxEffect(org_id=ctx.org_id, action_id=ctx.action_id, tool=tool, result=result))
    ctx.session.flush()
    return ToolResult(result)


def verify_effect(ctx: ToolContext, args: Any, action_id: str) -> Optional[dict]:
    """Every sandbox write records its effect: the recorded result, or None if it never happened."""
    return find_effect(ctx.session, ctx.org_id, action_id)


# ---------------------------------------------------------------- times
def zone(name: Optional[str]) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone {name!r}") from None


def parse_time(value: str | datetime, tz: str, field: str = "time") -> datetime:
    """ISO 8601 (date or date-time). Naive values mean the principal's time zone `tz`."""
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ToolError(f"{field}: {value!r} is not an ISO 8601 date-time (e.g. 2025-03-04T14:30:00)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone(tz))
    return dt


def local_iso(dt: datetime, tz: str) -> str:
    return dt.astimezone(zone(tz)).isoformat(timespec="minutes")


# ---------------------------------------------------------------- addresses and people
def check_emails(values: list[str], field: str) -> list[str]:
    out = []
    for value in values:
        v = value.strip().lower()
        if not _EMAIL.match(v):
            raise ToolError(f"{field}: {value!r} is not an email address")
        if v not in out:
            out.append(v)
    return out


def principal_by_email(session: Session, org_id: str, email: str) -> Optional[Principal]:
    return session.exec(
        select(Principal).where(Principal.org_id == org_id, Principal.email == email.strip().lower())
    ).first()


def org_principals(session: Session, org_id: str) -> dict[str, Principal]:
    return {p.email: p for p in session.exec(select(Principal).where(Principal.org_id == org_id))}


# ---------------------------------------------------------------- paging
def page_offset(token: Optional[str], field: str = "page_token") -> int:
    if token in (None, ""):
        return 0
    try:
        offset = int(str(token))
    except ValueError:
        raise ToolError(f"{field}: {token!r} is not a token this tool returned") from None
    if offset < 0:
        raise ToolError(f"{field}: {token!r} is not a token this tool returned")
    return offset
