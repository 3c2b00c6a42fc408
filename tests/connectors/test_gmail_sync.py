"""Incremental inbox sync for triage: history.list from a cursor that only moves forward, bounded
backlogs, and an expired cursor that triggers a reported resync."""
from __future__ import annotations

import pytest
from sqlmodel import Session

from connectors.gmail.sync import advance_cursor, sync_inbox
from services.store.db import get_engine
from services.store.models import Schedule
from tests.fakes.google_api import ALEX, DANA, LEE, mail, make_world


@pytest.fixture
def google_world(store, fake_google):
    """Sync runs on both stores: the schedule row is locked (FOR UPDATE on PostgreSQL)."""
    return make_world(fake_google)


def _schedule(world) -> str:
    with Session(get_engine()) as s:
        sched = Schedule(principal_id=world.principal_id)
        s.add(sched)
        s.commit()
        return sched.id


def _sync(world, schedule_id: str, **kw):
    with Session(get_engine()) as s:
        result = sync_inbox(world.ctx(s), schedule_id, **kw)
        s.commit()
    with Session(get_engine()) as s:
        assert s.get(Schedule, schedule_id).cursor == result.cursor
    return result


def _subjects(world, result) -> list[str]:
    return [world.fake.message(ALEX, m["id"]).parsed["Subject"] for m in result.messages]


def test_first_run_takes_a_baseline_then_history_brings_only_new_inbox_mail(google_world):
    fake = google_world.fake
    fake.deliver(ALEX, mail(DANA, ALEX, "old news"))
    sid = _schedule(google_world)
    first = _sync(google_world, sid)
    assert first.mode == "initial" and _subjects(google_world, first) == ["old news"] and "baseline" in first.note

    fake.deliver(ALEX, mail(DANA, ALEX, "new one"))
    google_world.call("gmail_create_draft", {"to": [DANA], "subject": "a draft", "body": "x"})
    google_world.call("gmail_send", {"to": [LEE], "subject": "sent by me", "body": "x"})
    fake.deliver(ALEX, mail(LEE, ALEX, "new two"))
    second = _sync(google_world, sid)
    assert second.mode == "incremental" and not second.resynced
    assert _subjects(google_world, second) == ["new one", "new two"]  # oldest first; no drafts or sent mail
    assert int(second.cursor) > int(first.cursor)
    assert fake.calls("GET", "/history")[-1]["params"]["startHistoryId"] == first.cursor

    third = _sync(google_world, sid)
    assert third.messages == [] and third.cursor == second.cursor


def test_a_backlog_is_taken_in_bounded_bites_without_gaps(google_world):
    fake = google_world.fake
    sid = _schedule(google_world)
    _sync(google_world, sid)
    for i in range(5):
        fake.deliver(ALEX, mail(DANA, ALEX, f"m{i}"))
    bite = _sync(google_world, sid, max_messages=2)
    assert _subjects(google_world, bite) == ["m0", "m1"] and bite.more
    rest = _sync(google_world, sid, max_messages=10)
    assert _subjects(google_world, rest) == ["m2", "m3", "m4"] and not rest.more


def test_history_pages_are_followed(google_world):
    fake = google_world.fake
    sid = _schedule(google_world)
    _sync(google_world, sid)
    fake.page_cap = 4  # Google may return fewer records than asked for, with a nextPageToken
    for i in range(10):
        fake.deliver(ALEX, mail(DANA, ALEX, f"bulk {i}"))
    result = _sync(google_world, sid)
    assert _subjects(google_world, result) == [f"bulk {i}" for i in range(10)]
    assert len(fake.calls("GET", "/history")) == 3


def test_expired_cursor_triggers_a_reported_bounded_resync(google_world):
    fake = google_world.fake
    sid = _schedule(google_world)
    fake.deliver(ALEX, mail(DANA, ALEX, "before"))
    start = _sync(google_world, sid)
    fake.deliver(ALEX, mail(DANA, ALEX, "while stale"))
    fake.expire_history(ALEX)  # Gmail forgot our cursor: history.list answers 404
    fake.deliver(ALEX, mail(DANA, ALEX, "after"))

    result = _sync(google_world, sid, resync_days=7, max_messages=2)
    assert result.mode == "resync" and result.resynced
    assert start.cursor in result.note and "expired" in result.note and "only the newest 2" in result.note
    assert result.truncated
    assert _subjects(google_world, result) == ["while stale", "after"]
    assert int(result.cursor) > int(start.cursor)
    # The next run is incremental again from the new cursor.
    fake.deliver(ALEX, mail(DANA, ALEX, "later"))
    nxt = _sync(google_world, sid)
    assert nxt.mode == "incremental" and _subjects(google_world, nxt) == ["later"]


def test_the_cursor_never_moves_back(google_world):
    sid = _schedule(google_world)
    with Session(get_engine()) as s:
        sched = s.get(Schedule, sid)
        assert advance_cursor(s, sched, "500") == "500"
        assert advance_cursor(s, sched, "499") == "500"
        assert advance_cursor(s, sched, "9000") == "9000"
        s.commit()
