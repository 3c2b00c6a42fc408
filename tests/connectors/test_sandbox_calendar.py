"""Sandbox calendars: listing in the viewer's zone, free/busy, slot finding across zones and DST, writes."""
from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from connectors.base import NotPermitted, ToolError
from connectors.sandbox.seed import DEMO_EMAIL
from tests.support.sandbox import DANA, TOOLS, World

LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")


@pytest.fixture
def make_world(store):
    worlds = []

    def make(now):
        worlds.append(World(now))
        return worlds[-1]

    yield make
    for w in worlds:
        w.close()


def slots(world, start, end, attendees=(DANA,), minutes=30, buffer=0, as_=DEMO_EMAIL):
    return world.call("calendar_find_slots", {
        "attendees": list(attendees), "duration_minutes": minutes, "window_start": start,
        "window_end": end, "buffer_minutes": buffer, "max_results": 50}, as_=as_).data["slots"]


def starts(found):
    return [datetime.fromisoformat(s["start"]).astimezone(UTC) for s in found]


def assert_working_hours_and_free(world, found, people, minutes):
    for s in found:
        a, b = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
        assert (b - a).total_seconds() == minutes * 60
        for tz in (LONDON, NEW_YORK):
            la, lb = a.astimezone(tz), b.astimezone(tz)
            assert la.weekday() < 5 and time(9) <= la.time() and lb.time() <= time(17, 30)
        fb = world.call("calendar_freebusy", {"emails": people, "time_min": s["start"], "time_max": s["end"]})
        assert set(fb.data["calendars"]) == set(people)
        assert all(cal["busy"] == [] for cal in fb.data["calendars"].values()), s


def test_slots_across_us_dst_switch(make_world):
    # US clocks change on 9 March 2025, the UK's on 30 March: London is 5 h ahead, then 4 h.
    w = make_world(datetime(2025, 3, 5, 12, 0, tzinfo=UTC))
    found = slots(w, "2025-03-03T00:00:00", "2025-03-15T00:00:00")
    got = starts(found)
    assert datetime(2025, 3, 4, 15, 15, tzinfo=UTC) in got  # Tue 15:15 GMT = 10:15 EST
    assert datetime(2025, 3, 11, 14, 30, tzinfo=UTC) in got  # Tue 14:30 GMT = 10:30 EDT
    assert datetime(2025, 3, 11, 15, 15, tzinfo=UTC) not in got  # Dana's 1:1 after the switch
    assert not [t for t in got if t.date() == datetime(2025, 3, 3).date()]  # Monday is full
    by_start = dict(zip(got, found, strict=True))
    local = by_start[datetime(2025, 3, 11, 14, 30, tzinfo=UTC)]["local"]
    assert "10:30" in local[DANA] and "EDT" in local[DANA] and "14:30" in local[DEMO_EMAIL]
    assert_working_hours_and_free(w, found, [DEMO_EMAIL, DANA], 30)


def test_slots_across_eu_dst_switch_and_buffer(make_world):
    # The UK leaves summer time on 26 October 2025, the US on 2 November.
    w = make_world(datetime(2025, 10, 22, 9, 0, tzinfo=UTC))
    got = starts(slots(w, "2025-10-20T00:00:00", "2025-11-01T00:00:00"))
    assert datetime(2025, 10, 21, 14, 15, tzinfo=UTC) in got  # 15:15 BST = 10:15 EDT
    assert datetime(2025, 10, 28, 14, 30, tzinfo=UTC) in got  # 14:30 GMT = 10:30 EDT
    # with 15 minutes of buffer, the 45-minute gap on Tuesday of a normal week is too small
    buffered = starts(slots(w, "2025-10-20T00:00:00", "2025-10-25T00:00:00", buffer=15))
    assert datetime(2025, 10, 21, 14, 15, tzinfo=UTC) not in buffered
    # all four people, an hour: nothing fits in a week this busy
    everyone = slots(w, "2025-10-20T00:00:00", "2025-10-25T00:00:00", minutes=60,
                     attendees=(DANA, "priya@northwind.example", "sam@northwind.example"))
    assert everyone == []


def test_list_events_in_viewer_time_zone(make_world):
    w = make_world(datetime(2025, 1, 15, 12, 0, tzinfo=UTC))
    mine = w.call("calendar_list_events", {"time_min": "2025-01-13T00:00:00", "time_max": "2025-01-14T00:00:00"})
    standup = next(e for e in mine.data["events"] if e["summary"] == "Daily standup")
    assert standup["start"] == "2025-01-13T15:00+00:00"
    theirs = w.call("calendar_list_events", {"calendar": DEMO_EMAIL, "time_min": "2025-01-13T00:00:00",
                                             "time_max": "2025-01-14T00:00:00"}, as_=DANA)
    standup = next(e for e in theirs.data["events"] if e["summary"] == "Daily standup")
    assert standup["start"] == "2025-01-13T10:00-05:00"
    assert theirs.untrusted and theirs.source == f"calendar_list_events:{DEMO_EMAIL}"
    with pytest.raises(NotPermitted):
        w.call("calendar_list_events", {"calendar": "ops@globex.example"})
    fb = w.call("calendar_freebusy", {"emails": [DANA, "ops@globex.example"], "time_min": "2025-01-13T00:00:00",
                                      "time_max": "2025-01-14T00:00:00"}).data["calendars"]
    assert fb[DANA]["busy"] and fb["ops@globex.example"]["errors"]


def test_event_writes_verify_and_preview(make_world):
    w = make_world(datetime(2025, 6, 4, 9, 0, tzinfo=UTC))
    args = {"summary": "Q3 review", "start": "2025-06-10T15:15:00", "end": "2025-06-10T15:45:00",
            "attendees": [DANA], "description": "Numbers and slides"}
    preview = TOOLS["calendar_create_event"].preview(TOOLS["calendar_create_event"].parse(args))
    assert preview.kind == "event"
    assert "15:15" in preview.fields["Start"] and "your time zone" in preview.fields["Start"]
    zoned = TOOLS["calendar_create_event"].parse({**args, "start": "2025-06-10T10:15:00-04:00"})
    assert "UTC-04:00" in TOOLS["calendar_create_event"].preview(zoned).fields["Start"]
    _, created = w.write("calendar_create_event", args)
    assert created["start"] == "2025-06-10T15:15+01:00"  # naive = the requester's zone (BST)
    seen = w.call("calendar_list_events", {"time_min": "2025-06-10T00:00:00", "time_max": "2025-06-11T00:00:00"},
                  as_=DANA).data["events"]
    assert any(e["id"] == created["event_id"] and e["start"] == "2025-06-10T10:15-04:00" for e in seen)
    assert datetime(2025, 6, 10, 14, 15, tzinfo=UTC) not in starts(
        slots(w, "2025-06-09T00:00:00", "2025-06-14T00:00:00"))
    _, updated = w.write("calendar_update_event", {"event_id": created["event_id"], "location": "Zoom"})
    assert updated["updated"] == ["location"]
    with pytest.raises(NotPermitted):
        w.call("calendar_cancel_event", {"event_id": created["event_id"]}, as_=DANA)
    _, cancelled = w.write("calendar_cancel_event", {"event_id": created["event_id"]})
    assert cancelled["cancelled"]
    with pytest.raises(ToolError):
        w.call("calendar_create_event", {**args, "end": "2025-06-10T15:00:00"})
