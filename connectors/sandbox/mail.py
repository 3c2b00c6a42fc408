"""Sandbox mailbox: the Gmail tools (search, read, labels, drafts, send, archive)."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import col, select

from connectors.base import Connector, NotFound, ToolContext, ToolError, ToolResult
from connectors.common import local_iso, parse_time
from connectors.sandbox.common import page_offset
from connectors.sandbox.models import SandboxMailMessage as Msg
from connectors.sandbox.models import SandboxMailThread as Thread
from connectors.shapes.mail import NoArgs, SearchArgs, ThreadArgs
from services.store.models import utcnow

SYSTEM_LABELS = ["INBOX", "UNREAD", "SENT", "DRAFT", "IMPORTANT", "STARRED", "SPAM", "TRASH"]
_TOKEN = re.compile(r'(-?)(?:(\w+):(?:"([^"]*)"|(\S+))|"([^"]*)"|(\S+))')
_AGE = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1),
        "m": timedelta(days=30), "y": timedelta(days=365)}


def _fmt(name: str, addr: str) -> str:
    return f"{name} <{addr}>" if name else addr


def _summary(m: Msg, tz: str) -> dict:
    snippet = " ".join(m.body.split())[:160]
    return {"id": m.id, "thread_id": m.thread_id, "from": _fmt(m.from_name, m.from_addr), "to": m.to_addrs,
            "cc": m.cc_addrs, "subject": m.subject, "snippet": snippet, "date": local_iso(m.date, tz),
            "labels": m.labels}


def _predicate(key: str, value: str, ctx: ToolContext, now: datetime):
    v, me = value.lower(), ctx.principal_email
    who = me if v == "me" else v
    labels = lambda m: {x.lower().replace(" ", "-") for x in m.labels}  # noqa: E731  (a local helper the predicates close over)
    if key == "from":
        return lambda m: who in m.from_addr.lower() or who in m.from_name.lower()
    if key in ("to", "cc", "bcc"):
        fields = {"to": ("to_addrs", "cc_addrs", "bcc_addrs"), "cc": ("cc_addrs",), "bcc": ("bcc_addrs",)}[key]
        return lambda m: any(who in a for f in fields for a in getattr(m, f))
    if key == "subject":
        return lambda m: v in m.subject.lower()
    if key in ("label", "in", "is"):
        want = {"drafts": "draft", "read": "unread", "anywhere": ""}.get(v, v)
        if v == "read":
            return lambda m: "unread" not in labels(m)
        return lambda m: not want or want in labels(m)
    if key in ("newer_than", "older_than"):
        match = re.fullmatch(r"(\d+)([hdwmy])", v)
        if not match:
            raise ToolError(f"{key}:{value} — use a number and a unit d, w, m or y (e.g. newer_than:7d)")
        cut = now - int(match.group(1)) * _AGE[match.group(2)]
        return (lambda m: m.date >= cut) if key == "newer_than" else (lambda m: m.date < cut)
    if key in ("after", "before"):
        cut = parse_time(value.replace("/", "-"), ctx.time_zone, key)
        return (lambda m: m.date >= cut) if key == "after" else (lambda m: m.date < cut)
    if key == "rfc822msgid":
        return lambda m: m.message_id.strip("<>").lower() == v.strip("<>")
    raise ToolError(f"unsupported search operator {key}: (supported: from, to, cc, bcc, subject, label, in, "
                    "is, newer_than, older_than, after, before, rfc822msgid, quoted phrases, words)")


def _text(m: Msg) -> str:
    return " ".join([m.subject, m.body, m.from_addr, m.from_name, *m.to_addrs, *m.cc_addrs]).lower()


def _mentions(term: str) -> Callable[[Msg], bool]:
    return lambda m: term in _text(m)


def _negated(pred: Callable[[Msg], bool]) -> Callable[[Msg], bool]:
    return lambda m: not pred(m)


def _compile(query: str, ctx: ToolContext, now: datetime):
    preds: list[Callable[[Msg], bool]] = []
    scoped = False
    for neg, key, qval, val, phrase, word in _TOKEN.findall(query or ""):
        if key:
            key = key.lower()
            scoped |= key == "in" and (qval or val).lower() in ("trash", "spam", "anywhere")
            pred = _predicate(key, qval or val, ctx, now)
        else:
            term = (phrase or word).lower()
            pred = _mentions(term)
        preds.append(_negated(pred) if neg else pred)
    if not scoped:
        preds.append(lambda m: not {"TRASH", "SPAM"} & set(m.labels))
    return lambda m: all(p(m) for p in preds)


def _mailbox(ctx: ToolContext):
    q = select(Msg).where(Msg.org_id == ctx.org_id, Msg.owner == ctx.principal_email)
    return list(ctx.session.exec(q.order_by(col(Msg.date).desc(), col(Msg.id))))


def _thread(ctx: ToolContext, thread_id: str) -> tuple[Thread, list[Msg]]:
    thread = ctx.session.get(Thread, thread_id)
    if thread is None or thread.org_id != ctx.org_id or thread.owner != ctx.principal_email:
        raise NotFound(f"no thread {thread_id!r} in your mailbox; use gmail_search to find thread ids")
    msgs = ctx.session.exec(select(Msg).where(Msg.thread_id == thread.id).order_by(col(Msg.date), col(Msg.id)))
    return thread, list(msgs)


# ---------------------------------------------------------------- read tools
def gmail_search(ctx: ToolContext, args: SearchArgs) -> ToolResult:
    """Search the requester's mailbox with Gmail query syntax. Returns message summaries, newest first."""
    match = _compile(args.query, ctx, utcnow())
    hits = [m for m in _mailbox(ctx) if match(m)]
    start = page_offset(args.page_token)
    page = hits[start:start + args.max_results]
    more = start + args.max_results < len(hits)
    data = {"messages": [_summary(m, ctx.time_zone) for m in page], "result_size_estimate": len(hits),
            "next_page_token": str(start + args.max_results) if more else None}
    others = any(m.from_addr != ctx.principal_email for m in page)
    return ToolResult(data, untrusted=others, source="gmail_search" if others else None)


