"""Slack, write side: post in a channel or thread, direct message a person.

Every post carries message metadata {event_type: "workmode_action", event_payload: {action_id}},
so `verify` can find it after a crash by reading the conversation with include_all_metadata.
Reading a channel's history needs the app to be a member, while chat:write.public lets it post
in a public channel without joining; so a post in a public channel joins it first
(conversations.join), and so does a verify that finds the app outside one. A private channel is
invisible to an app that is not in it: posting there fails, and verify says it cannot tell.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Optional

from slack_sdk.errors import SlackApiError

from connectors.base import CannotVerify, NotFound, Preview, ToolContext, ToolResult
from connectors.shapes.chat import DmArgs, PostArgs
from connectors.slack.client import Slack, connect, slack_error
from connectors.slack.read import find_channel, find_user
from services.store.models import Action

EVENT_TYPE = "workmode_action"
SCAN_PAGES = 10  # history pages (200 each) searched when the action's time is unknown
# Read from this long before the execution began: Slack's clock against ours, and the gap between
# an earlier attempt (a timeout whose request still landed) and the claim of a retry (≤ 60 s).
CLOCK_SKEW = timedelta(minutes=10)


def member_of(slack: Slack, ch: dict) -> dict:
    """The conversation with `is_private` and `is_member`: conversations.list entries have them,
    a channel named by id asks conversations.info. DMs are the app's own."""
    if "is_member" in ch:
        return ch
    if ch.get("is_im") or ch["id"].startswith("D"):
        return {**ch, "is_im": True, "is_member": True}
    info: dict[str, Any] = slack.api.conversations_info(channel=ch["id"])["channel"]
    return {**ch, **info}


def join_if_public(slack: Slack, ch: dict) -> dict:
    """Join a public channel the app is not in (channels:join), so its history can be read."""
    ch = member_of(slack, ch)
    if not ch.get("is_member") and not ch.get("is_private") and not ch.get("is_im"):
        slack.api.conversations_join(channel=ch["id"])
        ch = {**ch, "is_member": True}
    return ch


def post(slack: Slack, ch: dict, text: str, thread_ts: Optional[str], action_id: Optional[str]) -> dict:
    ch = join_if_public(slack, ch)  # before posting: a post that verify cannot read is a post in doubt
    kwargs = {"channel": ch["id"], "text": text, "thread_ts": thread_ts}
    if action_id:
        kwargs["metadata"] = {"event_type": EVENT_TYPE, "event_payload": {"action_id": action_id}}
    r = slack.api.chat_postMessage(**kwargs)
    out = {"channel": r["channel"], "ts": r["ts"]}
    return {**out, "thread_ts": thread_ts} if thread_ts else out


def open_dm(slack: Slack, ref: str) -> dict:
    user = find_user(slack, ref)
    return {**slack.api.conversations_open(users=user["id"])["channel"], "is_im": True}


def slack_post(ctx: ToolContext, args: PostArgs) -> ToolResult:
    """Post a message in a channel as the connected Slack account, optionally as a thread reply."""
    with connect(ctx) as slack:
        ch = find_channel(slack, args.channel)
        return ToolResult(post(slack, ch, args.text, args.thread_ts, ctx.action_id))


def slack_dm(ctx: ToolContext, args: DmArgs) -> ToolResult:
    """Send a direct message to a colleague (by email or Slack id)."""
    with connect(ctx) as slack:
        ch = open_dm(slack, args.user)
        return ToolResult(post(slack, ch, args.text, None, ctx.action_id))


# ---------------------------------------------------------------- verify
def since(ctx: ToolContext, action_id: str) -> Optional[str]:
    """Slack ts before which the action's message cannot be: the earliest moment any attempt can
    have acted (the engine passes `executing_since`, the approval time); without it, the stored
    action's own times."""
    start: Optional[datetime] = ctx.executing_since
    if start is None:
        action = ctx.session.get(Action, action_id) if ctx.session is not None else None
        start = (action.executing_since or action.created_at) if action is not None else None
    if start is None:
        return None
    if start.tzinfo is None:  # SQLite hands back naive UTC
        start = start.replace(tzinfo=UTC)
    return f"{(start - CLOCK_SKEW).timestamp():.6f}"


def readable(slack: Slack, ref: str) -> dict:
    """The channel, its history readable: a public one is joined if need be. One the app cannot
    see (a private channel it is not in, or gone) cannot be read, so verify cannot tell."""
    try:
        return join_if_public(slack, find_channel(slack, ref))
    except NotFound:
        pass
    except SlackApiError as exc:
        if slack_error(exc) != "channel_not_found":
            raise
    raise CannotVerify(f"Slack does not show the channel {ref} to the Workmode app (a private channel it is not "
                       "in, or one deleted or archived), so its messages cannot be read: invite the app to the "
                       "channel, or check by hand whether the message was posted")


def find_marked(slack: Slack, channel: str, action_id: str, thread_ts: Optional[str], oldest: Optional[str]
                ) -> Optional[dict]:
    cursor = None
    for _ in range(SCAN_PAGES if oldest is None else 10_000):
        common: dict[str, Any] = {"channel": channel, "include_all_metadata": True, "limit": 200, "cursor": cursor,
                                  "oldest": oldest}
        page = slack.api.conversations_replies(ts=thread_ts, **common) if thread_ts else \
            slack.api.conversations_history(**common)
        messages: list[dict[str, Any]] = page.get("messages", [])
        for m in messages:
            meta = m.get("metadata") or {}
            if meta.get("event_type") == EVENT_TYPE and (meta.get("event_payload") or {}).get("action_id") == action_id:
                return m
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    raise CannotVerify(f"the message was not among the last {SCAN_PAGES * 200} in {channel}; check by hand")


def verify_post(ctx: ToolContext, args: PostArgs, action_id: str) -> Optional[dict]:
    """The message in the channel (or thread) whose metadata names the action."""
    with connect(ctx) as slack:
        ch = readable(slack, args.channel)
        try:
            m = find_marked(slack, ch["id"], action_id, args.thread_ts, since(ctx, action_id))
        except SlackApiError as exc:
            if slack_error(exc) != "thread_not_found":
                raise
            return None  # no thread, so no reply in it
    if m is None:
        return None
    return {"channel": ch["id"], "ts": m["ts"], **({"thread_ts": args.thread_ts} if args.thread_ts else {})}


def verify_dm(ctx: ToolContext, args: DmArgs, action_id: str) -> Optional[dict]:
    """The direct message whose metadata names the action."""
    with connect(ctx) as slack:
        ch = open_dm(slack, args.user)
        m = find_marked(slack, ch["id"], action_id, None, since(ctx, action_id))
    return {"channel": ch["id"], "ts": m["ts"]} if m else None


# ---------------------------------------------------------------- previews
AS = "the connected Slack account"


def post_preview(a: PostArgs) -> Preview:
    return Preview("chat", f"Post in {a.channel}" + (" (thread reply)" if a.thread_ts else ""),
                   {"Channel": a.channel, **({"In thread": a.thread_ts} if a.thread_ts else {}), "As": AS}, a.text)


def dm_preview(a: DmArgs) -> Preview:
    return Preview("chat", f"Direct message to {a.user}", {"To": a.user, "As": AS}, a.text)
