"""The schedules' tick (beat every minute, and `workmode schedules tick`): start what is due, once.

Exactly once per slot: a run is claimed by inserting its unique (schedule_id, slot_at) row in a
savepoint. Two ticks at once, a restarted beat or a repeated tick compute the same slot; the second
insert fails the unique constraint (PostgreSQL makes it wait for the first transaction, then
refuse), and that tick starts nothing. The claim, the schedule's new `next_run_at` and the run's
start (its TriageRun or Job) commit together, so a crash leaves either all of them or none.

Catch-up: when the tick finds several slots of one schedule already passed (Workmode was down),
it starts ONE run for the latest of them; `missed` counts the earlier ones it stands for (3 passed
slots → one run with missed=2), and the run's prompt or digest says so.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Optional

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.errors import WorkmodeError
from services.schedules import recurrence
from services.schedules.start import start_run
from services.store.db import get_engine
from services.store.models import Schedule, ScheduleRun, utcnow
from services.triage.push_watch import keep_watches

log = logging.getLogger(__name__)
MAX_DUE_PER_TICK = 500
MAX_CATCH_UP = 100_000  # slots counted at most when catching up (hourly for 11 years)


@dataclass(frozen=True)
class Started:
    schedule_id: str
    run_id: str
    kind: str
    slot_at: datetime
    missed: int
    job_id: Optional[str]
    triage_run_id: Optional[str]


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def claim_and_start(session: Session, schedule: Schedule, *, slot_at: datetime, missed: int,
                    since: Optional[datetime] = None, note: Optional[str] = None) -> Optional[ScheduleRun]:
    """Claim (schedule, slot_at) and start the run in the caller's transaction; None when the slot
    is already claimed (the caller's transaction is left as it was)."""
    run = ScheduleRun(schedule_id=schedule.id, slot_at=slot_at, missed=missed, note=note)
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        return None  # claimed by another tick (the savepoint's rollback dropped our row)
    try:
        with session.begin_nested():
            start_run(session, schedule, run, since=since, manual=note == "run now")
            session.flush()
    except WorkmodeError as exc:  # e.g. a prompt the job service refuses: the slot is spent, say why
        run.status, run.note, run.finished_at = "failed", f"could not start: {exc.message}", utcnow()
        session.add(run)
        log.warning("schedule %s: run for %s could not start: %s", schedule.id, slot_at, exc.message)
    return run


def due_slots(schedule: Schedule, now: datetime) -> list[datetime]:
    """The slots that passed and were not run: `next_run_at`, and every later one up to `now`."""
    first = aware(schedule.next_run_at)
    slots = [first]
    for slot in recurrence.slots_after(schedule.rrule, schedule.time_zone, first):
        if slot > now or len(slots) >= MAX_CATCH_UP:
            break
        slots.append(slot)
    return slots


def _run_due(session: Session, schedule_id: str, now: datetime) -> Optional[Started]:
    schedule = session.exec(select(Schedule).where(Schedule.id == schedule_id)
                            .execution_options(populate_existing=True)).first()
    if schedule is None or not schedule.enabled or aware(schedule.next_run_at) > now:
        return None  # removed, paused, or another tick already moved it on
    if not schedule.rrule:
        log.warning("schedule %s has no recurrence; pausing it", schedule.id)
        schedule.enabled = False
        session.add(schedule)
        return None
    slots = due_slots(schedule, now)
    slot, since = slots[-1], schedule.last_slot_at
    run = claim_and_start(session, schedule, slot_at=slot, missed=len(slots) - 1,
                          since=aware(since) if since else None)
    if run is None:
        return None
    schedule.last_slot_at = slot
    upcoming = recurrence.next_slot(schedule.rrule, schedule.time_zone, max(slot, now))
    if upcoming is None:
        schedule.enabled = False
    else:
        schedule.next_run_at = upcoming
    session.add(schedule)
    return Started(schedule.id, run.id, schedule.kind, slot, run.missed, run.job_id, run.triage_run_id)


def tick(now: Optional[datetime] = None) -> list[Started]:
    """Start every due slot once. Each schedule in its own transaction: one that fails (its person
    was removed, say) is logged and retried on the next tick, and does not hold up the others."""
    now = aware(now or utcnow())
    with Session(get_engine()) as s:
        due = list(s.exec(select(Schedule.id).where(col(Schedule.enabled).is_(True), col(Schedule.next_run_at) <= now)
                          .order_by(col(Schedule.next_run_at)).limit(MAX_DUE_PER_TICK)))
    started: list[Started] = []
    for schedule_id in due:
        with Session(get_engine(), expire_on_commit=False) as s:
            try:
                result = _run_due(s, schedule_id, now)
                s.commit()
            except Exception:
                s.rollback()
                log.exception("schedule %s could not start; the next tick tries again", schedule_id)
                continue
        if result is not None:
            started.append(result)
    try:  # Gmail push watches for the people with a triage schedule (a no-op unless push is configured)
        keep_watches()
    except Exception:
        log.exception("keeping the Gmail push watches failed; the next tick tries again")
    return started
