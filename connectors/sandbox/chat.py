"""Sandbox chat workspace: the Slack tools (history, threads, user lookup, posting, DMs)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Optional

from sqlmodel import col, func, select

from connectors.base import Connector, NotFound, NotPermitted, Preview, ToolContext, ToolError, ToolResult
from connectors.common import org_principals
from connectors.sandbox.common import applied, page_offset, replay, verify_effect
from connectors.sandbox.models import SandboxChannel as Channel
from connectors.sandbox.models import SandboxChatMessage as ChatMsg
from connectors.shapes.chat import DmArgs, FindUserArgs, HistoryArgs, PostArgs, ThreadArgs
from services.store.models import Principal, utcnow


def make_ts(moment: datetime, after: Optional[str] = None) -> str:
    """Slack-style ts ('1732870000.000100'), strictly after `after` when given."""
    micros = round(moment.timestamp() * 1_000_000)
    if after:
        secs, _, frac = after.partition(".")
        micros = max(micros, int(secs) * 1_000_000 + int(frac.ljust(6, "0")[:6]) + 1)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def channel_for(ctx: ToolContext, ref: str) -> Channel:
    name = ref.strip().lstrip("#")
    ch = ctx.session.get(Channel, name)
    if ch is None or ch.org_id != ctx.org_id:
        ch = ctx.session.exec(
            select(Channel).where(Channel.org_id == ctx.org_id, Channel.name == name.lower())).first()
    if ch is None:
        names = ctx.session.exec(select(Channel.name).where(Channel.org_id == ctx.org_id, Channel.is_dm == False))  # noqa: E712  (builds SQL: is_dm = false)
        raise NotFound(f"no channel {ref!r}; channels: {', '.join('#' + n for n in names)}")
    if (ch.is_dm or ch.is_private) and ctx.principal_email not in ch.members:
        raise NotPermitted(f"you are not a member of {ref}")
    return ch


def _msg(m: ChatMsg, people: dict[str, Principal], replies: int = 0) -> dict:
    p = people.get(m.user)
    out: dict[str, Any] = {"ts": m.ts, "user": m.user, "user_id": p.slack_user_id if p else None,
           "user_name": p.name if p else m.user, "text": m.text}
    if m.thread_ts:
        out["thread_ts"] = m.thread_ts
    if replies:
        out["reply_count"] = replies
    return out


def slack_history(ctx: ToolContext, args: HistoryArgs) -> ToolResult:
    """Read a channel's recent messages (top level, newest first, with reply counts)."""
    ch = channel_for(ctx, args.channel)
    rows = list(ctx.session.exec(select(ChatMsg).where(ChatMsg.channel_id == ch.id).order_by(col(ChatMsg.ts).desc())))
    counts: dict[str, int] = {}
    for m in rows:
        if m.thread_ts and m.thread_ts != m.ts:
            counts[m.thread_ts] = counts.get(m.thread_ts, 0) + 1
    top = [m for m in rows if not m.thread_ts or m.thread_ts == m.ts]
    start = page_offset(args.cursor, "cursor")
    page = top[start:start + args.limit]
    people = org_principals(ctx.session, ctx.org_id)
    more = start + args.limit < len(top)
    data = {"channel": ch.id, "name": ch.name, "messages": [_msg(m, people, counts.get(m.ts, 0)) for m in page],
            "has_more": more, "next_cursor": str(start + args.limit) if more else None}
    others = any(m.user != ctx.principal_email for m in page)
    return ToolResult(data, untrusted=others, source=f"slack_history:{ch.id}" if others else None)


def slack_thread(ctx: ToolContext, args: ThreadArgs) -> ToolResult:
    """Read a thread: the parent message and its replies, oldest first."""
    ch = channel_for(ctx, args.channel)
    rows = list(ctx.session.exec(select(ChatMsg).where(
        ChatMsg.channel_id == ch.id, (ChatMsg.ts == args.thread_ts) | (ChatMsg.thread_ts == args.thread_ts))
        .order_by(ChatMsg.ts)))
    if not rows or rows[0].ts != args.thread_ts:
        raise NotFound(f"no message with ts {args.thread_ts} in {args.channel}")
    people = org_principals(ctx.session, ctx.org_id)
    others = any(m.user != ctx.principal_email for m in rows)
    return ToolResult({"channel": ch.id, "messages": [_msg(m, people) for m in rows]}, untrusted=others,
                      source=f"slack_thread:{ch.id}:{args.thread_ts}" if others else None)


