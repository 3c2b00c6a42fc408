"""Building the RFC 5322 message Gmail sends: headers, reply threading, the action's marker.

A message written for an Action carries `Message-ID: <workmode-{action id}@{sender domain}>` and
`X-Workmode-Action: {action id}`, so `verify` can find it after a crash (`rfc822msgid:` search,
then the header on the newest messages of the label)."""
from __future__ import annotations

import base64
import email.policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Optional

from connectors.gmail import mime
from connectors.google.auth import GoogleSession

ACTION_HEADER = "X-Workmode-Action"


def marker_message_id(action_id: str, sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1] or "workmode"
    return f"<workmode-{action_id}@{domain}>"


def reply_headers(g: GoogleSession, thread_id: str) -> tuple[Optional[str], str]:
    """(In-Reply-To, References) for a reply in `thread_id`: the thread's last non-draft message."""
    thread = g.call(g.gmail.threads().get(userId="me", id=thread_id, format="metadata",
                                          metadataHeaders=["Message-ID", "References", "In-Reply-To"]),
                    f"reading thread {thread_id}")
    msgs = sorted(thread.get("messages", []), key=lambda m: int(m.get("internalDate") or 0))
    sent = [m for m in msgs if "DRAFT" not in m.get("labelIds", [])] or msgs
    if not sent:
        return None, ""
    h = mime.headers(sent[-1].get("payload") or {})
    parent = h.get("message-id", "").strip()
    refs = " ".join(x for x in (h.get("references", "").strip() or h.get("in-reply-to", "").strip(), parent) if x)
    return parent or None, refs


def build(*, sender: str, to: list[str], cc: list[str], bcc: list[str], subject: str, body: str,
          action_id: Optional[str], in_reply_to: Optional[str], references: str) -> EmailMessage:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    if to:
        msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    if bcc:
        msg["Bcc"] = ", ".join(bcc)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rsplit("@", 1)[-1]
    msg["Message-ID"] = marker_message_id(action_id, sender) if action_id else make_msgid(domain=domain)
    if action_id:
        msg[ACTION_HEADER] = action_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = references or in_reply_to
    msg.set_content(body)
    return msg


def raw(msg: EmailMessage) -> str:
    return base64.urlsafe_b64encode(msg.as_bytes()).decode()
