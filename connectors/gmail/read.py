"""Gmail read tools: search (Gmail query syntax, passed through), read a whole thread, labels."""
from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.utils import getaddresses, parseaddr
from typing import Any

from connectors.base import Connector, ToolContext, ToolResult
from connectors.common import local_iso
from connectors.gmail import mime
from connectors.gmail.labels import Labels
from connectors.google.auth import GoogleSession
from connectors.shapes.mail import NoArgs, SearchArgs, ThreadArgs

SUMMARY_HEADERS = ["From", "To", "Cc", "Subject", "Date"]
MAX_IMAGES = 4  # per thread
MAX_IMAGE_BYTES = 3 * 1024 * 1024
MAX_LABEL_COUNTS = 60


def addresses(value: str) -> list[str]:
    return [addr.lower() for _, addr in getaddresses([value or ""]) if addr]


def sender(hdrs: dict[str, str]) -> str:
    return parseaddr(hdrs.get("from", ""))[1].lower()


def when(msg: dict[str, Any], tz: str) -> str:
    ms = int(msg.get("internalDate") or 0)
    return local_iso(datetime.fromtimestamp(ms / 1000, UTC), tz)


def summary(msg: dict[str, Any], labels: Labels, tz: str) -> dict[str, Any]:
    h = mime.headers(msg.get("payload") or {})
    return {"id": msg["id"], "thread_id": msg.get("threadId"), "from": h.get("from", ""),
            "to": addresses(h.get("to", "")), "cc": addresses(h.get("cc", "")), "subject": h.get("subject", ""),
            "snippet": msg.get("snippet", ""),
            "date": when(msg, tz), "labels": labels.names(msg.get("labelIds", []))}


def gmail_search(ctx: ToolContext, args: SearchArgs) -> ToolResult:
    """Search the requester's mailbox with Gmail query syntax. Returns message summaries, newest first."""
    g = GoogleSession(ctx)
    users = g.gmail
    page = g.call(users.messages().list(userId="me", q=args.query or None, maxResults=args.max_results,
                                        pageToken=args.page_token or None), "searching mail")
    labels = Labels(g)
    out = []
    for ref in page.get("messages", []):
        msg = g.call(users.messages().get(userId="me", id=ref["id"], format="metadata",
                                          metadataHeaders=SUMMARY_HEADERS), f"reading message {ref['id']}")
        out.append(summary(msg, labels, ctx.time_zone))
    data = {"messages": out, "result_size_estimate": page.get("resultSizeEstimate", len(out)),
            "next_page_token": page.get("nextPageToken")}
    me = ctx.principal_email.lower()
    others = any(parseaddr(m["from"])[1].lower() != me for m in out)
    return ToolResult(data, untrusted=others, source="gmail_search" if others else None)


def _message(msg: dict[str, Any], labels: Labels, me: str, tz: str) -> dict[str, Any]:
    payload = msg.get("payload") or {}
    h = mime.headers(payload)
    decoded = mime.decode(payload)
    item = summary(msg, labels, tz)
    item.pop("snippet")
    item.update({"body": decoded.body, "has_html": decoded.has_html,
                 "bcc": addresses(h.get("bcc", "")) if sender(h) == me else [],
                 "message_id_header": h.get("message-id", ""), "in_reply_to": h.get("in-reply-to") or None,
                 "attachments": decoded.attachments})
    return item


def _images(g: GoogleSession, messages: list[dict[str, Any]]) -> tuple[list[dict], list[str]]:
    images: list[dict] = []
    notes: list[str] = []
    for m in messages:
        for att in m["attachments"]:
            if not att.get("image") or not att.get("attachment_id"):
                continue
            if len(images) >= MAX_IMAGES or att.get("size", 0) > MAX_IMAGE_BYTES:
                notes.append(f"image {att['filename'] or att['part_id']} not shown (too many or too large)")
                continue
            got = g.call(g.gmail.messages().attachments().get(userId="me", messageId=m["id"], id=att["attachment_id"]),
                         f"fetching attachment {att['filename']!r}")
            b64 = base64.b64encode(mime.b64decode(got.get("data", ""))).decode()
            images.append({"type": "image_url", "image_url": {"url": f"data:{att['mime_type']};base64,{b64}"}})
            att["shown_as_image"] = len(images)
    return images, notes


def gmail_read_thread(ctx: ToolContext, args: ThreadArgs) -> ToolResult:
    """Read every message of one thread in the requester's mailbox, oldest first, with full bodies."""
    g = GoogleSession(ctx)
    thread = g.call(g.gmail.threads().get(userId="me", id=args.thread_id, format="full"),
                    f"reading thread {args.thread_id}")
    labels, me = Labels(g), ctx.principal_email.lower()
    raw = sorted(thread.get("messages", []), key=lambda m: int(m.get("internalDate") or 0))
    msgs = [_message(m, labels, me, ctx.time_zone) for m in raw]
    images, notes = _images(g, msgs)
    first = mime.headers((raw[0].get("payload") or {}) if raw else {})
    data: dict[str, Any] = {"thread_id": thread.get("id", args.thread_id), "subject": first.get("subject", ""),
                            "messages": msgs}
    if notes:
        data["notes"] = notes
    others = any(parseaddr(m["from"])[1].lower() != me for m in msgs)
    source = f"gmail_read_thread:{data['thread_id']}" if others else None
    # `data` lists each image attachment; the images themselves ride along for a vision model.
    return ToolResult(data, untrusted=others, source=source, images=images)


def gmail_list_labels(ctx: ToolContext, args: NoArgs) -> ToolResult:
    """List the mailbox's labels (system and custom) with message and unread counts."""
    g = GoogleSession(ctx)
    labels = Labels(g).by_id.values()
    out = []
    for i, lab in enumerate(sorted(labels, key=lambda x: (x.get("type") != "system", x.get("name", "")))):
        if i < MAX_LABEL_COUNTS and "messagesTotal" not in lab:
            lab = g.call(g.gmail.labels().get(userId="me", id=lab["id"]), f"reading label {lab.get('name')!r}")
        item = {"id": lab["id"], "name": lab.get("name", lab["id"]), "type": lab.get("type", "user")}
        if "messagesTotal" in lab:
            item.update(messages_total=lab.get("messagesTotal", 0), messages_unread=lab.get("messagesUnread", 0))
        out.append(item)
    return ToolResult({"labels": out})


def register(c: Connector) -> None:
    c.read("gmail_search", SearchArgs)(gmail_search)
    c.read("gmail_read_thread", ThreadArgs)(gmail_read_thread)
    c.read("gmail_list_labels", NoArgs)(gmail_list_labels)
