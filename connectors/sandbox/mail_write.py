"""Sandbox mailbox writes: drafts, sending (with delivery to colleagues), labels, archive."""
from __future__ import annotations

import uuid

from sqlmodel import col, select

from connectors.base import Connector, ToolContext, ToolError, ToolResult
from connectors.common import check_emails, org_principals
from connectors.sandbox.common import applied, replay, verify_effect
from connectors.sandbox.mail import SYSTEM_LABELS, _thread
from connectors.sandbox.models import SandboxMailMessage as Msg
from connectors.sandbox.models import SandboxMailThread as Thread
from connectors.shapes.mail import (
    ArchiveArgs,
    DraftArgs,
    LabelArgs,
    SendArgs,
    archive_preview,
    draft_preview,
    labels_preview,
    reply_subject,
    send_preview,
)
from services.store.models import utcnow

_FIXED = {"SENT", "DRAFT"}


def _compose(ctx: ToolContext, args: DraftArgs | SendArgs, *, draft: bool) -> dict:
    me, now = ctx.principal_email, utcnow()
    to, cc = check_emails(args.to, "to"), check_emails(args.cc, "cc")
    bcc = check_emails(getattr(args, "bcc", []), "bcc")
    subject, in_reply_to, refs = args.subject.strip(), None, []
    if args.thread_id:
        thread, msgs = _thread(ctx, args.thread_id)
        subject = reply_subject(thread.subject)  # a reply keeps the thread's own subject, as Gmail needs
        sent = [m for m in msgs if "DRAFT" not in m.labels] or msgs
        if sent:
            in_reply_to, refs = sent[-1].message_id, [*sent[-1].references, sent[-1].message_id]
    else:
        thread = Thread(org_id=ctx.org_id, owner=me, subject=subject, action_id=ctx.action_id)
    thread.updated_at = now
    ctx.session.add(thread)
    ctx.session.flush()
    labels = ["DRAFT"] if draft else ["SENT"] + (["INBOX"] if me in to + cc + bcc else [])
    header = f"<{uuid.uuid4().hex}@{me.split('@')[-1]}>"
    people = org_principals(ctx.session, ctx.org_id)
    name = people[me].name if me in people else ""
    msg = Msg(org_id=ctx.org_id, thread_id=thread.id, owner=me, from_addr=me, from_name=name, to_addrs=to,
              cc_addrs=cc, bcc_addrs=bcc, subject=subject, body=args.body, labels=labels, date=now,
              message_id=header, in_reply_to=in_reply_to, references=refs, action_id=ctx.action_id)
    ctx.session.add(msg)
    if not draft:
        _deliver(ctx, msg, people)
    ctx.session.flush()
    return {"message_id": msg.id, "thread_id": thread.id, "rfc822_message_id": header, "labels": labels}


def _deliver(ctx: ToolContext, sent: Msg, people: dict) -> None:
    """Colleagues (principals of the organisation) find the message in their own inbox."""
    for rcpt in dict.fromkeys(sent.to_addrs + sent.cc_addrs + sent.bcc_addrs):
        if rcpt not in people or rcpt == sent.owner:
            continue
        thread = None
        if sent.in_reply_to:
            prior = ctx.session.exec(select(Msg).where(
                Msg.org_id == ctx.org_id, Msg.owner == rcpt, col(Msg.message_id).in_(sent.references))).first()
            thread = ctx.session.get(Thread, prior.thread_id) if prior else None
        if thread is None:
            thread = Thread(org_id=ctx.org_id, owner=rcpt, subject=sent.subject)
        thread.updated_at = sent.date
        ctx.session.add(thread)
        ctx.session.flush()
        ctx.session.add(Msg(
            org_id=ctx.org_id, thread_id=thread.id, owner=rcpt, from_addr=sent.from_addr, from_name=sent.from_name,
            to_addrs=sent.to_addrs, cc_addrs=sent.cc_addrs, subject=sent.subject, body=sent.body,
            labels=["INBOX", "UNREAD"], date=sent.date, message_id=sent.message_id, in_reply_to=sent.in_reply_to,
            references=sent.references))  # the action's marker stays on the sender's copy only


def gmail_create_draft(ctx: ToolContext, args: DraftArgs) -> ToolResult:
    """Save a draft in the requester's mailbox (nothing is sent). In a thread it is a reply draft."""
    if (done := replay(ctx)) is not None:
        return done
    result = _compose(ctx, args, draft=True)
    return applied(ctx, "gmail_create_draft", {"draft_id": result["message_id"], **result})


def gmail_send(ctx: ToolContext, args: SendArgs) -> ToolResult:
    """Send an email from the requester. With thread_id it replies in that thread (In-Reply-To set)."""
    if (done := replay(ctx)) is not None:
        return done
    return applied(ctx, "gmail_send", _compose(ctx, args, draft=False))


def _norm(label: str) -> str:
    upper = label.strip().upper()
    if upper in _FIXED:
        raise ToolError(f"label {upper} cannot be added or removed")
    if not label.strip():
        raise ToolError("empty label name")
    return upper if upper in SYSTEM_LABELS else label.strip()


def _relabel(ctx: ToolContext, thread_id: str, add: list[str], remove: list[str]) -> dict:
    thread, msgs = _thread(ctx, thread_id)
    add, remove = [_norm(x) for x in add], [_norm(x) for x in remove]
    if not add and not remove:
        raise ToolError("nothing to change: give labels to add or remove")
    labels: set[str] = set()
    for m in msgs:
        m.labels = [x for x in dict.fromkeys(m.labels + add) if x not in remove]
        labels.update(m.labels)
        ctx.session.add(m)
    return {"thread_id": thread.id, "labels": sorted(labels)}


def gmail_modify_labels(ctx: ToolContext, args: LabelArgs) -> ToolResult:
    """Add and/or remove labels on every message of a thread (e.g. remove UNREAD to mark read)."""
    if (done := replay(ctx)) is not None:
        return done
    return applied(ctx, "gmail_modify_labels", _relabel(ctx, args.thread_id, args.add, args.remove))


def gmail_archive(ctx: ToolContext, args: ArchiveArgs) -> ToolResult:
    """Archive a thread: remove it from the inbox (it stays searchable)."""
    if (done := replay(ctx)) is not None:
        return done
    thread, msgs = _thread(ctx, args.thread_id)
    for m in msgs:
        m.labels = [x for x in m.labels if x != "INBOX"]
        ctx.session.add(m)
    labels = sorted({x for m in msgs for x in m.labels})
    return applied(ctx, "gmail_archive", {"thread_id": thread.id, "archived": True, "labels": labels})


def register(c: Connector) -> None:
    c.write("gmail_create_draft", DraftArgs, verify=verify_effect, recipient_fields=("to", "cc"),
            preview=draft_preview)(gmail_create_draft)
    c.write("gmail_send", SendArgs, verify=verify_effect, recipient_fields=("to", "cc", "bcc"),
            preview=send_preview)(gmail_send)
    c.write("gmail_modify_labels", LabelArgs, verify=verify_effect, preview=labels_preview)(gmail_modify_labels)
    c.write("gmail_archive", ArchiveArgs, verify=verify_effect, preview=archive_preview)(gmail_archive)
