"""Gmail write tools (each an approved Action with a preview and `verify`): draft, send, labels,
archive. Sending and drafting mark the message with the action id; label changes are verified by
looking at the thread's labels."""
from __future__ import annotations

from typing import Any, Optional

from connectors.base import CannotVerify, Connector, NotFound, ToolContext, ToolError, ToolResult
from connectors.common import check_emails
from connectors.gmail import mime
from connectors.gmail.compose import ACTION_HEADER, build, marker_message_id, raw, reply_headers
from connectors.gmail.labels import Labels
from connectors.google.auth import GoogleSession
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

RECENT = 25  # newest messages of SENT/DRAFT checked for the marker when search has not indexed it yet


def _compose(g: GoogleSession, ctx: ToolContext, args: DraftArgs | SendArgs) -> tuple[dict, str]:
    to, cc = check_emails(args.to, "to"), check_emails(args.cc, "cc")
    bcc = check_emails(getattr(args, "bcc", []), "bcc")
    in_reply_to, refs = reply_headers(g, args.thread_id) if args.thread_id else (None, "")
    msg = build(sender=ctx.principal_email, to=to, cc=cc, bcc=bcc, subject=reply_subject(args.subject, args.thread_id),
                body=args.body, action_id=ctx.action_id, in_reply_to=in_reply_to, references=refs)
    body: dict[str, Any] = {"raw": raw(msg)}
    if args.thread_id:
        body["threadId"] = args.thread_id
    return body, msg["Message-ID"]


def _sent_result(msg: dict, rfc_id: str, labels: Labels) -> dict:
    return {"message_id": msg["id"], "thread_id": msg.get("threadId"), "rfc822_message_id": rfc_id,
            "labels": labels.names(msg.get("labelIds", []))}


def gmail_create_draft(ctx: ToolContext, args: DraftArgs) -> ToolResult:
    """Save a draft in the requester's mailbox (nothing is sent). In a thread it is a reply draft."""
    g = GoogleSession(ctx)
    message, rfc_id = _compose(g, ctx, args)
    draft = g.call(g.gmail.drafts().create(userId="me", body={"message": message}), "saving the draft")
    return ToolResult({"draft_id": draft["id"], **_sent_result(draft.get("message", {}), rfc_id, Labels(g))})


def gmail_send(ctx: ToolContext, args: SendArgs) -> ToolResult:
    """Send an email from the requester. With thread_id it replies in that thread (In-Reply-To set)."""
    g = GoogleSession(ctx)
    message, rfc_id = _compose(g, ctx, args)
    sent = g.call(g.gmail.messages().send(userId="me", body=message), "sending the email")
    return ToolResult(_sent_result(sent, rfc_id, Labels(g)))


# ---------------------------------------------------------------- verify (after a crash)
def _marked(g: GoogleSession, message_id: str, action_id: str) -> Optional[dict]:
    msg = g.call(g.gmail.messages().get(userId="me", id=message_id, format="metadata",
                                        metadataHeaders=[ACTION_HEADER, "Message-ID"]), "checking a message")
    return msg if mime.headers(msg.get("payload") or {}).get(ACTION_HEADER.lower()) == action_id else None


def find_marked(g: GoogleSession, action_id: str, rfc_id: str, label: str) -> Optional[dict]:
    """The message carrying the action's marker in `label` (SENT or DRAFT), or None."""
    found = g.call(g.gmail.messages().list(userId="me", q=f"rfc822msgid:{rfc_id.strip('<>')}", includeSpamTrash=True),
                   "searching for the action's message")
    for ref in found.get("messages", []):
        if (msg := _marked(g, ref["id"], action_id)) is not None:
            return msg
    recent = g.call(g.gmail.messages().list(userId="me", labelIds=[label], maxResults=RECENT),
                    f"listing recent {label} messages")
    for ref in recent.get("messages", []):
        if (msg := _marked(g, ref["id"], action_id)) is not None:
            return msg
    return None


def _verify_message(label: str):
    def verify(ctx: ToolContext, args: Any, action_id: str) -> Optional[dict]:
        g = GoogleSession(ctx)
        rfc_id = marker_message_id(action_id, ctx.principal_email)
        try:
            msg = find_marked(g, action_id, rfc_id, label)
        except ToolError as exc:
            raise CannotVerify(f"could not look in Gmail: {exc.message}") from exc
        if msg is None:
            return None
        result = _sent_result(msg, rfc_id, Labels(g))
        if label == "DRAFT":
            drafts = g.call(g.gmail.drafts().list(userId="me", q=f"rfc822msgid:{rfc_id.strip('<>')}"), "listing drafts")
            ids = [d["id"] for d in drafts.get("drafts", []) if d.get("message", {}).get("id") == msg["id"]]
            result = {"draft_id": ids[0] if ids else None, **result}
        return result

    return verify


