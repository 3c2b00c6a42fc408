"""Gmail write tools (each an approved Action with a preview and `verify`): draft, send, labels,
archive. Sending and drafting mark the message with the action id (`X-Workmode-Action`); label
changes are verified by looking at the thread's labels.

Verify of a send or a draft reads the SENT (or DRAFT) label newest first, back to the action's
approval (`ctx.executing_since`, less a margin for clock skew), and matches the header. It does
not search (`q=`, `rfc822msgid:`): Gmail's search index may lag behind a send, and Gmail replaces
the client's Message-ID on send. Listing a label and getting a message by id read the mailbox
itself, so a message Gmail has accepted is there to be found."""
from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any, Optional

from connectors.base import CannotVerify, Connector, NotFound, ToolContext, ToolError, ToolResult, cannot_look
from connectors.common import check_emails
from connectors.gmail import mime
from connectors.gmail.compose import ACTION_HEADER, build, raw, reply_to
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
    send_preview,
)

SKEW = timedelta(minutes=15)  # our clock against Google's (internalDate): look back this much further
PAGE = 100  # ids per list page while looking for the marker
MAX_PAGES = 40  # beyond this, verify says it cannot tell rather than "absent"


def _compose(g: GoogleSession, ctx: ToolContext, args: DraftArgs | SendArgs) -> dict:
    to, cc = check_emails(args.to, "to"), check_emails(args.cc, "cc")
    bcc = check_emails(getattr(args, "bcc", []), "bcc")
    reply = reply_to(g, args.thread_id) if args.thread_id else None
    msg = build(sender=g.account, to=to, cc=cc, bcc=bcc, subject=args.subject, body=args.body,
                action_id=ctx.action_id, reply=reply)
    body: dict[str, Any] = {"raw": raw(msg)}
    if args.thread_id:
        body["threadId"] = args.thread_id
    return body


def _rfc822_id(g: GoogleSession, message_id: str) -> Optional[str]:
    """The Message-ID Gmail gave the message (it replaces the client's on send); None if unreadable."""
    try:
        msg = g.call(g.gmail.messages().get(userId="me", id=message_id, format="metadata",
                                            metadataHeaders=["Message-ID"]), "reading the sent message")
    except ToolError:
        return None
    return mime.headers(msg.get("payload") or {}).get("message-id") or None


def _sent_result(msg: dict, rfc_id: Optional[str], labels: Labels) -> dict:
    return {"message_id": msg["id"], "thread_id": msg.get("threadId"), "rfc822_message_id": rfc_id,
            "labels": labels.names(msg.get("labelIds", []))}


def gmail_create_draft(ctx: ToolContext, args: DraftArgs) -> ToolResult:
    """Save a draft in the requester's mailbox (nothing is sent). In a thread it is a reply draft."""
    g = GoogleSession(ctx)
    message = _compose(g, ctx, args)
    draft = g.call(g.gmail.drafts().create(userId="me", body={"message": message}), "saving the draft")
    saved = draft.get("message", {})
    return ToolResult({"draft_id": draft["id"], **_sent_result(saved, _rfc822_id(g, saved["id"]), Labels(g))})


def gmail_send(ctx: ToolContext, args: SendArgs) -> ToolResult:
    """Send an email from the requester. With thread_id it replies in that thread (In-Reply-To set)."""
    g = GoogleSession(ctx)
    message = _compose(g, ctx, args)
    sent = g.call(g.gmail.messages().send(userId="me", body=message), "sending the email")
    return ToolResult(_sent_result(sent, _rfc822_id(g, sent["id"]), Labels(g)))


# ---------------------------------------------------------------- verify (after a crash)
def find_marked(g: GoogleSession, action_id: str, label: str, since_ms: Optional[int]) -> Optional[dict]:
    """The message of `label` (SENT or DRAFT) carrying the action's marker, or None when every
    message of the label from `since_ms` (epoch ms) on has been read without finding it. Messages
    come newest first: Gmail orders them by internalDate ("which determines ordering in the inbox",
    Message resource reference). Raises CannotVerify when the label is too long to read to the end."""
    token: Optional[str] = None
    for _ in range(MAX_PAGES):
        page = g.call(g.gmail.messages().list(userId="me", labelIds=[label], includeSpamTrash=True,
                                              maxResults=PAGE, pageToken=token), f"listing {label} messages")
        for ref in page.get("messages", []):
            msg = g.call(g.gmail.messages().get(userId="me", id=ref["id"], format="metadata",
                                                metadataHeaders=[ACTION_HEADER, "Message-ID"]), "checking a message")
            if mime.headers(msg.get("payload") or {}).get(ACTION_HEADER.lower()) == action_id:
                return msg
            if since_ms is not None and int(msg.get("internalDate") or 0) < since_ms:
                return None  # older than the action: it cannot be further back
        token = page.get("nextPageToken")
        if not token:
            return None
    raise CannotVerify(f"more than {MAX_PAGES * PAGE} {label} messages to read back to the action's approval")


def _draft_id(g: GoogleSession, message_id: str) -> Optional[str]:
    for page in g.pages(lambda token: g.gmail.drafts().list(userId="me", maxResults=PAGE, pageToken=token),
                        "listing drafts"):
        for d in page.get("drafts", []):
            if d.get("message", {}).get("id") == message_id:
                return str(d["id"])
    return None


def _verify_message(label: str):
    def verify(ctx: ToolContext, args: Any, action_id: str) -> Optional[dict]:
        g = GoogleSession(ctx)
        since = ctx.executing_since
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)  # the store keeps UTC
        since_ms = int((since - SKEW).timestamp() * 1000) if since is not None else None
        try:
            msg = find_marked(g, action_id, label, since_ms)
            if msg is None:
                return None
            rfc_id = mime.headers(msg.get("payload") or {}).get("message-id") or None
            result = _sent_result(msg, rfc_id, Labels(g))
            if label == "DRAFT":
                result = {"draft_id": _draft_id(g, msg["id"]), **result}
        except ToolError as exc:
            raise cannot_look("Gmail", exc) from exc
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
        raise cannot_look("Gmail", exc) from exc
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
        raise cannot_look("Gmail", exc) from exc
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
