"""Sandbox world tables: a mailbox, calendars, a ticket tracker and a chat workspace.

They live in the job store's database (same SQLModel metadata, same migrations) and stand in
for Gmail, Google Calendar, Jira and Slack. Everything is scoped by `org_id`. `action_id` marks
what Workmode created or changed, and `SandboxEffect` records each applied write once, so a
crash-recovering executor can ask whether an effect happened.

`action_id` on a row is the Action that created it (None for seeded rows). Changes to existing
rows (labels, transitions, assignment, event updates) are recorded only in `SandboxEffect`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.store.models import new_id, utcnow


def short_id() -> str:
    return new_id()[:16]


# ---------------------------------------------------------------- mail
class SandboxMailThread(SQLModel, table=True):
    __tablename__ = "sandbox_mail_thread"
    id: str = Field(default_factory=short_id, primary_key=True)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    owner: str = Field(index=True)  # mailbox email
    subject: str = ""
    updated_at: datetime = Field(default_factory=utcnow)
    action_id: Optional[str] = Field(default=None, index=True)


class SandboxMailMessage(SQLModel, table=True):
    __tablename__ = "sandbox_mail_message"
    id: str = Field(default_factory=short_id, primary_key=True)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    thread_id: str = Field(foreign_key="sandbox_mail_thread.id", index=True)
    owner: str = Field(index=True)  # mailbox email
    from_addr: str
    from_name: str = ""
    to_addrs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cc_addrs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    bcc_addrs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subject: str = ""
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    html_body: Optional[str] = Field(default=None, sa_column=Column(Text))
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    date: datetime = Field(default_factory=utcnow, index=True)
    message_id: str  # RFC 822 Message-ID header
    in_reply_to: Optional[str] = None
    references: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    action_id: Optional[str] = Field(default=None, index=True)


SandboxMessage = SandboxMailMessage  # short alias (engine tests look up sent mail by action_id)


# ---------------------------------------------------------------- calendar
class SandboxEvent(SQLModel, table=True):
    __tablename__ = "sandbox_event"
    id: str = Field(default_factory=short_id, primary_key=True)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    calendar: str = Field(index=True)  # owner (organiser) email
    summary: str = ""
    start: datetime = Field(index=True)
    end: datetime = Field(index=True)
    attendees: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    location: str = ""
    time_zone: str = "UTC"  # zone the organiser created it in
    cancelled: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    action_id: Optional[str] = Field(default=None, index=True)


# ---------------------------------------------------------------- tickets
class SandboxProject(SQLModel, table=True):
    __tablename__ = "sandbox_project"
    __table_args__ = (UniqueConstraint("org_id", "key"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    key: str
    name: str = ""
    lead: Optional[str] = None
    next_number: int = 1


class SandboxTransition(SQLModel, table=True):
    """The workflow: from a status, a named transition leads to another status."""

    __tablename__ = "sandbox_transition"
    __table_args__ = (UniqueConstraint("project_id", "from_status", "name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    project_id: str = Field(foreign_key="sandbox_project.id", index=True)
    from_status: str
    name: str
    to_status: str


class SandboxIssue(SQLModel, table=True):
    __tablename__ = "sandbox_issue"
    __table_args__ = (UniqueConstraint("org_id", "key"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    project_id: str = Field(foreign_key="sandbox_project.id", index=True)
    project_key: str
    number: int
    key: str = Field(index=True)
    issue_type: str = "Task"
    summary: str
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = "To Do"
    assignee: Optional[str] = None
    reporter: str
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    priority: str = "Medium"
    created: datetime = Field(default_factory=utcnow)
    updated: datetime = Field(default_factory=utcnow)
    action_id: Optional[str] = Field(default=None, index=True)


class SandboxComment(SQLModel, table=True):
    __tablename__ = "sandbox_comment"
    id: Optional[int] = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    issue_id: str = Field(foreign_key="sandbox_issue.id", index=True)
    author: str
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    created: datetime = Field(default_factory=utcnow)
    action_id: Optional[str] = Field(default=None, index=True)


# ---------------------------------------------------------------- chat
class SandboxChannel(SQLModel, table=True):
    __tablename__ = "sandbox_channel"
    __table_args__ = (UniqueConstraint("org_id", "name"),)
    id: str = Field(primary_key=True)  # Slack-style: C0GENERAL, D0ALEXDANA
    org_id: str = Field(foreign_key="organisation.id", index=True)
    name: str  # "general"; DMs: "dm:<email>,<email>"
    is_dm: bool = False
    is_private: bool = False
    topic: str = ""
    members: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class SandboxChatMessage(SQLModel, table=True):
    __tablename__ = "sandbox_chat_message"
    __table_args__ = (UniqueConstraint("channel_id", "ts"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    channel_id: str = Field(foreign_key="sandbox_channel.id", index=True)
    ts: str  # "1732870000.000100"
    user: str  # author email
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    thread_ts: Optional[str] = Field(default=None, index=True)
    posted_at: datetime = Field(default_factory=utcnow)
    action_id: Optional[str] = Field(default=None, index=True)


# ---------------------------------------------------------------- applied effects
class SandboxEffect(SQLModel, table=True):
    """One row per applied write, keyed by the Action id, written in the same transaction."""

    __tablename__ = "sandbox_effect"
    id: Optional[int] = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    action_id: str = Field(unique=True)
    tool: str
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
