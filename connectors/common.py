"""Helpers shared by the sandbox and the real connectors: times in a person's zone, the time range
of a calendar read, email addresses, and the people of an organisation."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from connectors.base import ToolContext, ToolError
from services.store.models import Principal, utcnow

_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
MAX_WINDOW = timedelta(days=62)


# ---------------------------------------------------------------- times
def zone(name: str | None) -> ZoneInfo:
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


def window(ctx: ToolContext, start: str | None, end: str | None, default_days: int = 7):
    """The time range of a calendar read (default: a week from now), at most 62 days."""
    lo = parse_time(start, ctx.time_zone, "time_min") if start else utcnow()
    hi = parse_time(end, ctx.time_zone, "time_max") if end else lo + timedelta(days=default_days)
    if hi <= lo:
        raise ToolError("the end of the time range must be after its start")
    if hi - lo > MAX_WINDOW:
        raise ToolError("time range too long: at most 62 days")
    return lo, hi


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


def principal_by_email(session: Session, org_id: str, email: str) -> Principal | None:
    return session.exec(
        select(Principal).where(Principal.org_id == org_id, Principal.email == email.strip().lower())
    ).first()


def org_principals(session: Session, org_id: str) -> dict[str, Principal]:
    return {p.email: p for p in session.exec(select(Principal).where(Principal.org_id == org_id))}
