"""Telling people when a job changes (today: Slack), without making other jobs pay for it.

`events.record()` calls `changed()` for every event. That only notes the job id in the session
(a dict operation; nothing at all when the Slack app is not configured). When the transaction
commits, each noted job that has somewhere to be told gets ONE notify task, however many events
it recorded in that transaction:
  - jobs that came from Slack (their thread message follows every change), and scheduled jobs
    delivered as a Slack DM (`reply_to["slack_dm"]`: followed the same way, in the person's DM), and
  - any job whose approvals may have to be DMed to a person (`APPROVAL_KINDS` only).
Whether a job came from Slack is read from the session's identity map (the engine has the Job
loaded when it records events), then from a small per-process cache (a job's source never
changes); only when both miss does it cost one indexed query, once per job and process.
A job from the CLI, the web or a schedule therefore costs a dict lookup per commit and no broker
hop, except for the few approval events.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.util import identity_key
from sqlmodel import col

from services import queues
from services.config import get_settings
from services.jobs.dispatch import send_task
from services.store.models import Job

log = logging.getLogger(__name__)

NOTIFY = queues.NOTIFY  # routed to the maintenance queue: short tasks, consumed by every worker
MARKED = "notify_marked"
DUE = "notify_due"
_HOOKED = "notify_hooked"
# Events that may need a DM about an approval (posting it, showing its decision, a reminder or the
# daily summary of services/approvals/reminders.py, telling the requester it expired, handing it to
# the approvers when its requester was deactivated).
APPROVAL_KINDS = frozenset({"approval_requested", "decided", "approval_expired", "cancelled", "failed", "expired",
                            "approval_reminded", "approvals_summary", "approval_reassigned"})
_CACHE_MAX = 10_000
_is_slack_cache: dict[str, bool] = {}


def enabled() -> bool:
    """The Slack app is configured: a bot token and a way to receive requests."""
    s = get_settings()
    return bool(s.slack_bot_token.get_secret_value()) and bool(
        s.slack_signing_secret.get_secret_value() or s.slack_app_token.get_secret_value())


def changed(session: OrmSession, job_id: str, kind: str) -> None:
    """Called by events.record(): note that `job_id` changed in this transaction."""
    if not enabled():
        return
    marked = session.info.get(MARKED)
    if marked is None:
        _listen(session)
        marked = session.info[MARKED] = {}
    marked.setdefault(job_id, set()).add(kind)


def _listen(session: OrmSession) -> None:
    """Attach the commit hooks to this session (once): sessions that mark nothing pay nothing."""
    if session.info.get(_HOOKED):
        return
    event.listen(session, "before_commit", _resolve)
    event.listen(session, "after_commit", _send)
    event.listen(session, "after_rollback", _drop)
    session.info[_HOOKED] = True


def _cache(job_id: str, value: bool) -> bool:
    if len(_is_slack_cache) >= _CACHE_MAX:
        _is_slack_cache.clear()  # crude but thread-safe; a miss costs one indexed query
    _is_slack_cache[job_id] = value
    return value


def _from_slack(session: OrmSession, job_id: str) -> bool:
    known = _is_slack_cache.get(job_id)
    if known is not None:
        return known
    source: Optional[str] = None
    reply_to: Any = None
    obj = session.identity_map.get(identity_key(Job, job_id))
    if obj is not None:
        loaded = inspect(obj).dict  # loaded state only: never triggers a query
        source, reply_to = loaded.get("source"), loaded.get("reply_to")
    if source is None or (source == "schedule" and reply_to is None):
        row = session.execute(select(col(Job.source), col(Job.reply_to)).where(col(Job.id) == job_id)).first()
        if row is not None:
            source, reply_to = row[0], row[1]
    return _cache(job_id, followed_in_slack(source, reply_to))


def followed_in_slack(source: Optional[str], reply_to: Any) -> bool:
    """The job has a Slack message of its own: it came from Slack, or it is a scheduled job whose
    answer is delivered as a Slack DM."""
    return source == "slack" or (source == "schedule" and isinstance(reply_to, dict) and bool(reply_to.get("slack_dm")))


def _resolve(session: OrmSession) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released (SQLAlchemy says "commit" for it too): wait for the real one
    marked = session.info.pop(MARKED, None)
    if not marked:
        return
    due = [job_id for job_id, kinds in marked.items() if _from_slack(session, job_id) or kinds & APPROVAL_KINDS]
    if due:
        session.info.setdefault(DUE, set()).update(due)


def _send(session: OrmSession) -> None:
    if session.in_nested_transaction():
        return
    for job_id in session.info.pop(DUE, ()):
        try:
            enqueue(job_id)
        except Exception:  # the next change sends another; nothing in the engine depends on it
            log.exception("could not enqueue the notify task for job %s", job_id)


def _drop(session: OrmSession) -> None:
    if session.in_nested_transaction():
        return  # a savepoint rolled back: the marks stay (a notify too many renders the same state)
    session.info.pop(MARKED, None)
    session.info.pop(DUE, None)


def enqueue(job_id: str, *, countdown: float | None = None) -> None:
    send_task(NOTIFY, [job_id], countdown=countdown)
