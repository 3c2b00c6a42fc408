"""The organisation-wide audit trail: append-only rows (`AuditEvent`) for what a security team asks
about. Who asked for what (`job_created`), who decided which action with which arguments hash
(`action_decided`, `action_auto_approved`, `approval_expired`, `approval_reassigned`), what ran and
how it ended (`action_succeeded` / `failed` / `in_doubt` / `cancelled`, `job_completed` …), policy
and people changes (`policy_changed`, `org_created`, `person_added`, `role_changed`,
`person_deactivated`), sign-ins (`signed_in`) and connections (`connection_made`,
`connection_removed`).

Written where those things happen, in the same transaction: the per-job timeline
(`services.jobs.events.record`) hands every event to `from_job_event`, which keeps the kinds above;
sign-in, credentials and administration call `record`. This module only appends and reads: there is
no update and no delete. An action's arguments are never copied in (only their hash), and every
string passes `scrub`, which blanks anything shaped like a credential."""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session, col, select

from services.store.models import Action, AuditEvent, Job, Principal

# Per-job timeline kinds worth an audit row, and the name they get there.
JOB_EVENT_KINDS = {
    "created": "job_created",
    "decided": "action_decided",
    "auto_approved": "action_auto_approved",
    "approval_expired": "approval_expired",
    "approval_reassigned": "approval_reassigned",
    "action_succeeded": "action_succeeded",
    "action_failed": "action_failed",
    "action_in_doubt": "action_in_doubt",
    "action_cancelled": "action_cancelled",
    "completed": "job_completed",
    "failed": "job_failed",
    "cancelled": "job_cancelled",
    "expired": "job_expired",
}
# Keys of a timeline event's data that may go into the audit trail (ids, names, short text).
KEPT_KEYS = {"source", "prompt", "decision", "reason", "feedback", "edited", "tool", "error", "result",
             "to", "from_", "count"}
TEXT_MAX = 500
CSV_FIELDS = ["id", "at", "kind", "actor_id", "actor_email", "job_id", "action_id", "subject", "data"]

# Shapes of credentials that must never be stored even if a person pasted one somewhere.
_SECRET_SHAPES = re.compile(
    r"(wm_[A-Za-z0-9_\-]{16,}"                       # Workmode API tokens
    r"|xox[abposr]-[A-Za-z0-9\-]{8,}"                # Slack tokens
    r"|ya29\.[A-Za-z0-9_\-\.]{10,}"                  # Google access tokens
    r"|1//[A-Za-z0-9_\-]{20,}"                       # Google refresh tokens
    r"|ATAT[A-Za-z0-9_\-=]{16,}"                     # Atlassian API tokens
    r"|(?i:bearer)\s+[A-Za-z0-9_\-\.=]{12,}"         # bearer headers
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)")
REDACTED = "[redacted]"

Actor = Principal | str | None


def scrub(value: Any) -> Any:
    """The value with every credential-shaped string blanked and long text cut."""
    if isinstance(value, str):
        text = _SECRET_SHAPES.sub(REDACTED, value)
        return text if len(text) <= TEXT_MAX else text[:TEXT_MAX] + "…"
    if isinstance(value, dict):
        return {str(k): scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return scrub(str(value))


def record(session: Session, *, org_id: str, kind: str, actor: Actor = None, job_id: Optional[str] = None,
           action_id: Optional[str] = None, subject: Optional[str] = None, **data: Any) -> AuditEvent:
    """Append one row (the caller commits, so it lands with the change it describes)."""
    actor_id, actor_email = _actor(session, actor)
    row = AuditEvent(org_id=org_id, kind=kind, actor_id=actor_id, actor_email=actor_email, job_id=job_id,
                     action_id=action_id, subject=scrub(subject) if subject else None,
                     data=scrub({k: v for k, v in data.items() if v is not None}))
    session.add(row)
    return row


def from_job_event(session: Session, job_id: str, kind: str, *, action_id: Optional[str], actor: Optional[str],
                   data: dict[str, Any]) -> None:
    """The audit row for a per-job timeline event, if its kind is one the trail keeps."""
    audit_kind = JOB_EVENT_KINDS.get(kind)
    if audit_kind is None:
        return
    job = session.get(Job, job_id)
    if job is None:
        return
    kept: dict[str, Any] = {k: v for k, v in data.items() if k in KEPT_KEYS}
    subject = None
    if action_id:
        action = session.get(Action, action_id)
        if action is not None:
            subject = action.tool
            kept.update(tool=action.tool, connector=action.connector, args_hash=action.args_hash,
                        approved_hash=action.approved_hash, status=action.status,
                        risk_flags=sorted({str(f.get("kind")) for f in action.risk_flags or []}))
            kept.pop("result", None)  # what a tool returned may quote other people's data: the outcome is enough
    record(session, org_id=job.org_id, kind=audit_kind, actor=actor or ("policy" if audit_kind ==
           "action_auto_approved" else None), job_id=job_id, action_id=action_id, subject=subject,
           requester_id=job.principal_id, **kept)


def _actor(session: Session, actor: Actor) -> tuple[Optional[str], Optional[str]]:
    if isinstance(actor, Principal):
        return actor.id, actor.email
    if actor is None:
        return None, None
    person = session.get(Principal, actor)
    return actor, person.email if person is not None else None


# ---------------------------------------------------------------- reading
def query(session: Session, *, org_id: str, since: Optional[datetime] = None, until: Optional[datetime] = None,
          kind: Optional[str] = None, actor_email: Optional[str] = None, job_id: Optional[str] = None,
          limit: Optional[int] = 200, offset: int = 0, oldest_first: bool = False) -> list[AuditEvent]:
    """One organisation's rows, filtered; newest first unless `oldest_first` (exports)."""
    stmt = select(AuditEvent).where(AuditEvent.org_id == org_id)
    if since is not None:
        stmt = stmt.where(col(AuditEvent.at) >= since)
    if until is not None:
        stmt = stmt.where(col(AuditEvent.at) < until)
    if kind:
        stmt = stmt.where(col(AuditEvent.kind).startswith(kind) if kind.endswith("_") else AuditEvent.kind == kind)
    if actor_email:
        stmt = stmt.where(AuditEvent.actor_email == actor_email.strip().lower())
    if job_id:
        stmt = stmt.where(AuditEvent.job_id == job_id)
    order = col(AuditEvent.id) if oldest_first else col(AuditEvent.id).desc()
    stmt = stmt.order_by(order).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.exec(stmt))


def as_dict(row: AuditEvent) -> dict[str, Any]:
    return {"id": row.id, "at": row.at.isoformat() if row.at else None, "kind": row.kind, "actor_id": row.actor_id,
            "actor_email": row.actor_email, "job_id": row.job_id, "action_id": row.action_id,
            "subject": row.subject, "data": row.data}


def export(rows: Iterable[AuditEvent], fmt: str) -> Iterable[str]:
    """Rows as JSON Lines (one object a line) or CSV (header first; `data` as a JSON column), in
    pieces to write out as they come."""
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps(as_dict(row), sort_keys=True, default=str) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({**as_dict(row), "data": json.dumps(row.data, sort_keys=True, default=str)})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()
