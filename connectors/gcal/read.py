"""Calendar read tools: list events in the principal's time zone, free/busy, common slots."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from connectors.base import Connector, NotFound, NotPermitted, ToolContext, ToolResult
from connectors.common import check_emails, local_iso, parse_time, principal_by_email, window
from connectors.gcal.common import event_dict
from connectors.google.auth import GoogleSession
from connectors.shapes.calendar import FreeBusyArgs, ListArgs, SlotArgs
from connectors.shapes.slots import describe, find_slots, merge_busy

FREEBUSY_CHUNK = 50  # calendars per freebusy.query


def calendar_list_events(ctx: ToolContext, args: ListArgs) -> ToolResult:
    """List events on a calendar in a time range; times are shown in your time zone."""
    email = check_emails([args.calendar], "calendar")[0] if args.calendar else ctx.principal_email.lower()
    lo, hi = window(ctx, args.time_min, args.time_max)
    g = GoogleSession(ctx)
    calendar_id = "primary" if email == ctx.principal_email.lower() else email
    try:
        page = g.call(g.calendar.events().list(
            calendarId=calendar_id, timeMin=lo.isoformat(), timeMax=hi.isoformat(), singleEvents=True,
            orderBy="startTime", maxResults=args.max_results, pageToken=args.page_token or None,
            timeZone=ctx.time_zone), f"listing events of {email}")
    except (NotFound, NotPermitted) as exc:
        raise type(exc)(f"cannot read {email}'s calendar ({exc.message}); use calendar_freebusy for others") from exc
    events = [event_dict(ev, ctx.time_zone) for ev in page.get("items", []) if ev.get("status") != "cancelled"]
    data = {"calendar": email, "time_zone": ctx.time_zone, "events": events,
            "next_page_token": page.get("nextPageToken")}
    others = any(e["organizer"] and e["organizer"] != ctx.principal_email.lower() for e in events)
    return ToolResult(data, untrusted=others, source=f"calendar_list_events:{email}" if others else None)


def freebusy(g: GoogleSession, emails: list[str], lo: datetime, hi: datetime) -> dict[str, dict[str, Any]]:
    """email → {"busy": [(start, end), …]} or {"errors": [...]} (calendar unknown or not shared)."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(emails), FREEBUSY_CHUNK):
        chunk = emails[i:i + FREEBUSY_CHUNK]
        got = g.call(g.calendar.freebusy().query(body={
            "timeMin": lo.isoformat(), "timeMax": hi.isoformat(), "items": [{"id": e} for e in chunk]}),
            "reading free/busy")
        calendars = {k.lower(): v for k, v in (got.get("calendars") or {}).items()}
        for email in chunk:
            cal = calendars.get(email, {"errors": [{"reason": "notFound"}]})
            if cal.get("errors"):
                out[email] = {"errors": [{"reason": e.get("reason", "unknown")} for e in cal["errors"]]}
            else:
                out[email] = {"busy": [(parse_time(b["start"], "UTC"), parse_time(b["end"], "UTC"))
                                       for b in cal.get("busy", [])]}
    return out


def calendar_freebusy(ctx: ToolContext, args: FreeBusyArgs) -> ToolResult:
    """Busy intervals of several people (no event details), in your time zone."""
    lo, hi = window(ctx, args.time_min, args.time_max)
    emails = check_emails(args.emails, "emails")
    found = freebusy(GoogleSession(ctx), emails, lo, hi)
    out: dict[str, dict] = {}
    for email in emails:
        if "errors" in found[email]:
            out[email] = {"errors": [{**e, "detail": "calendar unknown or not shared with you"}
                                     for e in found[email]["errors"]]}
            continue
        entry: dict[str, Any] = {"busy": [
            {"start": local_iso(max(a, lo), ctx.time_zone), "end": local_iso(min(b, hi), ctx.time_zone)}
            for a, b in merge_busy(found[email]["busy"])]}
        person = principal_by_email(ctx.session, ctx.org_id, email)
        if person is not None:
            entry["time_zone"] = person.time_zone
        out[email] = entry
    return ToolResult({"time_zone": ctx.time_zone, "calendars": out})


def _zone(g: GoogleSession, ctx: ToolContext, email: str, at: datetime) -> tuple[str, bool]:
    """(time zone, known?) of a person: Workmode's profile, else their calendar's, else yours."""
    if email == ctx.principal_email.lower():
        return ctx.time_zone, True
    person = principal_by_email(ctx.session, ctx.org_id, email)
    if person is not None and person.time_zone:
        return person.time_zone, True
    try:
        got = g.call(g.calendar.events().list(calendarId=email, timeMin=at.isoformat(),
                                              timeMax=(at + timedelta(minutes=1)).isoformat(), maxResults=1),
                     f"reading {email}'s time zone")
    except (NotFound, NotPermitted):
        return ctx.time_zone, False
    return (got["timeZone"], True) if got.get("timeZone") else (ctx.time_zone, False)


def calendar_find_slots(ctx: ToolContext, args: SlotArgs) -> ToolResult:
    """Find times when everyone is free, within each person's working hours (09:00–17:30, Mon–Fri, in
    their own time zone). Returns non-overlapping candidate slots, earliest first."""
    lo, hi = window(ctx, args.window_start, args.window_end)
    emails = check_emails([ctx.principal_email, *args.attendees], "attendees")
    pad, dur = timedelta(minutes=args.buffer_minutes), timedelta(minutes=args.duration_minutes)
    g = GoogleSession(ctx)
    found = freebusy(g, emails, lo - pad, hi + pad)
    known = [e for e in emails if "busy" in found[e]]
    unknown = [e for e in emails if e not in known]
    zones, guessed = {}, []
    for email in known:
        zones[email], sure = _zone(g, ctx, email, lo)
        if not sure:
            guessed.append(email)
    slots = find_slots(window_start=lo, window_end=hi, duration=dur, busy={e: found[e]["busy"] for e in known},
                       zones=zones, buffer=pad, max_results=args.max_results)
    data: dict[str, Any] = {
        "time_zone": ctx.time_zone, "duration_minutes": args.duration_minutes, "attendees": emails,
        "slots": [{"start": local_iso(s, ctx.time_zone), "end": local_iso(e, ctx.time_zone),
                   "local": {p: describe(s, e, zones[p]) for p in known}} for s, e in slots],
        "unknown_attendees": unknown}
    notes = []
    if unknown:
        notes.append("calendars of unknown attendees were not checked; they are assumed free")
    if guessed:
        notes.append(f"time zone unknown for {', '.join(guessed)}; your time zone ({ctx.time_zone}) was assumed")
    if not slots:
        notes.append("no common free slot in the window; try a wider window or a shorter meeting")
    if notes:
        data["note"] = "; ".join(notes)
    return ToolResult(data)


def register(c: Connector) -> None:
    c.read("calendar_list_events", ListArgs)(calendar_list_events)
    c.read("calendar_freebusy", FreeBusyArgs)(calendar_freebusy)
    c.read("calendar_find_slots", SlotArgs)(calendar_find_slots)
