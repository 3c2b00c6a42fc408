"""What happens when a (non-dry) triage run ends, done or failed, in the commit that ends it:

- the ScheduleRun that started it is marked `done` or `failed` (with the error), and
- its digest is planned: the web page `/triage/<run>` always exists; a Slack DM is due when the
  schedule's delivery names `slack` (a push-triggered run follows the person's triage schedule, and
  only when it triaged something; a manual run outside a schedule is shown where it was started);
  when it names `email`, the run proposed a draft of the digest to the person with its actions
  (services/triage/email_digest.py) and the plan records it.
  `TriageRun.digest["delivery"]` records the plan, and the `workmode.triage.digest` task, sent after
  the commit, delivers the DM once (services/slackapp/digest.deliver_once); the reconciler sends it
  again when the queue lost it (services/triage/recover.py).
"""
from __future__ import annotations

from typing import Any, Optional

from sqlmodel import Session, col, select

from services import queues
from services.jobs.dispatch import after_commit, send_task
from services.store.models import Schedule, ScheduleRun, TriageRun, utcnow

DUE = "due"


def channels(session: Session, run: TriageRun, *, triaged: Optional[int] = None) -> list[str]:
    """Where this run's digest goes (besides the web page, which always exists). `triaged`: the
    emails it triaged, when asked before the run records its counts."""
    schedule: Optional[Schedule] = None
    if run.schedule_run_id:
        srun = session.get(ScheduleRun, run.schedule_run_id)
        schedule = session.get(Schedule, srun.schedule_id) if srun else None
    elif run.trigger == "push":
        if not (triaged if triaged is not None else (run.counts or {}).get("triaged")):
            return []  # a push that found nothing new tells nobody
        schedule = session.exec(select(Schedule).where(
            Schedule.principal_id == run.principal_id, Schedule.kind == "triage",
            col(Schedule.enabled).is_(True)).order_by(col(Schedule.created_at))).first()
    if schedule is None:
        return []
    return [c for c in (schedule.delivery or []) if c in ("slack", "web", "email")]


def ended(session: Session, run: TriageRun) -> None:
    """Called in the transaction that sets the run's final status (done or failed)."""
    if run.dry_run:
        return
    if run.schedule_run_id:
        srun = session.get(ScheduleRun, run.schedule_run_id)
        if srun is not None and srun.status == "started":
            srun.status = "done" if run.status == "done" else "failed"
            srun.finished_at = utcnow()
            if run.status != "done" and run.error:
                srun.note = f"triage failed: {run.error}"[:1000]
            session.add(srun)
    wanted = channels(session, run)
    delivery: dict[str, Any] = {"channels": wanted}
    if "slack" in wanted:
        delivery["slack"] = DUE
    if "email" in wanted:  # proposed with the run's actions (services/triage/email_digest.py)
        delivery["email"] = "draft proposed" if (run.digest or {}).get("email_action") else "nothing to send"
    run.digest = {**(run.digest or {}), "delivery": delivery}
    session.add(run)
    if "slack" in wanted:
        run_id = run.id
        after_commit(session, lambda: send_task(queues.TRIAGE_DIGEST, [run_id]))
