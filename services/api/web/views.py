"""What the approval page shows, computed from an Action: the preview as it will happen (email,
event with times in the viewer's zone, ticket, chat message), risk flags, and what the agent read
just before proposing it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session

from services.api.web.sanitize import sanitize_email_html
from services.api.web.templating import zone
from services.store.models import Action, Job, Message, Principal

READ_SHOWN_CHARS = 6000


@dataclass
class EventTime:
    label: str
    mine: str  # in the viewer's zone
    original: str  # as the agent wrote it, in the zone it means


@dataclass
class Read:
    tool: str
    untrusted: bool
    source: Optional[str]
    content: str
    cut: bool


@dataclass
class ActionView:
    kind: str
    title: str
    fields: dict[str, Any]
    body: str
    body_html: Optional[str] = None
    blocked_images: int = 0
    times: list[EventTime] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)


def _when(value: Any, requester_tz: str, viewer_tz: str) -> Optional[tuple[str, str]]:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    meant = dt if dt.tzinfo else dt.replace(tzinfo=zone(requester_tz))
    mine = meant.astimezone(zone(viewer_tz))
    label = requester_tz if dt.tzinfo is None else meant.strftime("UTC%z")
    return (f"{mine:%a} {mine.day} {mine:%b %Y, %H:%M} {mine.tzname()}",
            f"{meant:%a} {meant.day} {meant:%b %Y, %H:%M} ({label})")


def event_times(action: Action, requester: Principal, viewer: Principal) -> list[EventTime]:
    out = []
    for name, label in (("start", "Starts"), ("end", "Ends")):
        shown = _when(action.arguments.get(name), requester.time_zone, viewer.time_zone)
        if shown:
            out.append(EventTime(label, *shown))
    return out


def reads(db: Session, action: Action) -> list[Read]:
    out = []
    for item in action.context or []:
        msg = db.get(Message, item.get("message_id")) if item.get("message_id") is not None else None
        content = msg.content if msg is not None and msg.job_id == action.job_id else ""
        out.append(Read(tool=str(item.get("tool")), untrusted=bool(item.get("untrusted")), source=item.get("source"),
                        content=content[:READ_SHOWN_CHARS], cut=len(content) > READ_SHOWN_CHARS))
    return out


def action_view(db: Session, action: Action, job: Job, viewer: Principal) -> ActionView:
    p = action.preview or {}
    fields = dict(p.get("fields") or {})
    view = ActionView(kind=str(p.get("kind", "generic")), title=str(p.get("title") or action.tool), fields=fields,
                      body=str(p.get("body") or ""))
    if p.get("body_html"):
        safe = sanitize_email_html(str(p["body_html"]))
        view.body_html, view.blocked_images = safe.html, safe.blocked_images
    if view.kind == "event":
        requester = db.get_one(Principal, job.principal_id)
        view.times = event_times(action, requester, viewer)
        for t in view.times:  # shown (better) as times; keep other fields
            fields.pop({"Starts": "Start", "Ends": "End"}[t.label], None)
    view.reads = reads(db, action)
    return view
