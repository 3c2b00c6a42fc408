"""Triage on Gmail (the local Google server speaks the Gmail API; the real client library calls
it): history.list from the stored cursor, nothing triaged twice, an expired cursor resynced over
a bounded window and reported, proposals on Gmail threads."""
from __future__ import annotations

from sqlmodel import Session, select

from connectors.sandbox.fixture_triage import LABELLED
from services.model.client import ModelClient
from services.store.db import get_engine
from services.store.models import Action, Principal, TriageItem
from services.triage.run import execute_run, start_run
from tests.fakes.google_api import ALEX, mail
from tests.fakes.model_server import dynamic
from tests.triage.helpers import classifier, emails_in


def _run(world):
    with Session(get_engine(), expire_on_commit=False) as s:
        r = start_run(s, s.get_one(Principal, world.principal_id))
        s.commit()
    return execute_run(r.id, ModelClient())


def _deliver(fake, specs):
    for e in specs:
        fake.deliver(ALEX, mail(f"{e['from'][0]} <{e['from'][1]}>", ALEX, e["subject"], e["body"]))


def test_gmail_history_cursor_dedupe_and_resync(google_world, scripted_model, fast_model):
    scripted_model.set_default(dynamic(classifier()))
    fake = google_world.fake
    news = [e for e in LABELLED if e["expected"]["category"] == "newsletter"]
    _deliver(fake, news[:2])
    first = _run(google_world)
    assert first.status == "done", first.error
    assert first.counts["mode"] == "initial" and first.counts["triaged"] == 2
    with Session(get_engine()) as s:
        rows = list(s.exec(select(TriageItem)))
        labels = [a for a in s.exec(select(Action)) if a.tool == "gmail_modify_labels"]
    assert {r.category for r in rows} == {"newsletter"} and all(r.thread_id for r in rows)
    assert {a.arguments["thread_id"] for a in labels} == {r.thread_id for r in rows}

    _deliver(fake, news[2:4])
    second = _run(google_world)
    assert second.counts["mode"] == "incremental" and second.counts["triaged"] == 2
    assert second.cursor_from == first.cursor_to and int(second.cursor_to) > int(first.cursor_to)
    assert fake.calls("GET", "/history")[-1]["params"]["startHistoryId"] == first.cursor_to
    asked = [s for body in scripted_model.requests for _r, _m, s in emails_in(body)]
    assert sorted(asked) == sorted(e["subject"] for e in news[:4])  # each email classified once

    fake.expire_history(ALEX)
    _deliver(fake, news[4:5])
    third = _run(google_world)
    assert third.counts["mode"] == "resync" and "expired at Gmail" in third.gap_note
    assert third.counts["triaged"] == 1 and third.counts["already_triaged"] == 4  # the window, deduped
    with Session(get_engine()) as s:
        assert len(s.exec(select(TriageItem)).all()) == 5
