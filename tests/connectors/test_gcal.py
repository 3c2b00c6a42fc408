"""Google Calendar connector, read side, through google-api-python-client against the local fake:
events in the principal's time zone with pagination, free/busy, slot finding across zones and DST."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from connectors.base import NotFound, RateLimited
from connectors.shapes.slots import find_slots
from tests.fakes.google_api import ALEX, DANA, LEE


def test_list_events_in_the_principals_zone_with_pages(google_world):
    fake = google_world.fake
    fake.add_event(DANA, summary="Q3 review", start="2025-03-10T10:00:00-04:00", end="2025-03-10T11:00:00-04:00",
                   attendees=(ALEX,), description="Agenda from Dana")
    fake.add_event(ALEX, summary="1:1", start="2025-03-11T09:00:00+00:00", end="2025-03-11T09:30:00+00:00")
    fake.add_event(ALEX, summary="Retro", start="2025-03-12T16:00:00+00:00", end="2025-03-12T17:00:00+00:00")
    fake.add_event(ALEX, summary="Outside", start="2025-04-01T09:00:00+00:00", end="2025-04-01T10:00:00+00:00")
    args = {"time_min": "2025-03-10T00:00:00", "time_max": "2025-03-14T00:00:00", "max_results": 2}

    first = google_world.call("calendar_list_events", args)
    assert first.data["time_zone"] == "Europe/London" and first.data["calendar"] == ALEX
    review, one = first.data["events"]
    assert review["summary"] == "Q3 review" and review["start"] == "2025-03-10T14:00+00:00"  # 10:00 EDT
    assert review["organizer"] == DANA and review["attendees"] == [ALEX]
    assert first.untrusted and first.source == f"calendar_list_events:{ALEX}"  # Dana wrote that description
    assert one["summary"] == "1:1"
    second = google_world.call("calendar_list_events", {**args, "page_token": first.data["next_page_token"]})
    assert [e["summary"] for e in second.data["events"]] == ["Retro"] and second.data["next_page_token"] is None

    sent = fake.calls("GET", "/calendars/primary/events")[0]["params"]
    assert sent["timeZone"] == "Europe/London" and sent["singleEvents"] == "true" and sent["orderBy"] == "startTime"
    assert sent["timeMin"] == "2025-03-10T00:00:00+00:00"  # naive input read in the principal's zone


def test_someone_elses_calendar_needs_sharing(google_world):
    args = {"calendar": DANA, "time_min": "2025-03-10T00:00:00", "time_max": "2025-03-11T00:00:00"}
    with pytest.raises(NotFound, match="use calendar_freebusy"):
        google_world.call("calendar_list_events", args)
    google_world.fake.calendars[DANA].readable_by.add(ALEX)
    google_world.fake.add_event(DANA, summary="Focus", start="2025-03-10T13:00:00Z", end="2025-03-10T14:00:00Z")
    assert [e["summary"] for e in google_world.call("calendar_list_events", args).data["events"]] == ["Focus"]


def test_freebusy_for_several_people(google_world):
    fake = google_world.fake
    fake.add_event(DANA, summary="a", start="2025-03-10T13:00:00Z", end="2025-03-10T14:00:00Z")
    fake.add_event(DANA, summary="b", start="2025-03-10T13:30:00Z", end="2025-03-10T15:00:00Z")
    fake.add_event(ALEX, summary="c", start="2025-03-10T09:00:00Z", end="2025-03-10T10:00:00Z", attendees=(DANA,))
    result = google_world.call("calendar_freebusy", {
        "emails": [DANA, ALEX, "ghost@nowhere.example"], "time_min": "2025-03-10T00:00:00",
        "time_max": "2025-03-11T00:00:00"}).data
    assert result["calendars"][DANA]["busy"] == [
        {"start": "2025-03-10T09:00+00:00", "end": "2025-03-10T10:00+00:00"},
        {"start": "2025-03-10T13:00+00:00", "end": "2025-03-10T15:00+00:00"}]
    assert result["calendars"][DANA]["time_zone"] == "America/New_York"
    assert result["calendars"]["ghost@nowhere.example"]["errors"][0]["reason"] == "notFound"
    body = fake.calls("POST", "/freeBusy")[0]["body"]
    assert [i["id"] for i in body["items"]] == [DANA, ALEX, "ghost@nowhere.example"]


def test_find_slots_across_the_us_dst_switch_with_a_buffer(google_world):
    # US clocks go forward on Sun 9 Mar 2025, the UK's only on 30 Mar: the London/New York overlap
    # is 14:00–17:30 UTC on Friday 7 Mar and 13:00–17:30 UTC on Monday 10 Mar.
    google_world.fake.add_event(DANA, summary="standup", start="2025-03-10T09:00:00-04:00",
                                end="2025-03-10T10:00:00-04:00")
    result = google_world.call("calendar_find_slots", {
        "attendees": [DANA], "duration_minutes": 60, "buffer_minutes": 15, "max_results": 50,
        "window_start": "2025-03-07T00:00:00", "window_end": "2025-03-11T00:00:00"}).data
    slots = result["slots"]
    friday = [s for s in slots if s["start"].startswith("2025-03-07")]
    monday = [s for s in slots if s["start"].startswith("2025-03-10")]
    assert friday[0]["start"] == "2025-03-07T14:00+00:00" and friday[-1]["end"] == "2025-03-07T17:00+00:00"
    assert monday[0]["start"] == "2025-03-10T14:15+00:00"  # 10:00 EDT standup end + 15 min buffer
    assert monday[0]["local"][DANA] == "Mon 10 Mar 10:15–11:15 EDT (America/New_York)"
    assert friday[0]["local"][DANA] == "Fri 07 Mar 09:00–10:00 EST (America/New_York)"
    assert not [s for s in slots if s["start"].startswith(("2025-03-08", "2025-03-09"))]  # weekend
    assert result["unknown_attendees"] == [] and "note" not in result


def test_find_slots_uses_an_outsiders_calendar_zone(google_world):
    fake = google_world.fake
    args = {"attendees": [LEE], "duration_minutes": 30, "window_start": "2025-03-10T00:00:00",
            "window_end": "2025-03-11T00:00:00"}
    guessed = google_world.call("calendar_find_slots", args).data
    assert "time zone unknown for lee@partner.example" in guessed["note"]  # not shared: assumed London
    assert guessed["slots"][0]["start"] == "2025-03-10T09:00+00:00"
    fake.calendars[LEE].readable_by.add(ALEX)
    known = google_world.call("calendar_find_slots", args).data  # Tokyo's 9–17:30 never meets London's
    assert known["slots"] == [] and "no common free slot" in known["note"]


def test_unknown_attendees_are_reported_as_unknown_not_free(google_world):
    result = google_world.call("calendar_find_slots", {
        "attendees": ["ghost@nowhere.example"], "duration_minutes": 30, "max_results": 1,
        "window_start": "2025-03-10T00:00:00", "window_end": "2025-03-11T00:00:00"}).data
    assert result["unknown_attendees"] == ["ghost@nowhere.example"]
    assert "availability unknown for ghost@nowhere.example" in result["note"]
    assert "not known to be free" in result["note"]
    assert result["slots"][0]["start"] == "2025-03-10T09:00+00:00"


def test_freebusy_rate_limit(google_world):
    google_world.fake.fail("POST", "/freeBusy", 429, headers={"Retry-After": "3"})
    with pytest.raises(RateLimited) as err:
        google_world.call("calendar_freebusy", {"emails": [DANA], "time_min": "2025-03-10T00:00:00",
                                                "time_max": "2025-03-11T00:00:00"})
    assert err.value.retry_after == 3.0


def test_pure_slot_finder_across_the_eu_switch():
    # London moves to BST on Sun 30 Mar 2025: 09:00 local is 09:00 UTC on Friday, 08:00 UTC on Monday.
    london, ny = "Europe/London", "America/New_York"
    lo = datetime(2025, 3, 28, tzinfo=ZoneInfo(london))
    hi = datetime(2025, 4, 1, tzinfo=ZoneInfo(london))
    slots = find_slots(window_start=lo, window_end=hi, duration=timedelta(minutes=30),
                       busy={}, zones={"a": london}, max_results=100)
    starts = [s.astimezone(UTC) for s, _ in slots]
    assert min(s for s in starts if s.day == 28).hour == 9
    assert min(s for s in starts if s.day == 31).hour == 8
    both = find_slots(window_start=lo, window_end=hi, duration=timedelta(minutes=30), busy={},
                      zones={"a": london, "b": ny}, max_results=100)
    monday = [s.astimezone(UTC) for s, _ in both if s.astimezone(UTC).day == 31]
    assert (monday[0].hour, monday[0].minute) == (13, 0)  # 09:00 EDT
    assert monday[-1].astimezone(ZoneInfo(london)).strftime("%H:%M") == "17:00"  # ends 17:30 BST
