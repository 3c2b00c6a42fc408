"""Google Calendar against the real service's rules (issue 15, items 11 and 12): a patch replaces
arrays whole, so an update keeps what the model did not change; all-day and timed changes clear
the other kind of time; a Google Group is never "free"; a never-existing event was not cancelled."""
from __future__ import annotations

import pytest

from connectors.base import NotFound
from tests.fakes.google_api import ALEX, DANA, LEE

ROOM = "c_1889abc@resource.calendar.google.com"


def test_an_update_keeps_rooms_optional_flags_and_responses(google_world):
    fake = google_world.fake
    ev = fake.add_event(ALEX, summary="Planning", start="2025-03-12T10:00:00+00:00", end="2025-03-12T11:00:00+00:00")
    ev["attendees"] = [
        {"email": ALEX, "organizer": True, "self": True, "responseStatus": "accepted"},
        {"email": DANA, "optional": True, "responseStatus": "accepted", "displayName": "Dana"},
        {"email": ROOM, "resource": True, "responseStatus": "accepted", "displayName": "Room 4"},
    ]
    listed = google_world.call("calendar_list_events", {"time_min": "2025-03-12T00:00:00",
                                                        "time_max": "2025-03-13T00:00:00"}).data["events"]
    assert ROOM not in listed[0]["attendees"]  # the model never sees the room

    google_world.call("calendar_update_event", {"event_id": ev["id"], "attendees": [ALEX, DANA, LEE]}, action_id="u1")
    after = {a["email"]: a for a in fake.event(ev["id"])["attendees"]}
    assert set(after) == {ALEX, DANA, LEE, ROOM}
    assert after[DANA]["optional"] is True and after[DANA]["responseStatus"] == "accepted"
    assert after[ROOM]["resource"] is True and after[ROOM]["responseStatus"] == "accepted"
    assert after[LEE]["responseStatus"] == "needsAction"

    google_world.call("calendar_update_event", {"event_id": ev["id"], "attendees": [LEE]}, action_id="u2")
    assert {a["email"] for a in fake.event(ev["id"])["attendees"]} == {ALEX, LEE, ROOM}  # Dana removed, as asked


def test_all_day_to_timed_clears_the_date_and_back(google_world):
    fake = google_world.fake
    ev = fake.add_event(ALEX, summary="Offsite", start="2025-03-12", end="2025-03-13", all_day=True)
    google_world.call("calendar_update_event", {"event_id": ev["id"], "start": "2025-03-12T10:00:00",
                                                "end": "2025-03-12T12:00:00"}, action_id="t1")
    start = fake.event(ev["id"])["start"]
    assert "date" not in start and start["dateTime"].startswith("2025-03-12T10:00:00")
    result = google_world.call("calendar_update_event", {"event_id": ev["id"], "start": "2025-03-14",
                                                         "end": "2025-03-15"}, action_id="t2")
    assert fake.event(ev["id"])["start"] == {"date": "2025-03-14"}
    assert fake.event(ev["id"])["end"] == {"date": "2025-03-15"}
    assert result.data["start"] == "2025-03-14"
    assert google_world.verify("calendar_update_event", {"event_id": ev["id"], "start": "2025-03-14",
                                                         "end": "2025-03-15"}, "t2")["start"] == "2025-03-14"


def test_a_group_in_freebusy_is_not_free(google_world):
    fake = google_world.fake
    team = "team@acme.example"
    fake.groups[team] = [DANA]
    # Dana (New York) is busy for the first hour that New York and London working hours share.
    fake.add_event(DANA, summary="Busy", start="2025-03-10T09:00:00-04:00", end="2025-03-10T10:00:00-04:00")
    window = {"window_start": "2025-03-10T00:00:00", "window_end": "2025-03-11T00:00:00"}
    slots = google_world.call("calendar_find_slots", {"attendees": [team], "duration_minutes": 30,
                                                      "max_results": 1, **window}).data
    assert slots["groups"] == {team: [DANA]} and slots["unknown_attendees"] == []
    assert slots["slots"][0]["start"] == "2025-03-10T14:00+00:00"  # after Dana's busy hour, in her hours

    fb = google_world.call("calendar_freebusy", {"emails": [team, DANA], "time_min": "2025-03-10T00:00:00",
                                                 "time_max": "2025-03-11T00:00:00"}).data["calendars"]
    assert "busy" not in fb[team] and fb[team]["errors"][0]["reason"] == "group" and fb[team]["members"] == [DANA]
    assert fb[DANA]["busy"]


def test_a_group_too_large_to_expand_is_unknown(google_world):
    fake = google_world.fake
    everyone = "all@acme.example"
    fake.groups[everyone] = [f"p{i}@acme.example" for i in range(101)]  # groupExpansionMax is at most 100
    slots = google_world.call("calendar_find_slots", {
        "attendees": [everyone], "duration_minutes": 30, "max_results": 1,
        "window_start": "2025-03-10T00:00:00", "window_end": "2025-03-11T00:00:00"}).data
    assert slots["unknown_attendees"] == [everyone] and "not known to be free" in slots["note"]
    fb = google_world.call("calendar_freebusy", {"emails": [everyone], "time_min": "2025-03-10T00:00:00",
                                                 "time_max": "2025-03-11T00:00:00"}).data["calendars"]
    assert fb[everyone]["errors"][0]["reason"] == "groupTooBig"


def test_cancelling_a_never_existing_event_is_not_cancelled(google_world):
    args = {"event_id": "nosuchevent0001"}
    assert google_world.verify("calendar_cancel_event", args, "c1") is None  # absent: the retry runs...
    with pytest.raises(NotFound):  # ...and says what is true
        google_world.call("calendar_cancel_event", args, action_id="c1")
    ev = google_world.fake.add_event(ALEX, summary="Gone", start="2025-03-12T10:00:00+00:00",
                                     end="2025-03-12T11:00:00+00:00")
    google_world.call("calendar_cancel_event", {"event_id": ev["id"]}, action_id="c2")
    assert google_world.verify("calendar_cancel_event", {"event_id": ev["id"]}, "c2")["cancelled"] is True
