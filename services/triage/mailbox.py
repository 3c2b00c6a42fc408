"""Incremental mail for triage: what arrived since the person's cursor, from whichever connector
the organisation's policy picks for the mail family.

- Gmail: `history.list` from the stored history id (connectors/gmail/sync.py); an expired id
  re-reads a bounded window, reported.
- The sandbox: the cursor is the received time of the newest message read (ISO 8601, UTC). Read
  inclusively, so a message with the same time is never skipped; the TriageItem's uniqueness
  (person, message) drops the overlap. A cursor older than `triage_resync_days` counts as expired,
  as Gmail's history ids do after about a week, and is replaced by a bounded, reported window.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any, Optional

from sqlmodel import Session, col, select

from connectors.base import ToolContext
from connectors.sandbox.models import SandboxMailMessage
from services.config import get_settings
from services.store.models import Organisation, utcnow

CURSOR_MARGIN = timedelta(minutes=1)  # a sandbox cursor stays this far behind "now" (late commits)


@dataclass
class Mail:
    message_id: str
    thread_id: Optional[str]
    sender: str
    sender_name: str
    subject: str
    body: str
    received_at: Optional[datetime]
    labels: list[str] = field(default_factory=list)

    def brief(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "thread_id": self.thread_id, "sender": self.sender,
                "subject": self.subject,
                "received_at": self.received_at.isoformat() if self.received_at else None}


@dataclass
class Fetched:
    mails: list[Mail]
    cursor: Optional[str]  # where the next run starts
    mode: str  # initial | incremental | resync | window
    gap_note: Optional[str] = None
    more: bool = False  # backlog left for the next run (nothing lost: the cursor waits)


def mail_connector(org: Organisation) -> str:
    return str(((org.policy or {}).get("connectors") or {}).get("mail") or "sandbox")


def fetch(ctx: ToolContext, org: Organisation, cursor: Optional[str], *, days: Optional[int] = None) -> Fetched:
    """New mail since `cursor`, or, with `days`, the inbox of the last `days` days (a dry run)."""
    if mail_connector(org) == "gmail":
        return _gmail(ctx, cursor, days)
    return _sandbox(ctx, cursor, days)


# ---------------------------------------------------------------- sandbox
def _parse(cursor: Optional[str]) -> Optional[datetime]:
    try:
        return datetime.fromisoformat(cursor) if cursor else None
    except ValueError:
        return None


def _sandbox(ctx: ToolContext, cursor: Optional[str], days: Optional[int]) -> Fetched:
    s, now = get_settings(), utcnow()
    since, note, mode = _parse(cursor), None, "incremental"
    if days is not None:
        since, mode = now - timedelta(days=days), "window"
    elif cursor is None:
        since, mode = now - timedelta(days=s.triage_initial_days), "initial"
    elif since is None or _aware(since) < now - timedelta(days=s.triage_resync_days):
        since, mode = now - timedelta(days=s.triage_resync_days), "resync"
        note = (f"the stored mail cursor {cursor} had expired (older than {s.triage_resync_days} days); re-read "
                f"the inbox of the last {s.triage_resync_days} days instead. Mail older than that which arrived "
                "while the cursor was stale was not triaged.")
    assert since is not None
    q = (select(SandboxMailMessage)
         .where(SandboxMailMessage.org_id == ctx.org_id, SandboxMailMessage.owner == ctx.principal_email,
                col(SandboxMailMessage.date) >= since)
         .order_by(col(SandboxMailMessage.date), col(SandboxMailMessage.id)))
    rows = [m for m in ctx.session.exec(q) if "INBOX" in m.labels and not {"SPAM", "TRASH", "DRAFT"} & set(m.labels)
            and m.from_addr.lower() != ctx.principal_email.lower()]
    limit = s.triage_max_messages
    more = len(rows) > limit
    if more and mode in ("window", "resync", "initial"):
        rows = rows[-limit:]  # a window keeps the newest; the note says so
        extra = f"only the newest {limit} messages of the window were read"
        note = f"{note} {extra}." if note else extra + "."
        more = False
    elif more:
        rows = rows[:limit]  # an incremental backlog: the oldest first, the rest next run
    mails = [Mail(m.id, m.thread_id, m.from_addr, m.from_name, m.subject, m.body, _aware(m.date), list(m.labels))
             for m in rows]
    # A backlog: go on after the last message read. Otherwise up to a minute ago (later commits of
    # earlier-dated mail are read again next time and dropped as already triaged).
    new_cursor = (_aware(rows[-1].date) if more else max(_aware(since), now - CURSOR_MARGIN)).isoformat()
    return Fetched(mails, new_cursor, mode, note, more)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ---------------------------------------------------------------- gmail
def _gmail(ctx: ToolContext, cursor: Optional[str], days: Optional[int]) -> Fetched:
    from connectors.gmail import mime
    from connectors.gmail.sync import read_since, read_window
    from connectors.google.auth import GoogleSession

    s = get_settings()
    if days is not None:
        res = read_window(ctx, days, s.triage_max_messages)
        mode = "window"
    else:
        res = read_since(ctx, cursor, resync_days=s.triage_resync_days, initial_days=s.triage_initial_days,
                         max_messages=s.triage_max_messages)
        mode = res.mode
    g = GoogleSession(ctx)
    mails: list[Mail] = []
    for ref in res.messages:
        msg = g.call(g.gmail.messages().get(userId="me", id=ref["id"], format="full"), f"reading message {ref['id']}")
        payload = msg.get("payload") or {}
        h = mime.headers(payload)
        name, addr = parseaddr(h.get("from", ""))
        if addr.lower() == ctx.principal_email.lower():
            continue
        ms = int(msg.get("internalDate") or 0)
        mails.append(Mail(msg["id"], msg.get("threadId"), addr.lower(), name, h.get("subject", ""),
                          mime.decode(payload).body, datetime.fromtimestamp(ms / 1000, UTC) if ms else None,
                          list(msg.get("labelIds", []))))
    note = res.note if (res.resynced or res.truncated) else None
    return Fetched(mails, res.cursor, mode, note, res.more)


def already_triaged(session: Session, principal_id: str, message_ids: list[str]) -> set[str]:
    from services.store.models import TriageItem

    if not message_ids:
        return set()
    q = select(TriageItem.message_id).where(TriageItem.principal_id == principal_id,
                                            col(TriageItem.message_id).in_(message_ids))
    return set(session.exec(q))
