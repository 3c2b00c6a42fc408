"""Sandbox calendars, write side: create, update and cancel events on the requester's calendar."""
from __future__ import annotations

from datetime import datetime

from connectors.base import Connector, NotFound, NotPermitted, ToolContext, ToolError, ToolResult
from connectors.common import check_emails, local_iso, parse_time
from connectors.sandbox.common import applied, replay, verify_effect
from connectors.sandbox.models import SandboxEvent as Event
from connectors.shapes.calendar import (
    CancelArgs,
    CreateArgs,
    UpdateArgs,
    cancel_preview,
    create_preview,
    show_time,
    update_preview,
)
from services.store.models import utcnow


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


def register(c: Connector) -> None:
    c.write("calendar_create_event", CreateArgs, preview=create_preview, verify=verify_effect,
            recipient_fields=("attendees",))(calendar_create_event)
    c.write("calendar_update_event", UpdateArgs, preview=update_preview, verify=verify_effect,
            recipient_fields=("attendees",))(calendar_update_event)
    c.write("calendar_cancel_event", CancelArgs, verify=verify_effect, preview=cancel_preview)(calendar_cancel_event)


__all__ = ["show_time"]
