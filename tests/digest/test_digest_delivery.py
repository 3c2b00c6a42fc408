"""A finished scheduled triage run delivers ONE digest: the schedule's delivery list decides (a
Slack DM through the `workmode.triage.digest` task on the real embedded worker, against the local
Slack Web API; the web page always), the DM says how many missed slots a caught-up run stands for,
a repeated delivery posts nothing, and the ScheduleRun that started the run is marked done."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from connectors.sandbox.fixture_triage import LABELLED
from connectors.sandbox.models import SandboxMailMessage
from services.schedules.service import add_schedule
from services.schedules.tick import tick
from services.slackapp.digest import deliver_once
from services.store.db import get_engine
from services.store.models import Principal, Schedule, ScheduleRun, TriageRun
from tests.fakes.model_server import dynamic
from tests.support.jobs import wait_until
from tests.triage.helpers import alex, classifier, seed

pytestmark = pytest.mark.usefixtures("settle", "triage_quiet")


@pytest.fixture
def triage_quiet(worker, slack):
    """After each test, wait until no triage run or digest DM is in the worker's hands."""
    yield

    def quiet() -> bool:
        with Session(get_engine()) as s:
            return all(r.status in ("done", "failed") and (r.digest.get("delivery") or {}).get("slack") != "due"
                       for r in s.exec(select(TriageRun)))
    wait_until(quiet, what="the triage runs and their digests to finish")


def only_new(ids: list[str]) -> None:
    with Session(get_engine()) as s:  # only the seeded emails are new in the mailbox
        for m in s.exec(select(SandboxMailMessage).where(SandboxMailMessage.id.not_in(ids))):
            m.labels = [x for x in m.labels if x != "INBOX"]
            s.add(m)
        s.commit()


def scheduled(delivery: list[str]) -> tuple[Principal, str]:
    p, _org = alex()
    with Session(get_engine(), expire_on_commit=False) as s:
        sched = add_schedule(session=s, principal=p, kind="triage", when="daily 07:30", delivery=delivery)
        s.commit()
        return p, sched.id


def finished(run_id: str) -> TriageRun:
    def done() -> TriageRun | None:
        with Session(get_engine()) as s:
            r = s.get_one(TriageRun, run_id)
            return r if r.status in ("done", "failed") else None
    return wait_until(done, what="the triage run to finish")


def test_a_caught_up_run_dms_one_digest_once(worker, slack):
    worker.set_default(dynamic(classifier()))
    news = [e for e in LABELLED if e["expected"]["category"] == "newsletter"][:2]
    esc = [e for e in LABELLED if e["expected"]["category"] == "escalation"][:1]
    only_new(seed(news + esc, ago=0))
    _p, sid = scheduled(["web", "slack"])
    with Session(get_engine()) as s:
        first = s.get_one(Schedule, sid).next_run_at
    [started] = tick(first + timedelta(days=2, hours=1))  # three slots passed: one run, missed=2
    assert started.missed == 2
    run = finished(started.triage_run_id)
    assert run.status == "done", run.error
    wait_until(lambda: (run_state(run.id).get("slack") == "sent") or None, what="the digest DM")
    posted = slack.fake.in_channel("D0ALEX")  # the digest only: no DM per proposal besides it
    assert len(posted) == len(run_state(run.id)["messages"]) == 1
    dump = json.dumps([m.blocks for m in posted])
    assert "3 emails" in dump and "2 missed slots" in dump and f"/triage/{run.id}" in dump
    assert "Approve all low-risk" in dump
    # Repeated deliveries (a redelivered task, the reconciler's resend) post nothing more.
    assert deliver_once(run.id) == "already" and deliver_once(run.id) == "already"
    assert len(slack.fake.in_channel("D0ALEX")) == len(posted)
    with Session(get_engine()) as s:
        srun = s.get_one(ScheduleRun, started.run_id)
        assert srun.status == "done" and srun.finished_at is not None
    assert run_state(run.id)["channels"] == ["web", "slack"]


def test_web_only_delivery_sends_no_dm(worker, slack):
    worker.set_default(dynamic(classifier()))
    only_new(seed([e for e in LABELLED if e["expected"]["category"] == "newsletter"][:1], ago=0))
    _p, sid = scheduled(["web"])
    with Session(get_engine()) as s:
        first = s.get_one(Schedule, sid).next_run_at
    [started] = tick(first + timedelta(minutes=1))
    run = finished(started.triage_run_id)
    assert run.status == "done", run.error
    assert run_state(run.id) == {"channels": ["web"]}
    assert deliver_once(run.id) == "already"  # nothing is due
    assert slack.fake.in_channel("D0ALEX") == []
    with Session(get_engine()) as s:
        assert s.get_one(ScheduleRun, started.run_id).status == "done"


def test_a_failed_run_marks_its_schedule_run_failed_and_says_so(worker, slack):
    from tests.fakes.model_server import error

    worker.set_default(error(400))
    only_new(seed([e for e in LABELLED if e["expected"]["category"] == "escalation"][:1], ago=0))
    _p, sid = scheduled(["slack"])
    with Session(get_engine()) as s:
        first = s.get_one(Schedule, sid).next_run_at
    [started] = tick(first + timedelta(minutes=1))
    run = finished(started.triage_run_id)
    assert run.status == "failed"
    with Session(get_engine()) as s:
        srun = s.get_one(ScheduleRun, started.run_id)
        assert srun.status == "failed" and "triage failed" in (srun.note or "")
    wait_until(lambda: (run_state(run.id).get("slack") == "sent") or None, what="the digest DM")
    posted = slack.fake.in_channel("D0ALEX")
    assert "The run failed" in json.dumps([m.blocks for m in posted])


def run_state(run_id: str) -> dict:
    with Session(get_engine()) as s:
        return dict((s.get_one(TriageRun, run_id).digest or {}).get("delivery") or {})


def test_email_delivery_proposes_one_draft_of_the_digest_to_the_person(worker, slack):
    """"email" in the schedule's delivery: the run proposes, with its other actions and through the
    gate, one gmail_create_draft to the person listing the emails and linking to the run's page;
    it waits for approval (nothing is drafted, let alone sent, until someone says yes)."""
    from services.store.models import Action

    worker.set_default(dynamic(classifier()))
    news = [e for e in LABELLED if e["expected"]["category"] == "newsletter"][:2]
    only_new(seed(news, ago=0))
    p, sid = scheduled(["web", "email"])
    with Session(get_engine()) as s:
        first = s.get_one(Schedule, sid).next_run_at
    [started] = tick(first + timedelta(minutes=1))
    run = finished(started.triage_run_id)
    assert run.status == "done", run.error
    assert run_state(run.id) == {"channels": ["web", "email"], "email": "draft proposed"}
    with Session(get_engine()) as s:
        draft = s.get_one(Action, run.digest["email_action"])
        assert draft.tool == "gmail_create_draft" and draft.status == "pending"
        assert draft.arguments["to"] == [p.email] and draft.arguments["subject"] == "Inbox triage digest: 2 email(s)"
        body = draft.arguments["body"]
        assert f"/triage/{run.id}" in body and all(e["subject"] in body for e in news)
        others = s.exec(select(Action).where(Action.job_id == draft.job_id, Action.id != draft.id)).all()
        assert others and all(a.tool != "gmail_create_draft" for a in others)  # the run's own proposals
    assert slack.fake.in_channel("D0ALEX") == []
