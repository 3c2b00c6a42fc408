"""Sandbox calendars, write side: create, update and cancel events on the requester's calendar."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic import BaseModel, Field

from connectors.base import Connector, NotFound, NotPermitted, Preview, ToolContext, ToolError, ToolResult
from connectors.sandbox.common import applied, check_emails, local_iso, parse_time, replay, verify_effect
from connectors.sandbox.models import SandboxEvent as Event
from services.store.models import utcnow


def show_time(value: Optional[str]) -> str:
    """A time for a person: as given, in the zone given, or 'your time zone' when none was."""
    if not value:
        return ""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return f"{value} (not a valid ISO 8601 time)"
    if dt.tzinfo is None:
        return f"{dt:%a %d %b %Y %H:%M} (your time zone)"
    offset = dt.strftime("%z")
    return f"{dt:%a %d %b %Y %H:%M} (UTC{offset[:3]}:{offset[3:]})"


class CreateArgs(BaseModel):
    summary: str = Field(..., min_length=1, description="Event title.")
    start: str = Field(..., description="ISO 8601 start, e.g. 2025-03-04T15:00:00. Naive = your time zone.")
    end: str = Field(..., description="ISO 8601 end, after start.")
    attendees: list[str] = Field(default_factory=list, description="Emails of the people to invite.")
    description: str = Field("", description="Event description / agenda.")
    location: str = Field("", description="Room or video link.")


class UpdateArgs(BaseModel):
    event_id: str = Field(..., description="Event id from calendar_list_events.")
    summary: Optional[str] = Field(None, description="New title (omit to keep).")
    start: Optional[str] = Field(None, description="New ISO 8601 start (omit to keep).")
    end: Optional[str] = Field(None, description="New ISO 8601 end (omit to keep).")
    attendees: Optional[list[str]] = Field(None, description="New full attendee list (omit to keep).")
    description: Optional[str] = Field(None, description="New description (omit to keep).")
    location: Optional[str] = Field(None, description="New location (omit to keep).")


class CancelArgs(BaseModel):
    event_id: str = Field(..., description="Event id from calendar_list_events.")


def _times(ctx: ToolContext, start, end) -> tuple[datetime, datetime]:
    lo, hi = parse_time(start, ctx.time_zone, "start"), parse_time(end, ctx.time_zone, "end")
    if hi <= lo:
        raise ToolError("end must be after start")
    return lo, hi


def _own_event(ctx: ToolContext, event_id: str) -> Event:
    ev = ctx.session.get(Event, event_id)
    if ev is None or ev.org_id != ctx.org_id or (ev.calendar != ctx.principal_email
                                                  and ctx.principal_email not in ev.attendees):
        raise NotFound(f"no event {event_id!r} on your calendar")
    if ev.calendar != ctx.principal_email:
        raise NotPermitted(f"only the organiser ({ev.calendar}) can change event {event_id}")
    if ev.cancelled:
        raise ToolError(f"event {event_id} is cancelled")
    return ev


def _result(ev: Event, tz: str, **extra) -> dict:
    return {"event_id": ev.id, "summary": ev.summary, "start": local_iso(ev.start, tz),
            "end": local_iso(ev.end, tz), "attendees": ev.attendees, **extra}


def calendar_create_event(ctx: ToolContext, args: CreateArgs) -> ToolResult:
    """Create an event on your calendar and invite attendees."""
    if (done := replay(ctx)) is not None:
        return done
    lo, hi = _times(ctx, args.start, args.end)
    attendees = [a for a in check_emails(args.attendees, "attendees") if a != ctx.principal_email]
    ev = Event(org_id=ctx.org_id, calendar=ctx.principal_email, summary=args.summary, start=lo, end=hi,
               attendees=attendees, description=args.description, location=args.location,
               time_zone=ctx.time_zone, action_id=ctx.action_id)
    ctx.session.add(ev)
    return applied(ctx, "calendar_create_event", _result(ev, ctx.time_zone))


def calendar_update_event(ctx: ToolContext, args: UpdateArgs) -> ToolResult:
    """Change an event you organise; omitted fields stay as they are."""
    if (done := replay(ctx)) is not None:
        return done
    ev = _own_event(ctx, args.event_id)
    changed = [f for f in ("summary", "start", "end", "attendees", "description", "location")
               if getattr(args, f) is not None]
    if not changed:
        raise ToolError("nothing to change: give at least one field")
    ev.start, ev.end = _times(ctx, args.start or ev.start, args.end or ev.end)
    for f in ("summary", "description", "location"):
        if getattr(args, f) is not None:
            setattr(ev, f, getattr(args, f))
    if args.attendees is not None:
        ev.attendees = [a for a in check_emails(args.attendees, "attendees") if a != ctx.principal_email]
    ev.updated_at = utcnow()
    ctx.session.add(ev)
    return applied(ctx, "calendar_update_event", _result(ev, ctx.time_zone, updated=changed))


def calendar_cancel_event(ctx: ToolContext, args: CancelArgs) -> ToolResult:
    """Cancel an event you organise (attendees see it cancelled)."""
    if (done := replay(ctx)) is not None:
        return done
    ev = _own_event(ctx, args.event_id)
    ev.cancelled, ev.updated_at = True, utcnow()
    ctx.session.add(ev)
    return applied(ctx, "calendar_cancel_event", {"event_id": ev.id, "summary": ev.summary, "cancelled": True})


def _create_preview(a: CreateArgs) -> Preview:
    fields = {"Summary": a.summary, "Start": show_time(a.start), "End": show_time(a.end),
              "Attendees": list(a.attendees) or ["(only you)"]}
    if a.location:
        fields["Location"] = a.location
    return Preview("event", f"Create event: {a.summary}", fields, a.description)


def _update_preview(a: UpdateArgs) -> Preview:
    fields: dict = {"Event": a.event_id}
    for label, name in (("Summary", "summary"), ("Start", "start"), ("End", "end"),
                        ("Attendees", "attendees"), ("Location", "location")):
        value = getattr(a, name)
        if value is not None:
            fields[label] = show_time(value) if name in ("start", "end") else value
    return Preview("event", f"Update event {a.event_id}", fields, a.description or "")


def register(c: Connector) -> None:
    c.write("calendar_create_event", CreateArgs, preview=_create_preview, verify=verify_effect,
            recipient_fields=("attendees",))(calendar_create_event)
    c.write("calendar_update_event", UpdateArgs, preview=_update_preview, verify=verify_effect,
            recipient_fields=("attendees",))(calendar_update_event)
    c.write("calendar_cancel_event", CancelArgs, verify=verify_effect, preview=lambda a: Preview(
        "event", f"Cancel event {a.event_id}", {"Event": a.event_id, "Change": "cancelled; attendees are told"},
    ))(calendar_cancel_event)
