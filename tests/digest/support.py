"""A triage run as the pipeline leaves it: a job of kind "triage" whose (scripted) model proposed
real Actions through the engine, a TriageRun and one TriageItem per email, linked to the actions."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from connectors.sandbox.models import SandboxMailThread
from services.jobs.service import create_job
from services.store.db import get_engine
from services.store.models import Action, Job, Principal, TriageItem, TriageRun
from tests.fakes.model_server import text, tool_calls
from tests.support.jobs import actions, wait_status, wait_until

NEWS = "The Weekly Byte #212: Postgres 17 in production"
NEWS_OLD = "The Weekly Byte #211: Queues all the way down"
URGENT = "URGENT: orders stuck in sync since 06:00 UTC"


def thread(subject: str, owner: str) -> str:
    with Session(get_engine()) as s:
        return s.exec(select(SandboxMailThread).where(SandboxMailThread.subject == subject,
                                                      SandboxMailThread.owner == owner)).one().id


@dataclass
class Run:
    run_id: str
    job_id: str
    archive: Action  # low-risk
    labels: Action  # low-risk
    reply: Action  # outside recipient: a risk flag
    items: dict[str, int]


def as_triage_job(job_id: str) -> None:
    """The job is a triage run's job, as the pipeline leaves it (kind "triage": the runner completes
    it once every proposal has its result, never asking the model; learning reads these jobs). The
    scripted model proposed through an ordinary job first, since a triage job never calls it."""
    with Session(get_engine()) as s:
        job = s.get_one(Job, job_id)
        job.kind = "triage"
        s.add(job)
        s.commit()


def triage_run(worker, person: Principal) -> Run:
    """Three proposals for three emails: archive a newsletter, label another, draft a reply to Globex."""
    news, old, urgent = (thread(x, person.email) for x in (NEWS, NEWS_OLD, URGENT))
    worker.push(tool_calls(
        ("gmail_archive", {"thread_id": news}),
        ("gmail_modify_labels", {"thread_id": old, "add": ["Reading"], "remove": ["INBOX"]}),
        ("gmail_create_draft", {"to": ["ops@globex.example"], "subject": "Re: " + URGENT, "thread_id": urgent,
                                "body": "Hannah, we are on it; ETA by 14:00."})))
    worker.set_default(text("Triage done."))
    with Session(get_engine(), expire_on_commit=False) as s:
        job = create_job(session=s, principal=person, prompt="Triage my inbox", source="schedule")
        s.commit()
    wait_status(job.id, "waiting")
    found = wait_until(lambda: (lambda a: a if len(a) == 3 else None)(actions(job.id)), what="three proposals")
    by_tool = {a.tool: a for a in found}
    as_triage_job(job.id)
    with Session(get_engine(), expire_on_commit=False) as s:
        run = TriageRun(principal_id=person.id, trigger="schedule", status="done")
        s.add(run)
        s.flush()
        one = {"principal_id": person.id, "run_id": run.id, "job_id": job.id}
        rows = [
            TriageItem(**one, message_id=f"m-news-{run.id}", thread_id=news,
                       sender="The Weekly Byte <newsletter@weeklybyte.example>", subject=NEWS, category="newsletter",
                       priority="low", reason="A newsletter.", action_ids=[by_tool["gmail_archive"].id]),
            TriageItem(**one, message_id=f"m-old-{run.id}", thread_id=old,
                       sender="The Weekly Byte <newsletter@weeklybyte.example>", subject=NEWS_OLD,
                       category="newsletter", priority="low", reason="A newsletter.",
                       action_ids=[by_tool["gmail_modify_labels"].id]),
            TriageItem(**one, message_id=f"m-urgent-{run.id}", thread_id=urgent,
                       sender="Hannah Lee <ops@globex.example>", subject=URGENT, category="escalation",
                       priority="high", needs_reply=True, reason="A customer escalation.",
                       action_ids=[by_tool["gmail_create_draft"].id]),
        ]
        s.add_all(rows)
        s.commit()
        items = {r.message_id.rsplit("-", 1)[0]: r.id for r in rows}
        return Run(run.id, job.id, by_tool["gmail_archive"], by_tool["gmail_modify_labels"],
                   by_tool["gmail_create_draft"], items)
