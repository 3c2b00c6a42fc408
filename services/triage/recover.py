"""The reconciler's part for triage (called from services/reconcile.py every minute):

- a run still `running` (never claimed) older than the queued stale time lost its task: the task is
  sent again (the claim makes a second delivery a no-op);
- a run `classifying` whose claim is older than `WORKMODE_TRIAGE_STALE_S` lost its worker: it goes
  back to `running` and the task is sent again; the next claim is a new attempt, and only the
  attempt holding the claim may end the run (services/triage/run._still_ours), so a worker that was
  only slow writes nothing. After `WORKMODE_TRIAGE_MAX_ATTEMPTS` the run fails, saying why;
- a finished run whose digest DM is still due (the queue lost the task) gets it sent again.
Each change is made under the run's row lock after checking its state again."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from services import queues
from services.config import get_settings
from services.jobs.dispatch import after_commit, send_task
from services.store.models import TriageRun, utcnow
from services.triage import ending

DIGEST_WITHIN = timedelta(days=1)  # older undelivered digests are left to the web page


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _claimed_at(run: TriageRun) -> datetime:
    raw = (run.counts or {}).get("claimed_at")
    return _aware(datetime.fromisoformat(raw)) if raw else _aware(run.created_at)


def _send_after_commit(session: Session, name: str, run_id: str) -> None:
    after_commit(session, lambda: send_task(name, [run_id]))


def recover(session: Session, *, stale: datetime) -> dict[str, int]:
    """Returns counts of what it did; commits each run's change on its own."""
    s = get_settings()
    now = utcnow()
    lost_worker = now - timedelta(seconds=s.triage_stale_s)
    out: dict[str, int] = {}
    ids = session.exec(select(TriageRun.id).where(col(TriageRun.status).in_(("running", "classifying")),
                                                  col(TriageRun.created_at) < stale)).all()
    for run_id in ids:
        run = session.exec(select(TriageRun).where(TriageRun.id == run_id).with_for_update()
                           .execution_options(populate_existing=True)).one()
        if run.status == "running" and _claimed_at(run) < _aware(stale):
            _send_after_commit(session, queues.TRIAGE_RUN, run.id)
            out["triage_resent"] = out.get("triage_resent", 0) + 1
        elif run.status == "classifying" and _claimed_at(run) < lost_worker:
            if int((run.counts or {}).get("attempt") or 0) >= s.triage_max_attempts:
                run.status, run.finished_at = "failed", now
                run.error = f"its worker died {s.triage_max_attempts} times; not tried again"
                ending.ended(session, run)
                out["triage_failed"] = out.get("triage_failed", 0) + 1
            else:
                run.status = "running"  # taken over: the next claim is a new attempt
                _send_after_commit(session, queues.TRIAGE_RUN, run.id)
                out["triage_taken_over"] = out.get("triage_taken_over", 0) + 1
            session.add(run)
        session.commit()
    finished = session.exec(select(TriageRun).where(
        col(TriageRun.status).in_(("done", "failed")), col(TriageRun.finished_at) < stale,
        col(TriageRun.finished_at) > now - DIGEST_WITHIN)).all()
    for run in finished:
        if ((run.digest or {}).get("delivery") or {}).get("slack") == ending.DUE:
            send_task(queues.TRIAGE_DIGEST, [run.id])
            out["digest_resent"] = out.get("digest_resent", 0) + 1
    session.commit()
    return out
