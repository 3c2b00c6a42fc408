"""Keeping Gmail push watches (connectors/gmail/watch.py) for the people who want them: someone
with an enabled triage schedule whose organisation reads mail from Gmail, when push is configured
(`WORKMODE_GMAIL_PUSH_TOPIC`). Called from the schedules' tick (every minute; the query is cheap and
only what is due calls Google): a missing watch is started, one more than a day old is renewed
(Google's watch lasts 7 days and should be renewed daily), and a person who no longer has such a
schedule gets `users.stop` and their `MailWatch` row removed. A person whose grant is gone is logged
and tried again on a later tick; nothing here stops the tick."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Optional

from sqlmodel import Session, col, select

from connectors.base import ToolError
from connectors.gmail import watch as gmail_watch
from services.config import get_settings
from services.credentials.access import tool_context
from services.store.db import get_engine
from services.store.models import MailWatch, Organisation, Principal, Schedule, utcnow

log = logging.getLogger(__name__)
RENEW_EVERY = timedelta(days=1)
WATCH_LASTS = timedelta(days=7)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def wanted(session: Session) -> set[str]:
    """Principals with an enabled triage schedule whose organisation's mail connector is Gmail."""
    rows = session.exec(select(Principal, Organisation).join(Schedule, col(Schedule.principal_id) == col(Principal.id))
                        .join(Organisation, col(Organisation.id) == col(Principal.org_id))
                        .where(Schedule.kind == "triage", col(Schedule.enabled).is_(True))).all()
    return {p.id for p, org in rows if ((org.policy or {}).get("connectors") or {}).get("mail") == "gmail"}


def due(row: Optional[MailWatch], now: datetime) -> bool:
    if row is None or row.expires_at is None:
        return True
    return _aware(row.expires_at) - now < WATCH_LASTS - RENEW_EVERY


def keep_watches(now: Optional[datetime] = None) -> dict[str, int]:
    topic = get_settings().gmail_push_topic
    if not topic:
        return {}
    now = now or utcnow()
    out: dict[str, int] = {}
    with Session(get_engine(), expire_on_commit=False) as s:
        want = wanted(s)
        have = {w.principal_id: w for w in s.exec(select(MailWatch))}
    for principal_id in sorted(want | set(have)):
        try:
            with Session(get_engine(), expire_on_commit=False) as s:
                key = _sync_one(s, principal_id, topic, principal_id in want, now)
                s.commit()
        except ToolError as exc:
            log.warning("gmail watch for %s: %s", principal_id, exc.message[:300])
            key = "watch_failed"
        if key:
            out[key] = out.get(key, 0) + 1
    return out


def _sync_one(s: Session, principal_id: str, topic: str, want: bool, now: datetime) -> Optional[str]:
    row = s.exec(select(MailWatch).where(MailWatch.principal_id == principal_id).with_for_update()).first()
    person = s.get_one(Principal, principal_id)
    ctx = tool_context(s, principal_id=person.id, principal_email=person.email, org_id=person.org_id,
                       time_zone=person.time_zone or "UTC")
    if not want:
        if row is not None:
            gmail_watch.stop(ctx)
            s.delete(row)
            return "watch_stopped"
        return None
    if not due(row, now):
        return None
    got = gmail_watch.watch(ctx, topic)
    if row is None:
        row = MailWatch(principal_id=principal_id, email=got.email)
        key = "watch_started"
    else:
        key = "watch_renewed"
    row.email, row.history_id, row.expires_at = got.email, got.history_id, got.expires_at
    s.add(row)
    return key
