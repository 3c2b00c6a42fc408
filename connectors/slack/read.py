"""Slack, read side: slack_history, slack_thread, slack_find_user; plus the lookups the write
side shares (channel by name, user by email). Messages others wrote are untrusted content."""
from __future__ import annotations

import re
from typing import Any, Optional

from slack_sdk.errors import SlackApiError

from connectors.base import NotFound, ToolContext, ToolResult
from connectors.shapes.chat import FindUserArgs, HistoryArgs, ThreadArgs
from connectors.slack.client import Slack, connect, slack_error
from services.store.models import Principal

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")  # channel names are lower case, ids upper case
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
LIST_PAGES = 50  # conversations.list pages (200 each) searched for a channel name
THREAD_PAGES = 5  # conversations.replies pages (200 each) read for one thread


def find_channel(slack: Slack, ref: str) -> dict:
    """A conversation by id (C…/G…/D…) or name ('#eng' or 'eng')."""
    name = ref.strip().lstrip("#")
    if CHANNEL_ID.match(name):
        return {"id": name, "name": name}
    cursor = None
    for _ in range(LIST_PAGES):
        page = slack.api.conversations_list(types="public_channel,private_channel", exclude_archived=True,
                                            limit=200, cursor=cursor)
        channels: list[dict[str, Any]] = page.get("channels", [])
        for ch in channels:
            if ch.get("name") == name.lower():
                return ch
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    raise NotFound(f"no channel {ref!r} that the Workmode app can see; use its id, or invite the app to it")


def find_user(slack: Slack, ref: str) -> dict:
    """A member by Slack id (U…) or email."""
    ref = ref.strip()
    if USER_ID.match(ref):
        return slack.api.users_info(user=ref)["user"]
    return slack.api.users_lookupByEmail(email=ref.lower())["user"]


class People:
    """users.info, once per person per tool call."""

    def __init__(self, slack: Slack):
        self.slack = slack
        self.known: dict[str, dict[str, Any]] = {}

    def __call__(self, user_id: Optional[str]) -> dict:
        if not user_id:
            return {}
        if user_id not in self.known:
            try:
                self.known[user_id] = self.slack.api.users_info(user=user_id)["user"]
            except SlackApiError as exc:  # someone outside the workspace (Slack Connect) or deleted
                if slack_error(exc) not in ("user_not_found", "user_not_visible"):
                    raise
                self.known[user_id] = {}
        return self.known[user_id]


def my_slack_id(ctx: ToolContext) -> Optional[str]:
    p = ctx.session.get(Principal, ctx.principal_id) if ctx.session is not None else None
    return p.slack_user_id if p is not None else None


def message(m: dict, people: People) -> dict:
    u = people(m.get("user"))
    profile = u.get("profile") or {}
    name = u.get("real_name") or profile.get("real_name") or u.get("name") or \
        (m.get("bot_profile") or {}).get("name") or m.get("username")
    out = {"ts": m["ts"], "user": profile.get("email") or m.get("user") or m.get("bot_id"),
           "user_id": m.get("user"), "user_name": name, "text": m.get("text", "")}
    if m.get("thread_ts"):
        out["thread_ts"] = m["thread_ts"]
    if m.get("reply_count"):
        out["reply_count"] = m["reply_count"]
    return out


def others_wrote(ctx: ToolContext, messages: list[dict]) -> bool:
    me = my_slack_id(ctx)
    return any(m["user_id"] != me and (m["user"] or "").lower() != ctx.principal_email.lower() for m in messages)


def slack_history(ctx: ToolContext, args: HistoryArgs) -> ToolResult:
    """Read a channel's recent messages (top level, newest first, with reply counts)."""
    with connect(ctx) as slack:
        ch = find_channel(slack, args.channel)
        page = slack.api.conversations_history(channel=ch["id"], limit=args.limit, cursor=args.cursor or None)
        people = People(slack)
        found: list[dict[str, Any]] = page.get("messages", [])
        messages = [message(m, people) for m in found]
    cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
    data = {"channel": ch["id"], "name": ch.get("name"), "messages": messages,
            "has_more": bool(page.get("has_more")), "next_cursor": cursor}
    others = others_wrote(ctx, messages)
    return ToolResult(data, untrusted=others, source=f"slack_history:{ch['id']}" if others else None)


def slack_thread(ctx: ToolContext, args: ThreadArgs) -> ToolResult:
    """Read a thread: the parent message and its replies, oldest first."""
    with connect(ctx) as slack:
        ch = find_channel(slack, args.channel)
        raw: list[dict[str, Any]] = []
        cursor = None
        for _ in range(THREAD_PAGES):
            page = slack.api.conversations_replies(channel=ch["id"], ts=args.thread_ts, limit=200, cursor=cursor)
            raw.extend(page.get("messages", []))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        people = People(slack)
        messages = [message(m, people) for m in raw]
    data = {"channel": ch["id"], "messages": messages}
    if cursor:
        data["note"] = f"only the first {len(messages)} messages of the thread are shown"
    others = others_wrote(ctx, messages)
    return ToolResult(data, untrusted=others, source=f"slack_thread:{ch['id']}:{args.thread_ts}" if others else None)


def slack_find_user(ctx: ToolContext, args: FindUserArgs) -> ToolResult:
    """Look up a workspace member by email: Slack id, name, time zone."""
    with connect(ctx) as slack:
        u = slack.api.users_lookupByEmail(email=args.email.strip().lower())["user"]
    profile = u.get("profile") or {}
    return ToolResult({"id": u["id"], "email": profile.get("email") or args.email.strip().lower(),
                       "name": u.get("real_name") or profile.get("real_name") or u.get("name"),
                       "time_zone": u.get("tz")})
