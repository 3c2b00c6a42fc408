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
GROUP_DETAIL = {"group": "a group, not one calendar: ask for its members (listed) by name",
                "groupTooBig": "a group too large to expand"}


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


def _busy_or_errors(cal: dict[str, Any]) -> dict[str, Any]:
    if cal.get("errors"):
        return {"errors": [{"reason": e.get("reason", "unknown")} for e in cal["errors"]]}
    return {"busy": [(parse_time(b["start"], "UTC"), parse_time(b["end"], "UTC")) for b in cal.get("busy", [])]}


def freebusy(g: GoogleSession, emails: list[str], lo: datetime, hi: datetime) -> dict[str, dict[str, Any]]:
    """email → {"busy": [(start, end), …]}, or {"errors": [...]} when it is not known (calendar
    unknown or not shared). A Google Group is never free: Google expands it into its members
    (`groups` in the answer, Freebusy: query reference), so its entry is {"errors": [{"reason":
    "group"}], "members": {member: {"busy"|"errors"}}}, or the group's own errors (groupTooBig)."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(emails), FREEBUSY_CHUNK):
        chunk = emails[i:i + FREEBUSY_CHUNK]
        got = g.call(g.calendar.freebusy().query(body={
            "timeMin": lo.isoformat(), "timeMax": hi.isoformat(), "items": [{"id": e} for e in chunk]}),
            "reading free/busy")
        calendars = {k.lower(): v for k, v in (got.get("calendars") or {}).items()}
        groups = {k.lower(): v for k, v in (got.get("groups") or {}).items()}
        missing = {"errors": [{"reason": "notFound"}]}
        for email in chunk:
            if email in groups:
                group = groups[email]
                if group.get("errors"):
                    out[email] = {"errors": [{"reason": e.get("reason", "unknown")} for e in group["errors"]],
                                  "members": {}}
                else:
                    members = [m.lower() for m in group.get("calendars", [])]
                    out[email] = {"errors": [{"reason": "group"}],
                                  "members": {m: _busy_or_errors(calendars.get(m, missing)) for m in members}}
            else:
                out[email] = _busy_or_errors(calendars.get(email, missing))
    return out


def calendar_freebusy(ctx: ToolContext, args: FreeBusyArgs) -> ToolResult:
    """Busy intervals of several people (no event details), in your time zone."""
    lo, hi = window(ctx, args.time_min, args.time_max)
    emails = check_emails(args.emails, "emails")
    found = freebusy(GoogleSession(ctx), emails, lo, hi)
    out: dict[str, dict] = {}
    for email in emails:
        if "members" in found[email]:
            out[email] = {"errors": [{**e, "detail": GROUP_DETAIL.get(e["reason"], "a group Google could not expand")}
                                     for e in found[email]["errors"]],
                          "members": sorted(found[email]["members"])}
            continue
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
    people: dict[str, dict[str, Any]] = {}  # every calendar to respect: attendees, and a group's members
    groups: dict[str, list[str]] = {}
    for email in emails:
        if "members" in found[email] and found[email]["members"]:
            groups[email] = sorted(found[email]["members"])
            for member, cal in found[email]["members"].items():
                people.setdefault(member, cal)
        else:
            people.setdefault(email, found[email])
    known = [e for e, cal in people.items() if "busy" in cal]
    unknown = [e for e in emails if e not in groups and "busy" not in people[e]]
    unknown += [m for e in groups for m in groups[e] if "busy" not in people[m] and m not in unknown]
    zones, guessed = {}, []
    for email in known:
        zones[email], sure = _zone(g, ctx, email, lo)
        if not sure:
            guessed.append(email)
    slots = find_slots(window_start=lo, window_end=hi, duration=dur, busy={e: people[e]["busy"] for e in known},
                       zones=zones, buffer=pad, max_results=args.max_results)
    data: dict[str, Any] = {
        "time_zone": ctx.time_zone, "duration_minutes": args.duration_minutes, "attendees": emails,
        "slots": [{"start": local_iso(s, ctx.time_zone), "end": local_iso(e, ctx.time_zone),
                   "local": {p: describe(s, e, zones[p]) for p in known}} for s, e in slots],
        "unknown_attendees": unknown}
    if groups:
        data["groups"] = groups
    notes = []
    if groups:
        notes.append(f"{', '.join(groups)} {'is a group' if len(groups) == 1 else 'are groups'}: "
                     "each member's calendar was checked")
    if unknown:
        notes.append(f"availability unknown for {', '.join(unknown)} (calendar unknown, not shared, or a group too "
                     "large to expand): they are not known to be free, the slots do not account for them")
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
