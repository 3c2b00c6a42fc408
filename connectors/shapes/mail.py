"""Argument models and previews of the mail tools (gmail_*), shared by the sandbox and Gmail
connectors: a tool has the same name, arguments and approval preview whichever connector serves it."""
from __future__ import annotations

import re
from typing import Optional

from pydantic import BaseModel, Field, field_validator

from connectors.base import Preview


def _as_list(value):
    if isinstance(value, str):
        return [v for v in re.split(r"[,;]\s*", value) if v.strip()]
    return value


def reply_subject(thread_subject: str) -> str:
    """The subject of a reply: the thread's own subject with 'Re: ' (Gmail threads a reply only when
    the subject matches the thread's; see connectors/gmail/compose.py)."""
    subject = thread_subject.strip()
    return subject if re.match(r"(?i)re:", subject) else f"Re: {subject}".strip()


# ---------------------------------------------------------------- reads
class SearchArgs(BaseModel):
    query: str = Field("", description='Gmail search, e.g. '
                       '\'from:ops@globex.example is:unread newer_than:7d "order sync"\'. '
                       "Operators: from: to: cc: subject: label: in:inbox|sent|drafts|anywhere "
                       "is:unread|read|important "
                       "newer_than:Nd older_than:Nd after:YYYY/MM/DD before:YYYY/MM/DD, "
                       "-negation, quoted phrases, words.")
    max_results: int = Field(20, ge=1, le=100, description="Messages per page (1-100).")
    page_token: Optional[str] = Field(None, description="next_page_token from a previous call, for the next page.")


class ThreadArgs(BaseModel):
    thread_id: str = Field(..., description="Thread id from gmail_search.")


class NoArgs(BaseModel):
    pass


# ---------------------------------------------------------------- writes
SUBJECT = ("Subject of a new email. A reply (thread_id) always keeps the thread's own subject ('Re: ' and the "
           "thread's subject), whatever is given here.")


class DraftArgs(BaseModel):
    to: list[str] = Field(default_factory=list, description="Recipient email addresses.")
    cc: list[str] = Field(default_factory=list, description="Cc email addresses.")
    subject: str = Field(..., min_length=1, description=SUBJECT)
    body: str = Field(..., description="Plain-text body, exactly as it will be sent.")
    thread_id: Optional[str] = Field(None, description="Thread to reply in (from gmail_search); omit for a new thread.")

    _lists = field_validator("to", "cc", mode="before")(_as_list)


class SendArgs(BaseModel):
    to: list[str] = Field(..., min_length=1, description="Recipient email addresses (at least one).")
    cc: list[str] = Field(default_factory=list, description="Cc email addresses.")
    bcc: list[str] = Field(default_factory=list, description="Bcc email addresses (hidden from other recipients).")
    subject: str = Field(..., min_length=1, description=SUBJECT)
    body: str = Field(..., description="Plain-text body, exactly as it will be sent.")
    thread_id: Optional[str] = Field(None, description="Thread to reply in (from gmail_search); omit for a new thread.")

    _lists = field_validator("to", "cc", "bcc", mode="before")(_as_list)


class LabelArgs(BaseModel):
    thread_id: str = Field(..., description="Thread id from gmail_search.")
    add: list[str] = Field(default_factory=list, description="Labels to add, e.g. ['IMPORTANT', 'Follow up'].")
    remove: list[str] = Field(default_factory=list, description="Labels to remove, e.g. ['UNREAD', 'INBOX'].")


class ArchiveArgs(BaseModel):
    thread_id: str = Field(..., description="Thread id from gmail_search.")


# ---------------------------------------------------------------- previews (what an approver sees)
def email_preview(args: DraftArgs | SendArgs, title: str) -> Preview:
    fields = {"From": "me (the requester's mailbox)", "To": list(args.to)}
    for label, value in (("Cc", args.cc), ("Bcc", getattr(args, "bcc", []))):
        if value:
            fields[label] = list(value)
    if args.thread_id:
        fields["Subject"] = "Re: (the thread's own subject)"
        fields["In reply to"] = f"the last message of thread {args.thread_id}"
        return Preview("email", f"{title}: reply in thread {args.thread_id}", fields, args.body)
    fields["Subject"] = args.subject.strip()
    return Preview("email", f"{title}: {fields['Subject']}", fields, args.body)


def draft_preview(args: DraftArgs) -> Preview:
    return email_preview(args, "Save draft")


def send_preview(args: SendArgs) -> Preview:
    return email_preview(args, "Send email")


def labels_preview(a: LabelArgs) -> Preview:
    return Preview("labels", f"Change labels on thread {a.thread_id}",
                   {"Thread": a.thread_id, "Add": a.add, "Remove": a.remove})


def archive_preview(a: ArchiveArgs) -> Preview:
    return Preview("labels", f"Archive thread {a.thread_id}", {"Thread": a.thread_id, "Remove": ["INBOX"]})
