"""Incremental inbox sync for triage: `history.list` from the schedule's stored cursor.

- The cursor (Schedule.cursor, a Gmail history id) only moves forward.
- A long backlog is taken in bounded bites: when `max_messages` is reached the cursor stops at the
  last history record read, and the next run goes on from there (no gap).
- An expired or invalid cursor (Gmail answers 404) triggers a bounded resync — the inbox of the
  last `resync_days` — that is reported in the result (`resynced`, `note`, `truncated`), never a
  silent gap. The first run (no cursor) takes a baseline the same way.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal, Optional

from sqlmodel import Session

from connectors.base import NotFound, ToolContext, ToolError
from connectors.google.auth import GoogleSession
from services.store.models import Schedule

SKIP = {"DRAFT", "SPAM", "TRASH"}
Mode = Literal["initial", "incremental", "resync"]


@dataclass
class SyncResult:
    cursor: str  # the stored cursor after this run
    mode: Mode
    messages: list[dict] = field(default_factory=list)  # [{"id", "thread_id"}], oldest first
    resynced: bool = False  # the old cursor had expired: a window was re-read instead
    truncated: bool = False  # more messages than max_messages in the window: the oldest were left out
    more: bool = False  # incremental backlog left for the next run (nothing lost: the cursor waits)
    note: Optional[str] = None

    def as_dict(self) -> dict:
        return asdict(self)


def advance_cursor(session: Session, schedule: Schedule, new: str) -> str:
    """Store `new` if it is ahead of the stored cursor; the cursor never moves back."""
    if schedule.cursor and int(new) <= int(schedule.cursor):
        return schedule.cursor
    schedule.cursor = str(new)
    session.add(schedule)
    session.flush()
    return schedule.cursor


def _window(g: GoogleSession, days: int, max_messages: int) -> tuple[str, list[dict], bool]:
    """(history id taken first, inbox messages of the last `days` oldest first, truncated?)."""
    start = str(g.call(g.gmail.getProfile(userId="me"), "reading the mailbox profile")["historyId"])
    found: list[dict] = []
    truncated = False
    for page in g.pages(lambda token: g.gmail.messages().list(
            userId="me", q=f"in:inbox newer_than:{days}d", maxResults=min(500, max_messages), pageToken=token),
            "listing the inbox"):
        for ref in page.get("messages", []):
            if len(found) >= max_messages:
                truncated = True
                break
            found.append({"id": ref["id"], "thread_id": ref.get("threadId")})
        if truncated:
            break
    return start, list(reversed(found)), truncated


def _history(g: GoogleSession, cursor: str, max_messages: int) -> tuple[str, list[dict], bool]:
    """(new cursor, messages added to the inbox since `cursor`, backlog left?). Raises NotFound
    when Gmail no longer knows `cursor`."""
    found: dict[str, dict] = {}
    last_record, latest = cursor, cursor
    for page in g.pages(lambda token: g.gmail.history().list(
            userId="me", startHistoryId=cursor, historyTypes=["messageAdded"], labelId="INBOX", maxResults=500,
            pageToken=token), "reading mailbox history"):
        latest = str(page.get("historyId", latest))
        for record in page.get("history", []):
            for added in record.get("messagesAdded", []):
                msg = added.get("message", {})
                if msg.get("id") and not SKIP & set(msg.get("labelIds", [])):
                    found.setdefault(msg["id"], {"id": msg["id"], "thread_id": msg.get("threadId")})
            last_record = str(record.get("id", last_record))
            if len(found) >= max_messages:
                return last_record, list(found.values()), True
    return latest, list(found.values()), False


def read_since(ctx: ToolContext, cursor: Optional[str], *, resync_days: int = 7, initial_days: int = 1,
               max_messages: int = 200) -> SyncResult:
    """New inbox messages since `cursor` (a Gmail history id; None: a first run) and the cursor to
    store after them. Stores nothing: the caller keeps the cursor, forward only."""
    g = GoogleSession(ctx)
    if not cursor:
        start, messages, truncated = _window(g, initial_days, max_messages)
        return SyncResult(start, "initial", messages, truncated=truncated,
                          note=f"first run: took the inbox of the last {initial_days} day(s) as a baseline")
    try:
        new, messages, more = _history(g, cursor, max_messages)
    except NotFound:
        start, messages, truncated = _window(g, resync_days, max_messages)
        note = (f"the stored history cursor {cursor} has expired at Gmail; re-read the inbox of the last "
                f"{resync_days} days instead ({len(messages)} messages"
                + (f", only the newest {max_messages} kept" if truncated else "") + "). Mail older than that "
                "which arrived while the cursor was stale was not triaged.")
        return SyncResult(start, "resync", messages, resynced=True, truncated=truncated, note=note)
    return SyncResult(new, "incremental", messages, more=more,
                      note="more new mail than one run takes; the next run continues" if more else None)


def read_window(ctx: ToolContext, days: int, max_messages: int = 200) -> SyncResult:
    """The inbox of the last `days` days (a dry run over past mail); the cursor is the history id
    taken first."""
    start, messages, truncated = _window(GoogleSession(ctx), days, max_messages)
    return SyncResult(start, "initial", messages, truncated=truncated)


def sync_inbox(ctx: ToolContext, schedule_id: str, *, resync_days: int = 7, initial_days: int = 1,
               max_messages: int = 200) -> SyncResult:
    """New inbox messages since the schedule's cursor, and the cursor moved forward (flushed in
    `ctx.session`, not committed: commit together with what you record about the messages)."""
    session = ctx.session
    schedule = session.get(Schedule, schedule_id, with_for_update=True)
    if schedule is None:
        raise ToolError(f"no schedule {schedule_id}")
    result = read_since(ctx, schedule.cursor, resync_days=resync_days, initial_days=initial_days,
                        max_messages=max_messages)
    result.cursor = advance_cursor(session, schedule, result.cursor)
    return result
