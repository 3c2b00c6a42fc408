"""A person's schedules: add, list, find, pause, resume, remove, run now. Functions that take the
session; the caller commits. What the CLI, the REST API, the web Settings page and Slack call."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Optional

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from services.errors import Invalid, NotFound
from services.schedules import recurrence
from services.store.models import Principal, Schedule, ScheduleRun, TriageRun, utcnow

KINDS = ("triage", "report", "request")
DELIVERIES = ("web", "slack", "email")
MAX_PROMPT_CHARS = 5000
MAX_SCHEDULES = 50  # per person


class ScheduleNotFound(NotFound):
    def __init__(self, ref: str):
        super().__init__("schedule", ref, "schedule",
                         message=f"no schedule {ref!r} of yours; list them with `workmode schedules list`")


def parse_delivery(value: str | Iterable[str] | None, principal: Principal) -> list[str]:
    """"slack,web" or a list → the delivery channels, in a fixed order; default: the web page, and
    a Slack DM when the person has a Slack account."""
    if value is None or value == "" or value == []:
        return ["web", "slack"] if principal.slack_user_id else ["web"]
    items = value.split(",") if isinstance(value, str) else list(value)
    chosen = {str(i).strip().lower() for i in items if str(i).strip()}
    unknown = sorted(chosen - set(DELIVERIES))
    if unknown or not chosen:
        raise Invalid(f"deliver: {', '.join(unknown) or 'nothing'} is not one of {', '.join(DELIVERIES)}", "deliver")
    return [d for d in DELIVERIES if d in chosen]


def add_schedule(*, session: Session, principal: Principal, kind: str, when: str, prompt: Optional[str] = None,
                 tz: Optional[str] = None, delivery: str | Iterable[str] | None = None,
                 now: Optional[datetime] = None) -> Schedule:
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        raise Invalid(f"kind: {kind!r} is not one of {', '.join(KINDS)}", "kind")
    text = (prompt or "").strip() or None
    if kind in ("report", "request") and not text:
        example = ("OPS tickets that changed last week, escalations in my inbox, #support highlights"
                   if kind == "report" else "summarise my unread mail from customers")
        raise Invalid(f"prompt: a {kind} needs a prompt saying what to do, e.g. {example!r}", "prompt")
    if text and len(text) > MAX_PROMPT_CHARS:
        raise Invalid(f"prompt: {len(text)} characters is too long (at most {MAX_PROMPT_CHARS})", "prompt")
    tz_name = (tz or "").strip() or principal.time_zone or "UTC"
    recurrence.zone(tz_name)
    rec = recurrence.parse_when(when)
    deliver = parse_delivery(delivery, principal)
    count = len(session.exec(select(Schedule.id).where(Schedule.principal_id == principal.id)).all())
    if count >= MAX_SCHEDULES:
        raise Invalid(f"you have {count} schedules, the most one person may have; remove one first", "when")
    now = now or utcnow()
    stored = rec.stored(recurrence.anchor_for(now, tz_name))
    first = recurrence.next_slot(stored, tz_name, now)
    if first is None:
        raise Invalid("when: this rule never happens again", "when")
    schedule = Schedule(principal_id=principal.id, kind=kind, when_text=" ".join(when.split()), rrule=stored,
                        time_zone=tz_name, prompt=text, delivery=deliver, next_run_at=first, enabled=True)
    session.add(schedule)
    session.flush()
    return schedule


def list_schedules(*, session: Session, principal: Principal) -> list[Schedule]:
    return list(session.exec(select(Schedule).where(Schedule.principal_id == principal.id)
                             .order_by(col(Schedule.created_at), col(Schedule.id))))


def find_schedule(*, session: Session, principal: Principal, ref: str) -> Schedule:
    """One of the person's own schedules by id or an unambiguous prefix (at least 6 characters).
    Someone else's schedule is "not found", like one that does not exist."""
    ref = (ref or "").strip().lower()
    if len(ref) < 6 or not ref.isalnum():
        raise ScheduleNotFound(ref)
    found = session.exec(select(Schedule).where(Schedule.principal_id == principal.id,
                                                col(Schedule.id).startswith(ref)).limit(2)).all()
    if not found:
        raise ScheduleNotFound(ref)
    if len(found) > 1:
        raise Invalid(f"schedule: {ref!r} matches more than one schedule; give more of its id", "schedule")
    return found[0]


def pause(*, session: Session, principal: Principal, ref: str) -> Schedule:
    schedule = find_schedule(session=session, principal=principal, ref=ref)
    schedule.enabled = False
    session.add(schedule)
    return schedule


def resume(*, session: Session, principal: Principal, ref: str, now: Optional[datetime] = None) -> Schedule:
    """Active again from the next slot: slots that passed while paused are not caught up."""
    schedule = find_schedule(session=session, principal=principal, ref=ref)
    if not schedule.enabled:
        upcoming = recurrence.next_slot(schedule.rrule, schedule.time_zone, now or utcnow())
        if upcoming is None:
            raise Invalid("when: this schedule never happens again; remove it", "when")
        schedule.next_run_at = upcoming
        schedule.enabled = True
        session.add(schedule)
    return schedule


def remove(*, session: Session, principal: Principal, ref: str) -> Schedule:
    """Delete the schedule and its run records; jobs and triage runs it started stay."""
    schedule = find_schedule(session=session, principal=principal, ref=ref)
    run_ids = select(ScheduleRun.id).where(ScheduleRun.schedule_id == schedule.id)
    session.exec(update(TriageRun).where(col(TriageRun.schedule_run_id).in_(run_ids))
                 .values(schedule_run_id=None))
    session.exec(delete(ScheduleRun).where(col(ScheduleRun.schedule_id) == schedule.id))
    session.delete(schedule)
    session.flush()
    return schedule


def recent_runs(*, session: Session, schedule_id: str, limit: int = 10) -> list[ScheduleRun]:
    return list(session.exec(select(ScheduleRun).where(ScheduleRun.schedule_id == schedule_id)
                             .order_by(col(ScheduleRun.slot_at).desc()).limit(limit)))


def run_now(*, session: Session, principal: Principal, ref: str, now: Optional[datetime] = None) -> ScheduleRun:
    """Start the schedule's work now, outside its slots (paused or not); the next slot is unchanged."""
    from services.schedules.tick import claim_and_start

    schedule = find_schedule(session=session, principal=principal, ref=ref)
    run = claim_and_start(session, schedule, slot_at=now or utcnow(), missed=0, note="run now")
    if run is None:
        raise Invalid("schedule: it was started at this very moment already", "schedule")
    return run
