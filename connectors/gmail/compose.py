"""Building the RFC 5322 message Gmail sends: headers, reply threading, the action's marker.

A message written for an Action carries `X-Workmode-Action: {action id}`, so `verify` can find it
after a crash by reading the SENT (or DRAFT) label back to when the action was approved. The
Message-ID is not a marker: Gmail replaces the client's Message-ID on send.

A reply is threaded the way Gmail documents it (Gmail API guide "Manage threads", adding messages
to threads): the thread's id on the request, In-Reply-To and References per RFC 2822, and a Subject
that matches the thread's — so a reply takes the thread's own subject, never one the model wrote.
"""
from __future__ import annotations

import base64
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Optional

from connectors.gmail import mime
from connectors.google.auth import GoogleSession
from connectors.shapes.mail import reply_subject

ACTION_HEADER = "X-Workmode-Action"


@dataclass(frozen=True)
class Reply:
    """How a reply in a thread is addressed: the parent's Message-ID, References, and the subject."""

    in_reply_to: Optional[str]
    references: str
    subject: str


def reply_to(g: GoogleSession, thread_id: str) -> Reply:
    """The reply headers for `thread_id`: its last non-draft message is the parent, and the
    subject is the thread's own (the first message's), with 'Re: '."""
    thread = g.call(g.gmail.threads().get(userId="me", id=thread_id, format="metadata",
                                          metadataHeaders=["Message-ID", "References", "In-Reply-To", "Subject"]),
                    f"reading thread {thread_id}")
    msgs = sorted(thread.get("messages", []), key=lambda m: int(m.get("internalDate") or 0))
    sent = [m for m in msgs if "DRAFT" not in m.get("labelIds", [])] or msgs
    if not sent:
        return Reply(None, "", "")
    first, last = mime.headers(sent[0].get("payload") or {}), mime.headers(sent[-1].get("payload") or {})
    parent = last.get("message-id", "").strip()
    refs = " ".join(x for x in (last.get("references", "").strip() or last.get("in-reply-to", "").strip(), parent)
                    if x)
    return Reply(parent or None, refs, reply_subject(first.get("subject", "")))


def build(*, sender: str, to: list[str], cc: list[str], bcc: list[str], subject: str, body: str,
          action_id: Optional[str], reply: Optional[Reply]) -> EmailMessage:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    if to:
        msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    if bcc:
        msg["Bcc"] = ", ".join(bcc)
    msg["Subject"] = reply.subject if reply is not None else subject.strip()
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] or "workmode")
    if action_id:
        msg[ACTION_HEADER] = action_id
    if reply is not None and reply.in_reply_to:
        msg["In-Reply-To"] = reply.in_reply_to
        msg["References"] = reply.references or reply.in_reply_to
    msg.set_content(body)
    return msg


def raw(msg: EmailMessage) -> str:
    return base64.urlsafe_b64encode(msg.as_bytes()).decode()
