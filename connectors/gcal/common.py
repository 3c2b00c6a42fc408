"""Helpers the Calendar tools share: event ids from action ids, times, the event as the model sees it."""
from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime
from typing import Any, Optional

from connectors.base import ToolContext, ToolError
from connectors.common import local_iso, parse_time

MARK_CREATED = "workmode_action"  # extendedProperties.private on events we create
MARK_LAST = "workmode_last_action"  # ... and the last action that changed or cancelled one


def event_id_for(action_id: Optional[str]) -> str:
    """A Calendar event id derived from the action id (base32hex a-v0-9, 32 chars), so a retried
    create cannot make a second event and `verify` is a lookup."""
    if not action_id:
        return uuid.uuid4().hex
    digest = hashlib.sha256(f"workmode-event:{action_id}".encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().lower()


def times(ctx: ToolContext, start: Any, end: Any) -> tuple[datetime, datetime]:
    lo, hi = parse_time(start, ctx.time_zone, "start"), parse_time(end, ctx.time_zone, "end")
    if hi <= lo:
        raise ToolError("end must be after start")
    return lo, hi


def when(value: dict[str, Any], tz: str) -> str:
    """An event's start or end in `tz` (an all-day event keeps its date)."""
    if value.get("dateTime"):
        return local_iso(parse_time(value["dateTime"], value.get("timeZone") or tz), tz)
    return value.get("date", "")


def private(ev: dict[str, Any]) -> dict[str, str]:
    return (ev.get("extendedProperties") or {}).get("private") or {}


def event_dict(ev: dict[str, Any], tz: str) -> dict[str, Any]:
    out = {"id": ev["id"], "summary": ev.get("summary", ""), "start": when(ev.get("start", {}), tz),
           "end": when(ev.get("end", {}), tz), "organizer": (ev.get("organizer") or {}).get("email", ""),
           "attendees": [a["email"] for a in ev.get("attendees", []) if a.get("email") and not a.get("resource")],
           "location": ev.get("location", ""), "description": ev.get("description", ""),
           "status": ev.get("status", "confirmed")}
    if "date" in ev.get("start", {}):
        out["all_day"] = True
    return out


def result(ev: dict[str, Any], tz: str, **extra: Any) -> dict[str, Any]:
    d = event_dict(ev, tz)
    return {"event_id": d["id"], "summary": d["summary"], "start": d["start"], "end": d["end"],
            "attendees": d["attendees"], "html_link": ev.get("htmlLink"), **extra}
