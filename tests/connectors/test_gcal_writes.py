"""Google Calendar writes: create with a client-chosen id derived from the action id (a retry cannot
make a second event), update, cancel — each verified, also after a simulated crash."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session

from connectors.base import NotFound, NotPermitted, ToolError, TransientError, args_hash
from connectors.gcal.common import event_id_for
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Action, ActionStatus, Job, utcnow
from tests.fakes.google_api import ALEX, DANA, LEE

CREATE = {"summary": "Q3 review", "start": "2025-03-10T14:00:00", "end": "2025-03-10T15:00:00",
          "attendees": [DANA, LEE, ALEX], "description": "Numbers", "location": "Room 1"}


def test_event_ids_are_valid_base32hex_and_stable():
    eid = event_id_for("0f3c9a7e2b0d4b8f9c1e5a6d7b8c9d0e")
    assert re.fullmatch(r"[a-v0-9]{5,1024}", eid) and eid == event_id_for("0f3c9a7e2b0d4b8f9c1e5a6d7b8c9d0e")
    assert eid != event_id_for("another-action")


def test_create_invites_attendees_and_a_retry_makes_no_second_event(google_world):
    fake = google_world.fake
    result = google_world.call("calendar_create_event", CREATE, action_id="act-1")
    assert result.data["event_id"] == event_id_for("act-1")
    assert result.data["start"] == "2025-03-10T14:00+00:00" and result.data["attendees"] == [DANA, LEE]
    ev = fake.event(event_id_for("act-1"))
    assert ev["organizer"]["email"] == ALEX and ev["extendedProperties"]["private"]["workmode_action"] == "act-1"
    assert ev["start"] == {"dateTime": "2025-03-10T14:00:00+00:00", "timeZone": "Europe/London"}
    assert fake.calls("POST", "/calendars/primary/events")[0]["params"]["sendUpdates"] == "all"

    again = google_world.call("calendar_create_event", CREATE, action_id="act-1")  # 409, then a lookup
    assert again.data["event_id"] == result.data["event_id"]
    assert len(fake.calendars[ALEX].events) == 1
    assert google_world.verify("calendar_create_event", CREATE, "act-1")["event_id"] == result.data["event_id"]
    assert google_world.verify("calendar_create_event", CREATE, "act-2") is None


def test_verify_finds_an_event_the_engine_never_recorded(google_world):
    with Session(get_engine()) as s:
        job = Job(org_id=google_world.org_id, principal_id=google_world.principal_id, prompt="meet",
                  status="running", lease_until=utcnow() + timedelta(hours=1))
        s.add(job)
        s.flush()
        canonical = google_world.tool("calendar_create_event").parse(CREATE).model_dump(mode="json")
        action = Action(job_id=job.id, tool_call_id="call00002", connector="gcal", tool="calendar_create_event",
                        arguments=canonical, args_hash=args_hash(canonical), approved_hash=args_hash(canonical),
                        status=ActionStatus.executing, attempts=1, executing_since=utcnow() - timedelta(hours=1))
        s.add(action)
        s.commit()
        action_id = action.id
    google_world.call("calendar_create_event", CREATE, action_id=action_id)  # happened; the worker died
    assert reconcile(executing_stale_s=0).get("executing_succeeded") == 1
    with Session(get_engine()) as s:
        done = s.get(Action, action_id)
        assert done.status == ActionStatus.succeeded and done.result["event_id"] == event_id_for(action_id)


def test_insert_failure_is_transient_and_verify_says_absent(google_world):
    google_world.fake.fail("POST", "/calendars/primary/events$", 500)
    with pytest.raises(TransientError):
        google_world.call("calendar_create_event", CREATE, action_id="act-9")
    assert google_world.verify("calendar_create_event", CREATE, "act-9") is None


def test_update_changes_only_given_fields_and_is_verifiable(google_world):
    fake = google_world.fake
    made = google_world.call("calendar_create_event", CREATE, action_id="c1").data
    args = {"event_id": made["event_id"], "summary": "Q3 review (moved)", "start": "2025-03-10T14:30:00"}
    assert google_world.verify("calendar_update_event", args, "u1") is None
    result = google_world.call("calendar_update_event", args, action_id="u1").data
    assert result["summary"] == "Q3 review (moved)" and result["updated"] == ["summary", "start"]
    assert result["start"] == "2025-03-10T14:30+00:00" and result["end"] == "2025-03-10T15:00+00:00"
    ev = fake.event(made["event_id"])
    assert ev["location"] == "Room 1" and ev["sequence"] == 1
    assert ev["extendedProperties"]["private"] == {"workmode_action": "c1", "workmode_last_action": "u1"}
    assert fake.calls("PATCH", made["event_id"])[0]["params"]["sendUpdates"] == "all"
    assert google_world.verify("calendar_update_event", args, "u1")["summary"] == "Q3 review (moved)"
    with pytest.raises(ToolError, match="end must be after start"):
        google_world.call("calendar_update_event", {"event_id": made["event_id"], "start": "2025-03-10T16:00:00"})
    with pytest.raises(ToolError, match="nothing to change"):
        google_world.call("calendar_update_event", {"event_id": made["event_id"]})


def test_only_the_organiser_changes_an_event(google_world):
    ev = google_world.fake.add_event(DANA, summary="Dana's", start="2025-03-10T13:00:00Z",
                                     end="2025-03-10T14:00:00Z", attendees=(ALEX,))
    with pytest.raises(NotPermitted, match="only the organiser"):
        google_world.call("calendar_update_event", {"event_id": ev["id"], "summary": "mine now"})
    with pytest.raises(NotPermitted):
        google_world.call("calendar_cancel_event", {"event_id": ev["id"]})
    with pytest.raises(NotFound):
        google_world.call("calendar_cancel_event", {"event_id": "doesnotexist1"})


def test_cancel_tells_attendees_and_is_verifiable(google_world):
    fake = google_world.fake
    made = google_world.call("calendar_create_event", CREATE, action_id="c2").data
    args = {"event_id": made["event_id"]}
    assert google_world.verify("calendar_cancel_event", args, "x1") is None
    result = google_world.call("calendar_cancel_event", args, action_id="x1").data
    assert result == {"event_id": made["event_id"], "summary": "Q3 review", "cancelled": True}
    assert fake.event(made["event_id"])["status"] == "cancelled"
    assert fake.calls("DELETE", made["event_id"])[0]["params"]["sendUpdates"] == "all"
    assert google_world.verify("calendar_cancel_event", args, "x1") == result
    with pytest.raises(ToolError, match="is cancelled"):
        google_world.call("calendar_cancel_event", args, action_id="x2")
    listed = google_world.call("calendar_list_events", {"time_min": "2025-03-10T00:00:00",
                                                        "time_max": "2025-03-11T00:00:00"}).data["events"]
    assert listed == []


def test_previews_match_the_sandbox(google_world):
    from connectors.sandbox.tools import connector as sandbox

    for name, args in (("calendar_create_event", CREATE), ("calendar_cancel_event", {"event_id": "e1"}),
                       ("calendar_update_event", {"event_id": "e1", "start": "2025-03-10T10:00:00+01:00"})):
        mine, theirs = google_world.tool(name), sandbox.tools[name]
        assert mine.preview(mine.parse(args)).as_dict() == theirs.preview(theirs.parse(args)).as_dict()
        assert mine.json_schema() == theirs.json_schema()
