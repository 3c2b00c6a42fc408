"""A triage run's Job on the real embedded worker: low-risk proposals run by policy and change the
sandbox mailbox once; a person rejects the rest; the job then completes without asking the model
anything (a triage job's proposals come from the run, never from the agent)."""
from __future__ import annotations

from sqlmodel import Session, select

from connectors.sandbox.fixture_triage import LABELLED
from connectors.sandbox.models import SandboxMailMessage
from services import queues
from services.approvals.service import decide
from services.broker import send_task
from services.store.db import get_engine
from services.store.models import Action, ActionStatus, Job, Organisation, TriageItem, TriageRun
from services.triage.run import execute_run, start_run
from tests.fakes.model_server import dynamic
from tests.support.jobs import wait_status, wait_until
from tests.triage.helpers import alex, classifier, seed


def test_low_risk_runs_by_policy_and_the_job_completes_after_the_decisions(worker):
    worker.set_default(dynamic(classifier()))
    p, org = alex()
    with Session(get_engine()) as s:
        o = s.get_one(Organisation, org.id)
        o.policy = {**o.policy, "triage": {"auto_low_risk": [p.email]}}
        s.add(o)
        s.commit()
    news = [e for e in LABELLED if e["expected"]["category"] == "newsletter"][:2]
    esc = [e for e in LABELLED if e["expected"]["category"] == "escalation"][:1]
    ids = seed(news + esc, ago=0)
    with Session(get_engine()) as s:  # only these are new in the mailbox
        for m in s.exec(select(SandboxMailMessage).where(SandboxMailMessage.id.not_in(ids))):
            m.labels = [x for x in m.labels if x != "INBOX"]
            s.add(m)
        s.commit()
    with Session(get_engine(), expire_on_commit=False) as s:
        r = start_run(s, p, trigger="schedule")
        s.commit()
    send_task(queues.TRIAGE_RUN, [r.id])  # the task, on the real (embedded) worker

    def finished_run() -> TriageRun | None:
        with Session(get_engine()) as s:
            got = s.get_one(TriageRun, r.id)
            return got if got.status in ("done", "failed") else None

    done = wait_until(finished_run)
    assert done.status == "done", done.error
    assert execute_run(r.id).status == "done"  # a second delivery finds the run claimed: nothing twice
    with Session(get_engine()) as s:
        assert len(s.exec(select(TriageItem)).all()) == 3
    asked = len(worker.requests)
    with Session(get_engine()) as s:
        job = s.exec(select(Job).where(Job.kind == "triage")).one()
        pending = [a for a in s.exec(select(Action).where(Action.job_id == job.id))
                   if a.status == ActionStatus.pending]
    assert [a.tool for a in pending] == ["gmail_create_draft"]

    def newsletters_archived() -> bool:
        with Session(get_engine()) as s:
            rows = [s.get_one(SandboxMailMessage, i) for i in ids[:2]]
            return all("INBOX" not in m.labels and "Reading" in m.labels for m in rows)

    wait_until(newsletters_archived)
    with Session(get_engine()) as s:
        decide(session=s, action_id=pending[0].id, actor=p, decision="reject", shown_hash=pending[0].args_hash,
               reason="I will call Hannah instead")
        s.commit()
    finished = wait_status(job.id, "completed")
    assert finished.result and "settled" in finished.result
    assert len(worker.requests) == asked  # the model was never asked to continue a triage job
    with Session(get_engine()) as s:
        acts = list(s.exec(select(Action).where(Action.job_id == job.id)))
        assert sorted(a.status for a in acts) == ["rejected", "succeeded", "succeeded", "succeeded", "succeeded"]
        assert {i.status for i in s.exec(select(TriageItem))} == {"proposed"}