def slack_find_user(ctx: ToolContext, args: FindUserArgs) -> ToolResult:
    """Look up a workspace member by email: Slack id, name, time zone."""
    p = org_principals(ctx.session, ctx.org_id).get(args.email.strip().lower())
    if p is None or not p.slack_user_id:
        raise NotFound(f"no Slack user with email {args.email!r}")
    return ToolResult({"id": p.slack_user_id, "email": p.email, "name": p.name, "time_zone": p.time_zone})


def _post(ctx: ToolContext, ch: Channel, text: str, thread_ts: Optional[str]) -> dict:
    if thread_ts and ctx.session.exec(select(ChatMsg).where(
            ChatMsg.channel_id == ch.id, ChatMsg.ts == thread_ts)).first() is None:
        raise NotFound(f"no message with ts {thread_ts} in #{ch.name} to reply to")
    last = ctx.session.exec(select(func.max(ChatMsg.ts)).where(ChatMsg.channel_id == ch.id)).first()
    now = utcnow()
    msg = ChatMsg(org_id=ctx.org_id, channel_id=ch.id, ts=make_ts(now, last), user=ctx.principal_email,
                  text=text, thread_ts=thread_ts, posted_at=now, action_id=ctx.action_id)
    ctx.session.add(msg)
    return {"channel": ch.id, "ts": msg.ts, **({"thread_ts": thread_ts} if thread_ts else {})}


def slack_post(ctx: ToolContext, args: PostArgs) -> ToolResult:
    """Post a message in a channel as you, optionally as a thread reply."""
    if (done := replay(ctx)) is not None:
        return done
    ch = channel_for(ctx, args.channel)
    if ctx.principal_email not in ch.members:
        ch.members = [*ch.members, ctx.principal_email]  # posting in a public channel joins it
        ctx.session.add(ch)
    return applied(ctx, "slack_post", _post(ctx, ch, args.text, args.thread_ts))


def slack_dm(ctx: ToolContext, args: DmArgs) -> ToolResult:
    """Send a direct message to a colleague (by email or Slack id)."""
    if (done := replay(ctx)) is not None:
        return done
    ref = args.user.strip()
    people = org_principals(ctx.session, ctx.org_id)
    p = people.get(ref.lower()) or next((x for x in people.values() if x.slack_user_id == ref), None)
    if p is None:
        raise NotFound(f"no workspace member {ref!r}")
    if p.email == ctx.principal_email:
        raise ToolError("you cannot DM yourself")
    name = "dm:" + ",".join(sorted({ctx.principal_email, p.email}))
    ch = ctx.session.exec(select(Channel).where(Channel.org_id == ctx.org_id, Channel.name == name)).first()
    if ch is None:
        ch = Channel(id="D" + uuid.uuid4().hex[:10].upper(), org_id=ctx.org_id, name=name, is_dm=True,
                     members=sorted({ctx.principal_email, p.email}))
        ctx.session.add(ch)
        ctx.session.flush()
    return applied(ctx, "slack_dm", _post(ctx, ch, args.text, None))


def register(c: Connector) -> None:
    c.read("slack_history", HistoryArgs)(slack_history)
    c.read("slack_thread", ThreadArgs)(slack_thread)
    c.read("slack_find_user", FindUserArgs)(slack_find_user)
    c.write("slack_post", PostArgs, verify=verify_effect, preview=lambda a: Preview(
        "chat", f"Post in {a.channel}" + (" (thread reply)" if a.thread_ts else ""),
        {"Channel": a.channel, **({"In thread": a.thread_ts} if a.thread_ts else {}), "As": "me (the requester)"},
        a.text))(slack_post)
    c.write("slack_dm", DmArgs, verify=verify_effect, recipient_fields=("user",), preview=lambda a: Preview(
        "chat", f"Direct message to {a.user}", {"To": a.user, "As": "me (the requester)"}, a.text))(slack_dm)
