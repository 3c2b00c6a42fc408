"""Sandbox calendars, read side: list events, free/busy, and finding a common slot across zones."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlmodel import col, select

from connectors.base import Connector, NotPermitted, ToolContext, ToolResult
from connectors.common import check_emails, local_iso, org_principals, principal_by_email, window
from connectors.sandbox.common import page_offset
from connectors.sandbox.models import SandboxEvent as Event
from connectors.shapes.calendar import FreeBusyArgs, ListArgs, SlotArgs
from connectors.shapes.slots import describe, find_slots, merge_busy


def events_between(ctx: ToolContext, lo: datetime, hi: datetime, email: Optional[str] = None) -> list[Event]:
    q = select(Event).where(Event.org_id == ctx.org_id, Event.cancelled == False,  # noqa: E712  (builds SQL: cancelled = false)
                            Event.start < hi, Event.end > lo).order_by(col(Event.start), col(Event.id))
    rows = list(ctx.session.exec(q))
    return [e for e in rows if email is None or e.calendar == email or email in e.attendees]


def event_dict(e: Event, tz: str) -> dict:
    return {"id": e.id, "summary": e.summary, "start": local_iso(e.start, tz), "end": local_iso(e.end, tz),
            "organizer": e.calendar, "attendees": e.attendees, "location": e.location,
            "description": e.description, "status": "cancelled" if e.cancelled else "confirmed"}


def calendar_list_events(ctx: ToolContext, args: ListArgs) -> ToolResult:
    """List events on a calendar in a time range; times are shown in your time zone."""
    email = check_emails([args.calendar], "calendar")[0] if args.calendar else ctx.principal_email
    if principal_by_email(ctx.session, ctx.org_id, email) is None:
        raise NotPermitted(f"{email} is not a calendar in your organisation; use calendar_freebusy for others")
    lo, hi = window(ctx, args.time_min, args.time_max)
    rows = events_between(ctx, lo, hi, email)
    start = page_offset(args.page_token)
    page = rows[start:start + args.max_results]
    more = start + args.max_results < len(rows)
    data = {"calendar": email, "time_zone": ctx.time_zone, "events": [event_dict(e, ctx.time_zone) for e in page],
            "next_page_token": str(start + args.max_results) if more else None}
    others = any(e.calendar != ctx.principal_email for e in page)
    return ToolResult(data, untrusted=others, source=f"calendar_list_events:{email}" if others else None)


def calendar_freebusy(ctx: ToolContext, args: FreeBusyArgs) -> ToolResult:
    """Busy intervals of several people (no event details), in your time zone."""
    lo, hi = window(ctx, args.time_min, args.time_max)
    people = org_principals(ctx.session, ctx.org_id)
    events = events_between(ctx, lo, hi)
    out: dict[str, dict] = {}
    for email in check_emails(args.emails, "emails"):
        if email not in people:
            out[email] = {"errors": [{"reason": "notFound", "detail": "calendar outside your organisation"}]}
            continue
        mine = [e for e in events if e.calendar == email or email in e.attendees]
        out[email] = {"time_zone": people[email].time_zone, "busy": [
            {"start": local_iso(max(a, lo), ctx.time_zone), "end": local_iso(min(b, hi), ctx.time_zone)}
            for a, b in merge_busy((e.start, e.end) for e in mine)]}
    return ToolResult({"time_zone": ctx.time_zone, "calendars": out})


def calendar_find_slots(ctx: ToolContext, args: SlotArgs) -> ToolResult:
    """Find times when everyone is free, within each person's working hours (09:00–17:30, Mon–Fri, in
    their own time zone). Returns non-overlapping candidate slots, earliest first."""
    lo, hi = window(ctx, args.window_start, args.window_end)
    people = org_principals(ctx.session, ctx.org_id)
    emails = check_emails([ctx.principal_email, *args.attendees], "attendees")
    known = [e for e in emails if e in people]
    unknown = [e for e in emails if e not in people]
    pad, dur = timedelta(minutes=args.buffer_minutes), timedelta(minutes=args.duration_minutes)
    events = events_between(ctx, lo - pad, hi + pad)
    busy = {p: [(ev.start, ev.end) for ev in events if ev.calendar == p or p in ev.attendees] for p in known}
    zones = {p: people[p].time_zone for p in known}
    found = find_slots(window_start=lo, window_end=hi, duration=dur, busy=busy, zones=zones, buffer=pad,
                       max_results=args.max_results)
    slots = [{"start": local_iso(s, ctx.time_zone), "end": local_iso(e, ctx.time_zone),
              "local": {p: describe(s, e, zones[p]) for p in known}} for s, e in found]
    data = {"time_zone": ctx.time_zone, "duration_minutes": args.duration_minutes, "attendees": emails,
            "slots": slots, "unknown_attendees": unknown}
    if unknown:
        data["note"] = "calendars of unknown attendees were not checked; they are assumed free"
    if not slots:
        data["note"] = "no common free slot in the window; try a wider window or a shorter meeting"
    return ToolResult(data)


def register(c: Connector) -> None:
    c.read("calendar_list_events", ListArgs)(calendar_list_events)
    c.read("calendar_freebusy", FreeBusyArgs)(calendar_freebusy)
    c.read("calendar_find_slots", SlotArgs)(calendar_find_slots)
