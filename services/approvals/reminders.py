"""Reminders about pending approvals, run from the reconciler's minute tick.

- A pending approval nudges the people who may decide it (`services.policy`: the requester, and
  the organisation's approvers when the requester is not one) once it has waited `after_s`, and
  again `before_expiry_s` before it expires: interval 0 and interval 1.
- Every person with approvals waiting for them (for an hour or more) gets one "waiting for you"
  summary a day, at or after `summary_hour` in their own time zone.
- That an approval expired is already an `approval_expired` event; the notifier tells the
  requester (services/slackapp/sync.py), as it sends the reminders and summaries.

Each reminder and summary is an Event row (`approval_reminded` with the interval's index and the
people nudged; `approvals_summary` with the person and their local day), written under a lock
(the job's row for a reminder, the person's row for a summary) after checking that no such row
exists: a second tick, or two beats at once, never sends one twice. A decided (or expired)
approval is no longer pending, so its reminders stop. The web queue reads the same rows.

Settings (services/config.py) give the defaults; an organisation's policy overrides them:
policy["reminders"] = {"after_s": 14400, "before_expiry_s": 7200, "summary_hour": 9}, where 0 or
null turns a reminder off and null turns the summary off.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.config import get_settings
from services.jobs import events
from services.policy import is_approver, may_decide
from services.store.models import Action, ActionStatus, Event, Job, JobStatus, Organisation, Principal, utcnow

REMINDED = "approval_reminded"
SUMMARY = "approvals_summary"
INTERVALS = ("after", "before_expiry")  # the index of each is the interval's number in the event
SUMMARY_MAX_ITEMS = 20
# The summary lists what has been waiting; an approval from the last hour was just sent anyway.
SUMMARY_MIN_AGE = timedelta(hours=1)


@dataclass(frozen=True)
class ReminderPolicy:
    after_s: Optional[int]  # None: no reminder after a wait
    before_expiry_s: Optional[int]  # None: no reminder before expiry
    summary_hour: Optional[int]  # None: no daily summary


def _seconds(value: Any, default: int) -> Optional[int]:
    if value is None or value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default if default > 0 else None  # not a number: the installation's default
    return int(value) if value > 0 else None


def reminder_policy(org: Organisation) -> ReminderPolicy:
    """The organisation's reminder settings: its policy's `reminders` over the installation's."""
    settings = get_settings()
    given = (org.policy or {}).get("reminders")
    given = given if isinstance(given, dict) else {}
    after = _seconds(given["after_s"], settings.reminder_after_s) if "after_s" in given \
        else _seconds(settings.reminder_after_s, 0)
    before = _seconds(given["before_expiry_s"], settings.reminder_before_expiry_s) if "before_expiry_s" in given \
        else _seconds(settings.reminder_before_expiry_s, 0)
    hour: Any = given.get("summary_hour", settings.reminder_summary_hour)
    if hour is not None and (isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23):
        hour = settings.reminder_summary_hour if 0 <= settings.reminder_summary_hour <= 23 else None
    return ReminderPolicy(after, before, hour)


