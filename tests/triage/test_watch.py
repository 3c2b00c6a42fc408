"""Gmail push watches (connectors/gmail/watch.py, services/triage/push_watch.py) against the local
Google API: the schedules' tick starts a watch (INBOX, the configured topic) for a person with a
triage schedule on Gmail, keeps it until it is a day old, renews it then, and stops it when the
schedule is paused; a topic Google refuses is logged and nothing is stored."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from services.config import reset_settings
from services.schedules.service import add_schedule, pause
from services.schedules.tick import tick
from services.store.db import get_engine
from services.store.models import MailWatch, Principal, utcnow
from services.triage.push_watch import keep_watches

TOPIC = "projects/workmode-test/topics/gmail-push"


def schedule(world) -> str:
    with Session(get_engine(), expire_on_commit=False) as s:
        p = s.get_one(Principal, world.principal_id)
        sched = add_schedule(session=s, principal=p, kind="triage", when="weekdays 08:00", delivery=["web"])
        s.commit()
        return sched.id


def watches() -> list[MailWatch]:
    with Session(get_engine(), expire_on_commit=False) as s:
        return list(s.exec(select(MailWatch)))


def test_watch_started_by_the_tick_renewed_daily_and_stopped(google_world, monkeypatch):
    fake = google_world.fake
    assert keep_watches() == {}  # push not configured: nothing
    monkeypatch.setenv("WORKMODE_GMAIL_PUSH_TOPIC", TOPIC)
    reset_settings()
    assert keep_watches() == {}  # nobody has a triage schedule yet
    sid = schedule(google_world)
    tick()  # the schedules' tick keeps the watches (no slot is due yet)
    [w] = watches()
    box = fake.mailboxes[google_world.email]
    assert box.watch["topicName"] == TOPIC and box.watch["labelIds"] == ["INBOX"]
    assert w.email == google_world.email and w.history_id == str(box.history_id)
    assert w.expires_at.replace(tzinfo=None) > (utcnow() + timedelta(days=6)).replace(tzinfo=None)
    calls = len(fake.calls("POST", "/watch"))
    assert keep_watches() == {} and len(fake.calls("POST", "/watch")) == calls  # less than a day old
    with Session(get_engine()) as s:  # a day later
        row = s.get_one(MailWatch, google_world.principal_id)
        row.expires_at = utcnow() + timedelta(days=5, hours=23)
        s.add(row)
        s.commit()
    assert keep_watches() == {"watch_renewed": 1}
    assert watches()[0].expires_at.replace(tzinfo=None) > (utcnow() + timedelta(days=6)).replace(tzinfo=None)
    with Session(get_engine()) as s:
        pause(session=s, principal=s.get_one(Principal, google_world.principal_id), ref=sid)
        s.commit()
    assert keep_watches() == {"watch_stopped": 1}
    assert box.watch is None and watches() == [] and len(fake.calls("POST", "/stop")) == 1


def test_a_topic_google_refuses_stores_nothing(google_world, monkeypatch):
    monkeypatch.setenv("WORKMODE_GMAIL_PUSH_TOPIC", "gmail-push")  # not projects/<p>/topics/<t>
    reset_settings()
    schedule(google_world)
    assert keep_watches() == {"watch_failed": 1}
    assert watches() == [] and google_world.fake.mailboxes[google_world.email].watch is None
