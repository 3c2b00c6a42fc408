"""Calendar write tools (each an approved Action with a preview and `verify`): create with
attendees, update, cancel — on the requester's primary calendar, attendees told by Google.

Create uses an event id derived from the action id, so a retry meets 409 and returns the event
that exists; `verify` is an `events.get`. Update and cancel write the action id into the event's
private extended properties, which `verify` reads back.

Update uses events.patch, which replaces arrays whole ("Array fields, if specified, overwrite the
existing arrays", Events: patch reference) and clears a field sent as null: so the attendee list
sent back keeps every attendee's own entry (optional flag, response, display name) and the rooms
and resources the model never sees, and a change between all-day (`date`) and timed (`dateTime`)
clears the other one."""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from connectors.base import Connector, NotFound, NotPermitted, ToolContext, ToolError, ToolResult, cannot_look
from connectors.common import check_emails
from connectors.gcal.common import MARK_CREATED, MARK_LAST, event_id_for, private, result, times
from connectors.google.auth import GoogleSession
from connectors.google.errors import Conflict
from connectors.shapes.calendar import (
    CancelArgs,
    CreateArgs,
    UpdateArgs,
    cancel_preview,
    create_preview,
    update_preview,
)

FIELDS = ("summary", "start", "end", "attendees", "description", "location")


def _get(g: GoogleSession, event_id: str) -> dict:
    return g.call(g.calendar.events().get(calendarId="primary", eventId=event_id), f"reading event {event_id}")


def _own_event(g: GoogleSession, event_id: str) -> dict:
    try:
        ev = _get(g, event_id)
    except NotFound:
        raise NotFound(f"no event {event_id!r} on your calendar") from None
    organizer = ev.get("organizer") or {}
    if not organizer.get("self", False):
        raise NotPermitted(f"only the organiser ({organizer.get('email', 'someone else')}) can change event {event_id}")
    if ev.get("status") == "cancelled":
        raise ToolError(f"event {event_id} is cancelled")
    return ev


def _attendees(ctx: ToolContext, emails: list[str]) -> list[dict]:
    me = ctx.principal_email.lower()
    return [{"email": a} for a in check_emails(emails, "attendees") if a != me]


def _kept_attendees(ctx: ToolContext, ev: dict, emails: list[str]) -> list[dict]:
    """The attendee list for a patch: the model's list of people, each existing attendee's own entry
    kept as it is, plus the entries the model never sees (rooms and resources, the organiser)."""
    wanted = check_emails(emails, "attendees")
    old = {str(a["email"]).lower(): a for a in ev.get("attendees", []) if a.get("email")}
    organizer = str((ev.get("organizer") or {}).get("email", "")).lower()
    out = [a for a in ev.get("attendees", []) if a.get("resource") or a.get("organizer") or a.get("self")
           or str(a.get("email", "")).lower() == organizer]
    seen = {str(a.get("email", "")).lower() for a in out} | {ctx.principal_email.lower()}
    for email in wanted:
        if email not in seen:
            out.append(old.get(email, {"email": email}))
            seen.add(email)
    return out


def _is_date(value: Optional[str]) -> bool:
    try:
        date.fromisoformat((value or "").strip())
    except ValueError:
        return False
    return True


def _event_times(ctx: ToolContext, start: str, end: str) -> tuple[dict, dict]:
    """Google's start and end for two ISO values. Two dates make an all-day event (end date
    exclusive) and clear `dateTime`; anything else is a timed event in the principal's zone and
    clears `date` (a patch merges the start object field by field; null clears a field)."""
    if _is_date(start) and _is_date(end):
        lo, hi = date.fromisoformat(start.strip()), date.fromisoformat(end.strip())
        if hi <= lo:
            raise ToolError("end must be after start (an all-day event's end date is the day after it ends)")
        return ({"date": lo.isoformat(), "dateTime": None, "timeZone": None},
                {"date": hi.isoformat(), "dateTime": None, "timeZone": None})
    t0, t1 = times(ctx, start, end)
    return ({"dateTime": t0.isoformat(), "timeZone": ctx.time_zone, "date": None},
            {"dateTime": t1.isoformat(), "timeZone": ctx.time_zone, "date": None})


def _set(value: dict) -> dict:
    """A start or end as an insert writes it (no nulls to clear)."""
    return {k: v for k, v in value.items() if v is not None}


def calendar_create_event(ctx: ToolContext, args: CreateArgs) -> ToolResult:
    """Create an event on your calendar and invite attendees."""
    start, end = _event_times(ctx, args.start, args.end)
    event_id = event_id_for(ctx.action_id)
    body: dict[str, Any] = {
        "id": event_id, "summary": args.summary, "description": args.description, "location": args.location,
        "start": _set(start), "end": _set(end), "attendees": _attendees(ctx, args.attendees)}
    if ctx.action_id:
        body["extendedProperties"] = {"private": {MARK_CREATED: ctx.action_id}}
    g = GoogleSession(ctx)
    try:
        ev = g.call(g.calendar.events().insert(calendarId="primary", body=body, sendUpdates="all"),
                    "creating the event")
    except Conflict:
        ev = _get(g, event_id)  # this action's event already exists: a retry, not a second event
        if not ctx.action_id or private(ev).get(MARK_CREATED) != ctx.action_id:
            raise
    return ToolResult(result(ev, ctx.time_zone))


