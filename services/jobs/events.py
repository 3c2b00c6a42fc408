"""The append-only per-job timeline. Secrets never go in here: data holds ids, names and text
the person already sees."""
from __future__ import annotations

from typing import Any, Optional

from sqlmodel import Session

from services import audit
from services.jobs import notify
from services.store.models import Event


def record(
    session: Session,
    job_id: str,
    kind: str,
    *,
    action_id: Optional[str] = None,
    actor: Optional[str] = None,
    **data: Any,
) -> Event:
    event = Event(job_id=job_id, kind=kind, action_id=action_id, actor=actor, data=data)
    session.add(event)
    audit.from_job_event(session, job_id, kind, action_id=action_id, actor=actor, data=data)  # the org-wide trail
    notify.changed(session, job_id, kind)  # cheap: marks the job; Slack is told after commit
    return event