def aware(moment: datetime) -> datetime:
    """A stored time as UTC (SQLite hands times back without their zone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def due_interval(action: Action, policy: ReminderPolicy, now: datetime) -> Optional[int]:
    """The latest reminder interval this pending approval has reached, if any."""
    created = aware(action.created_at)
    expires = aware(action.expires_at) if action.expires_at is not None else None
    due: Optional[int] = None
    if policy.after_s is not None and now >= created + timedelta(seconds=policy.after_s):
        due = 0
    if policy.before_expiry_s is not None and expires is not None:
        moment = expires - timedelta(seconds=policy.before_expiry_s)
        if moment > created and moment <= now < expires:  # an approval that never waited gets none
            due = 1
    if due == 0 and expires is not None and now >= expires:
        return None  # expired: the reconciler ends it; no reminder any more
    return due


def to_remind(org: Organisation, job: Job, people: Iterable[Principal]) -> list[Principal]:
    """Whom a pending approval of `job` nudges: the requester, and the organisation's approvers
    when the requester is not one (the people who may decide it)."""
    everyone = [p for p in people if may_decide(org, job, p)]
    requester = next((p for p in everyone if p.id == job.principal_id), None)
    if requester is not None and is_approver(org, requester):
        return [requester]
    return everyone


def send_reminders(*, session: Session, now: Optional[datetime] = None) -> dict[str, int]:
    """One pass: record the reminders and summaries that are due (each at most once), committing
    after each. The notifier sends them to Slack after the commit; the web queue shows them."""
    now = now or utcnow()
    rows = list(session.exec(
        select(Action, Job).join(Job, col(Job.id) == Action.job_id)
        .where(Action.status == ActionStatus.pending, Job.status == JobStatus.waiting)
        .order_by(col(Action.created_at))
    ).all())
    if not rows:
        session.commit()
        return {}
    orgs = {o.id: o for o in session.exec(select(Organisation).where(
        col(Organisation.id).in_({job.org_id for _, job in rows})))}
    people: dict[str, list[Principal]] = defaultdict(list)
    for person in session.exec(select(Principal).where(col(Principal.org_id).in_(set(orgs)))):
        people[person.org_id].append(person)
    # Detach what was read, so that nothing reloads it later: each claim below starts its own
    # transaction, and its first statement must be the lock.
    for obj in {id(o): o for o in [*orgs.values(), *(p for ps in people.values() for p in ps),
                                   *(x for row in rows for x in row)]}.values():
        if obj in session:
            session.expunge(obj)
    session.commit()
    counts = {"reminders_sent": 0, "summaries_sent": 0}
    for action, job in rows:
        org = orgs[job.org_id]
        index = due_interval(action, reminder_policy(org), now)
        if index is not None and _claim_reminder(session, action, job, index, to_remind(org, job, people[org.id]),
                                                 now):
            counts["reminders_sent"] += 1
        session.commit()
    counts["summaries_sent"] = _summaries(session, rows, orgs, people, now)
    return {k: v for k, v in counts.items() if v}


def _claim_reminder(session: Session, action: Action, job: Job, index: int, nudged: list[Principal],
                    now: datetime) -> bool:
    # The first statement takes the job row's write lock (PostgreSQL: the row; SQLite: the
    # database), as decide() does, so the check and the insert below are one step for every tick.
    session.execute(update(Job).where(col(Job.id) == job.id).values(version=Job.version))
    status = session.scalar(select(col(Action.status)).where(col(Action.id) == action.id))
    if status != ActionStatus.pending:
        return False  # decided (or expired) since we looked: reminders stop
    earlier = session.exec(select(Event.data).where(Event.action_id == action.id, Event.kind == REMINDED)).all()
    if any(int((data or {}).get("index", -1)) >= index for data in earlier):
        return False  # this interval (or a later one) was reminded already
    events.record(session, job.id, REMINDED, action_id=action.id, index=index, interval=INTERVALS[index],
                  tool=action.tool, approvers=[p.id for p in nudged],
                  waited_s=int((now - aware(action.created_at)).total_seconds()))
    return True


def _local_day(person: Principal, now: datetime) -> tuple[str, int]:
    try:
        zone = ZoneInfo(person.time_zone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    return local.date().isoformat(), local.hour


def _summaries(session: Session, rows: list[tuple[Action, Job]], orgs: dict[str, Organisation],
               people: dict[str, list[Principal]], now: datetime) -> int:
    by_org: dict[str, list[tuple[Action, Job]]] = defaultdict(list)
    for action, job in rows:
        by_org[job.org_id].append((action, job))
    due: list[tuple[Principal, str, list[tuple[Action, Job]]]] = []
    for org_id, pending in by_org.items():
        org = orgs[org_id]
        hour = reminder_policy(org).summary_hour
        if hour is None:
            continue
        for person in people[org_id]:
            day, local_hour = _local_day(person, now)
            mine = [(a, j) for a, j in pending
                    if may_decide(org, j, person) and aware(a.created_at) <= now - SUMMARY_MIN_AGE]
            if mine and local_hour >= hour:
                due.append((person, day, mine))
    if not due:
        return 0
    since = now - timedelta(days=2)
    done = {(e.actor, (e.data or {}).get("day")) for e in session.exec(select(Event).where(
        Event.kind == SUMMARY, col(Event.actor).in_([p.id for p, _, _ in due]), col(Event.created_at) >= since))}
    session.commit()
    sent = 0
    for person, day, mine in due:
        if (person.id, day) not in done and _claim_summary(session, person, day, mine, since):
            sent += 1
        session.commit()
    return sent


def _claim_summary(session: Session, person: Principal, day: str, mine: list[tuple[Action, Job]],
                   since: datetime) -> bool:
    session.execute(update(Principal).where(col(Principal.id) == person.id).values(email=Principal.email))
    earlier = session.exec(select(Event.data).where(Event.kind == SUMMARY, Event.actor == person.id,
                                                    col(Event.created_at) >= since)).all()
    if any((data or {}).get("day") == day for data in earlier):
        return False
    items = [{"action_id": a.id, "job_id": j.id, "tool": a.tool, "title": (a.preview or {}).get("title") or a.tool,
              "since": aware(a.created_at).isoformat()} for a, j in mine[:SUMMARY_MAX_ITEMS]]
    # The summary is one person's, not one job's; the timeline row it needs is the oldest job's.
    events.record(session, mine[0][1].id, SUMMARY, actor=person.id, principal=person.id, day=day,
                  count=len(mine), items=items)
    return True


def reminders_of(session: Session, action_ids: Iterable[str]) -> dict[str, int]:
    """How many reminders each of these approvals has sent (for the web queue's marker)."""
    ids = list(action_ids)
    if not ids:
        return {}
    counts: dict[str, int] = defaultdict(int)
    for action_id in session.exec(select(Event.action_id).where(Event.kind == REMINDED,
                                                                col(Event.action_id).in_(ids))):
        if action_id is not None:
            counts[action_id] += 1
    return dict(counts)