def verify_create(ctx: ToolContext, args: CreateArgs, action_id: str) -> Optional[dict]:
    g = GoogleSession(ctx)
    try:
        ev = _get(g, event_id_for(action_id))
    except NotFound:
        return None
    except ToolError as exc:
        raise cannot_look("Google Calendar", exc) from exc
    extra = {"status": "cancelled"} if ev.get("status") == "cancelled" else {}
    return result(ev, ctx.time_zone, **extra)


def calendar_update_event(ctx: ToolContext, args: UpdateArgs) -> ToolResult:
    """Change an event you organise; omitted fields stay as they are."""
    changed = [f for f in FIELDS if getattr(args, f) is not None]
    if not changed:
        raise ToolError("nothing to change: give at least one field")
    g = GoogleSession(ctx)
    ev = _own_event(g, args.event_id)
    patch: dict[str, Any] = {f: getattr(args, f) for f in ("summary", "description", "location")
                             if getattr(args, f) is not None}
    if args.start is not None or args.end is not None:
        old_start, old_end = ev.get("start", {}), ev.get("end", {})
        if (args.start is None or args.end is None) and "dateTime" not in old_start:
            raise ToolError("give both start and end to change the time of an all-day event")
        patch["start"], patch["end"] = _event_times(ctx, args.start or old_start["dateTime"],
                                                    args.end or old_end["dateTime"])
    if args.attendees is not None:
        patch["attendees"] = _kept_attendees(ctx, ev, args.attendees)
    if ctx.action_id:
        patch["extendedProperties"] = {"private": {**private(ev), MARK_LAST: ctx.action_id}}
    ev = g.call(g.calendar.events().patch(calendarId="primary", eventId=args.event_id, body=patch, sendUpdates="all"),
                f"updating event {args.event_id}")
    return ToolResult(result(ev, ctx.time_zone, updated=changed))


def verify_update(ctx: ToolContext, args: UpdateArgs, action_id: str) -> Optional[dict]:
    g = GoogleSession(ctx)
    try:
        ev = _get(g, args.event_id)
    except NotFound:
        return None
    except ToolError as exc:
        raise cannot_look("Google Calendar", exc) from exc
    if private(ev).get(MARK_LAST) != action_id:
        return None
    return result(ev, ctx.time_zone, updated=[f for f in FIELDS if getattr(args, f) is not None])


def calendar_cancel_event(ctx: ToolContext, args: CancelArgs) -> ToolResult:
    """Cancel an event you organise (attendees see it cancelled)."""
    g = GoogleSession(ctx)
    ev = _own_event(g, args.event_id)
    if ctx.action_id:  # mark first, so verify can tell this cancellation from someone else's
        g.call(g.calendar.events().patch(calendarId="primary", eventId=args.event_id, sendUpdates="none", body={
            "extendedProperties": {"private": {**private(ev), MARK_LAST: ctx.action_id}}}), "marking the event")
    g.call(g.calendar.events().delete(calendarId="primary", eventId=args.event_id, sendUpdates="all"),
           f"cancelling event {args.event_id}")
    return ToolResult({"event_id": args.event_id, "summary": ev.get("summary", ""), "cancelled": True})


def verify_cancel(ctx: ToolContext, args: CancelArgs, action_id: str) -> Optional[dict]:
    g = GoogleSession(ctx)
    try:
        ev = _get(g, args.event_id)
    except NotFound:
        # Google keeps a deleted event, with status "cancelled" (events.get; events.list with
        # showDeleted): a 404 is an event that never existed here, not one this action cancelled.
        # "Absent": a retry runs, and the tool answers NotFound.
        return None
    except ToolError as exc:
        raise cannot_look("Google Calendar", exc) from exc
    if ev.get("status") != "cancelled":
        return None
    out = {"event_id": args.event_id, "summary": ev.get("summary", ""), "cancelled": True}
    if private(ev).get(MARK_LAST) != action_id:
        out["note"] = "the event is cancelled, but not by this action's request"
    return out


def register(c: Connector) -> None:
    c.write("calendar_create_event", CreateArgs, preview=create_preview, verify=verify_create,
            recipient_fields=("attendees",))(calendar_create_event)
    c.write("calendar_update_event", UpdateArgs, preview=update_preview, verify=verify_update,
            recipient_fields=("attendees",))(calendar_update_event)
    c.write("calendar_cancel_event", CancelArgs, preview=cancel_preview, verify=verify_cancel)(calendar_cancel_event)
