"""Argument models and previews of the calendar tools (calendar_*), shared by the sandbox and
Google Calendar connectors."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic import BaseModel, Field

from connectors.base import Preview


# ---------------------------------------------------------------- reads
class ListArgs(BaseModel):
    calendar: Optional[str] = Field(None, description="Calendar owner's email; omit for your own calendar.")
    time_min: Optional[str] = Field(None, description="ISO 8601 start of the range (default now). "
                                                      "Naive = your time zone.")
    time_max: Optional[str] = Field(None, description="ISO 8601 end of the range (default 7 days after time_min).")
    max_results: int = Field(50, ge=1, le=250, description="Events per page.")
    page_token: Optional[str] = Field(None, description="next_page_token from a previous call.")


class FreeBusyArgs(BaseModel):
    emails: list[str] = Field(..., min_length=1, description="People whose busy times you want.")
    time_min: str = Field(..., description="ISO 8601 start of the range. Naive = your time zone.")
    time_max: str = Field(..., description="ISO 8601 end of the range.")


class SlotArgs(BaseModel):
    attendees: list[str] = Field(..., description="Emails of the people to meet (you are always included).")
    duration_minutes: int = Field(..., ge=5, le=480, description="Meeting length in minutes.")
    window_start: str = Field(..., description="ISO 8601 start of the search window. Naive = your time zone.")
    window_end: str = Field(..., description="ISO 8601 end of the search window.")
    buffer_minutes: int = Field(0, ge=0, le=120, description="Free time required before and after the meeting.")
    max_results: int = Field(10, ge=1, le=50, description="How many slots to return at most.")


# ---------------------------------------------------------------- writes
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


# ---------------------------------------------------------------- previews (what an approver sees)
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


def create_preview(a: CreateArgs) -> Preview:
    fields = {"Summary": a.summary, "Start": show_time(a.start), "End": show_time(a.end),
              "Attendees": list(a.attendees) or ["(only you)"]}
    if a.location:
        fields["Location"] = a.location
    return Preview("event", f"Create event: {a.summary}", fields, a.description)


def update_preview(a: UpdateArgs) -> Preview:
    fields: dict = {"Event": a.event_id}
    for label, name in (("Summary", "summary"), ("Start", "start"), ("End", "end"),
                        ("Attendees", "attendees"), ("Location", "location")):
        value = getattr(a, name)
        if value is not None:
            fields[label] = show_time(value) if name in ("start", "end") else value
    return Preview("event", f"Update event {a.event_id}", fields, a.description or "")


def cancel_preview(a: CancelArgs) -> Preview:
    return Preview("event", f"Cancel event {a.event_id}",
                   {"Event": a.event_id, "Change": "cancelled; attendees are told"})
