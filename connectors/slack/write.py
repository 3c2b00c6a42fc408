"""Slack, write side: post in a channel or thread, direct message a person.

Every post carries message metadata {event_type: "workmode_action", event_payload: {action_id}},
so `verify` can find it after a crash by reading the conversation with include_all_metadata.
"""
from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any, Optional

from slack_sdk.errors import SlackApiError

from connectors.base import CannotVerify, NotFound, Preview, ToolContext, ToolResult
from connectors.shapes.chat import DmArgs, PostArgs
from connectors.slack.client import Slack, connect, slack_error
from connectors.slack.read import find_channel, find_user
from services.store.models import Action

EVENT_TYPE = "workmode_action"
SCAN_PAGES = 10  # history pages (200 each) searched when the action's time is unknown
CLOCK_SKEW = timedelta(minutes=10)


def post(slack: Slack, ch: dict, text: str, thread_ts: Optional[str], action_id: Optional[str]) -> dict:
    kwargs = {"channel": ch["id"], "text": text, "thread_ts": thread_ts}
    if action_id:
        kwargs["metadata"] = {"event_type": EVENT_TYPE, "event_payload": {"action_id": action_id}}
    try:
        r = slack.api.chat_postMessage(**kwargs)
    except SlackApiError as exc:
        if slack_error(exc) != "not_in_channel" or ch.get("is_private") or ch.get("is_im"):
            raise
        try:  # nothing was posted; a public channel can be joined, like a person posting there joins it
            slack.api.conversations_join(channel=ch["id"])
        except SlackApiError:
            raise exc from None
        r = slack.api.chat_postMessage(**kwargs)
    out = {"channel": r["channel"], "ts": r["ts"]}
    return {**out, "thread_ts": thread_ts} if thread_ts else out


def open_dm(slack: Slack, ref: str) -> dict:
    user = find_user(slack, ref)
    return slack.api.conversations_open(users=user["id"])["channel"]


def slack_post(ctx: ToolContext, args: PostArgs) -> ToolResult:
    """Post a message in a channel as the connected Slack account, optionally as a thread reply."""
    with connect(ctx) as slack:
        ch = find_channel(slack, args.channel)
        return ToolResult(post(slack, ch, args.text, args.thread_ts, ctx.action_id))


def slack_dm(ctx: ToolContext, args: DmArgs) -> ToolResult:
    """Send a direct message to a colleague (by email or Slack id)."""
    with connect(ctx) as slack:
        ch = open_dm(slack, args.user)
        return ToolResult(post(slack, {**ch, "is_im": True}, args.text, None, ctx.action_id))


# ---------------------------------------------------------------- verify
def since(ctx: ToolContext, action_id: str) -> Optional[str]:
    """Slack ts before which the action's message cannot be (when the store knows the action)."""
    action = ctx.session.get(Action, action_id) if ctx.session is not None else None
    if action is None or action.created_at is None:
        return None
    created = action.created_at
    if created.tzinfo is None:  # SQLite hands back naive UTC
        created = created.replace(tzinfo=UTC)
    return f"{(created - CLOCK_SKEW).timestamp():.6f}"


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
    try:
        with connect(ctx) as slack:
            ch = find_channel(slack, args.channel)
            m = find_marked(slack, ch["id"], action_id, args.thread_ts, since(ctx, action_id))
    except NotFound:
        return None  # no channel or thread, so no message in it
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