def gmail_read_thread(ctx: ToolContext, args: ThreadArgs) -> ToolResult:
    """Read every message of one thread in the requester's mailbox, oldest first, with full bodies."""
    thread, msgs = _thread(ctx, args.thread_id)
    me = ctx.principal_email
    out = [{**_summary(m, ctx.time_zone), "body": m.body, "has_html": m.html_body is not None,
            "bcc": m.bcc_addrs if m.from_addr == me else [], "message_id_header": m.message_id,
            "in_reply_to": m.in_reply_to} for m in msgs]
    for item in out:
        item.pop("snippet")
    others = any(m.from_addr != me for m in msgs)
    return ToolResult({"thread_id": thread.id, "subject": thread.subject, "messages": out},
                      untrusted=others, source=f"gmail_read_thread:{thread.id}" if others else None)


def gmail_list_labels(ctx: ToolContext, args: NoArgs) -> ToolResult:
    """List the mailbox's labels (system and custom) with message and unread counts."""
    counts: dict[str, list[int]] = {name: [0, 0] for name in SYSTEM_LABELS}
    for m in _mailbox(ctx):
        for label in m.labels:
            c = counts.setdefault(label, [0, 0])
            c[0] += 1
            c[1] += "UNREAD" in m.labels
    labels = [{"id": name, "name": name, "type": "system" if name in SYSTEM_LABELS else "user",
               "messages_total": t, "messages_unread": u} for name, (t, u) in counts.items()]
    return ToolResult({"labels": labels})


def register(c: Connector) -> None:
    c.read("gmail_search", SearchArgs)(gmail_search)
    c.read("gmail_read_thread", ThreadArgs)(gmail_read_thread)
    c.read("gmail_list_labels", NoArgs)(gmail_list_labels)