# ---------------------------------------------------------------- labels and archive
def _thread_labels(g: GoogleSession, thread_id: str) -> list[list[str]]:
    thread = g.call(g.gmail.threads().get(userId="me", id=thread_id, format="minimal"), f"reading thread {thread_id}")
    return [m.get("labelIds", []) for m in thread.get("messages", [])]


def _modify(g: GoogleSession, thread_id: str, add: list[str], remove: list[str]) -> dict:
    body = {"addLabelIds": add, "removeLabelIds": remove}
    return g.call(g.gmail.threads().modify(userId="me", id=thread_id, body=body),
                  f"changing labels on thread {thread_id}")


def _all_labels(labels: Labels, per_message: list[list[str]]) -> list[str]:
    return sorted({labels.name(x) for ids in per_message for x in ids})


def gmail_modify_labels(ctx: ToolContext, args: LabelArgs) -> ToolResult:
    """Add and/or remove labels on every message of a thread (e.g. remove UNREAD to mark read)."""
    if not args.add and not args.remove:
        raise ToolError("nothing to change: give labels to add or remove")
    g = GoogleSession(ctx)
    labels = Labels(g)
    remove, _ = labels.resolve(args.remove, create=False)
    add, created = labels.resolve(args.add, create=True)
    thread = _modify(g, args.thread_id, add, remove)
    per_message = [m.get("labelIds", []) for m in thread.get("messages", [])] or _thread_labels(g, args.thread_id)
    result: dict[str, Any] = {"thread_id": args.thread_id, "labels": _all_labels(labels, per_message)}
    if created:
        result["created_labels"] = created
    return ToolResult(result)


def verify_labels(ctx: ToolContext, args: LabelArgs, action_id: str) -> Optional[dict]:
    g = GoogleSession(ctx)
    labels = Labels(g)
    try:
        add = [labels.find(x) for x in args.add]
        remove = [labels.find(x) for x in args.remove]
        per_message = _thread_labels(g, args.thread_id)
    except NotFound:
        return None
    except ToolError as exc:
        raise CannotVerify(f"could not look in Gmail: {exc.message}") from exc
    if None in add or not per_message:
        return None
    done = all(set(add) <= set(ids) and not set(remove) & set(ids) for ids in per_message)
    return {"thread_id": args.thread_id, "labels": _all_labels(labels, per_message)} if done else None


def gmail_archive(ctx: ToolContext, args: ArchiveArgs) -> ToolResult:
    """Archive a thread: remove it from the inbox (it stays searchable)."""
    g = GoogleSession(ctx)
    thread = _modify(g, args.thread_id, [], ["INBOX"])
    per_message = [m.get("labelIds", []) for m in thread.get("messages", [])] or _thread_labels(g, args.thread_id)
    return ToolResult({"thread_id": args.thread_id, "archived": True, "labels": _all_labels(Labels(g), per_message)})


def verify_archive(ctx: ToolContext, args: ArchiveArgs, action_id: str) -> Optional[dict]:
    g = GoogleSession(ctx)
    try:
        per_message = _thread_labels(g, args.thread_id)
    except NotFound:
        return None
    except ToolError as exc:
        raise CannotVerify(f"could not look in Gmail: {exc.message}") from exc
    if not per_message or any("INBOX" in ids for ids in per_message):
        return None
    return {"thread_id": args.thread_id, "archived": True, "labels": _all_labels(Labels(g), per_message)}


def register(c: Connector) -> None:
    c.write("gmail_create_draft", DraftArgs, verify=_verify_message("DRAFT"), recipient_fields=("to", "cc"),
            preview=draft_preview)(gmail_create_draft)
    c.write("gmail_send", SendArgs, verify=_verify_message("SENT"), recipient_fields=("to", "cc", "bcc"),
            preview=send_preview)(gmail_send)
    c.write("gmail_modify_labels", LabelArgs, verify=verify_labels, preview=labels_preview)(gmail_modify_labels)
    c.write("gmail_archive", ArchiveArgs, verify=verify_archive, preview=archive_preview)(gmail_archive)
