"""Argument models of the chat tools (slack_*), shared by the sandbox and Slack connectors."""
from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Field


class HistoryArgs(BaseModel):
    channel: str = Field(..., description="Channel name ('#general' or 'general') or id (C…/D…).")
    limit: int = Field(20, ge=1, le=200, description="Messages per page, newest first.")
    cursor: Optional[str] = Field(None, description="next_cursor from a previous call, for older messages.")


class ThreadArgs(BaseModel):
    channel: str = Field(..., description="Channel name or id.")
    thread_ts: str = Field(..., description="ts of the thread's parent message.")


class FindUserArgs(BaseModel):
    email: str = Field(..., description="The person's email address.")


class PostArgs(BaseModel):
    channel: str = Field(..., description="Channel name ('#eng') or id.")
    text: str = Field(..., min_length=1, description="Message text (Slack mrkdwn).")
    thread_ts: Optional[str] = Field(None, description="Reply in this thread (parent's ts); omit for top level.")


class DmArgs(BaseModel):
    user: str = Field(..., description="Recipient's email or Slack user id (U…).")
    text: str = Field(..., min_length=1, description="Message text (Slack mrkdwn).")
