"""The triage digest as Slack DMs (Block Kit): grouped, highest priority first, each email linked to
the original message, "Approve all low-risk" and per-item Approve / Edit / Reject (the ordinary
approval buttons, handled by approvals.py). Slack allows at most 50 blocks in a message
(https://docs.slack.dev/reference/block-kit/blocks), so a long digest is paged over several
messages ("part 2 of 3"); texts are clipped to Slack's limits (section text 3000, button text 75,
button value 2000, header 150 characters)."""
from __future__ import annotations

import json
import logging
from typing import Any, Optional

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from services import queues
from services.config import get_settings
from services.digest.batch import approve_low_risk, fingerprint
from services.digest.build import Digest, Item, build, low_risk, visible_run
from services.errors import WorkmodeError
from services.jobs import notify
from services.jobs.dispatch import send_task
from services.slackapp.approval_blocks import APPROVE, EDIT, REJECT, button_value
from services.slackapp.blocks import clip, context, esc, section
from services.slackapp.client import web_client
from services.slackapp.common import BadPayload, actor, first_action, session, tell
from services.slackapp.identity import UnknownSlackUser
from services.store.models import Action, Principal, TriageRun
from services.triage.ending import DUE

MAX_BLOCKS = 50  # Slack: blocks per message
BUTTON_TEXT_MAX = 75
VALUE_MAX = 2000
HEADER_MAX = 150
LOW_RISK = "wm_digest_low_risk"
MAX_FAILURES = 5
log = logging.getLogger(__name__)
ICON = {0: ":red_circle:", 1: ":large_blue_circle:", 2: ":white_circle:"}


def _button(action_id: str, label: str, value: str, style: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "button", "action_id": action_id, "value": value[:VALUE_MAX],
                           "text": {"type": "plain_text", "text": clip(label, BUTTON_TEXT_MAX)}}
    if style:
        out["style"] = style
    return out


def _item_blocks(item: Item) -> list[dict[str, Any]]:
    row = item.row
    subject = esc(clip(row.subject or "(no subject)", 200))
    title = f"<{item.link}|{subject}>" if item.link else f"{subject} (message `{esc(clip(item.ref, 100))}`)"
    lines = [f"{ICON.get(item.rank, '')} *{title}*", esc(clip(row.sender or "", 200))]
    if row.reason:
        lines.append("_" + esc(clip(row.reason, 500)) + "_")
    for rule in item.rules:
        lines.append(":pushpin: Rule: " + esc(clip(rule.text, 300)))
    blocks = [section("\n".join(line for line in lines if line))]
    for a in item.actions:
        blocks.extend(_action_blocks(a))
    return blocks


def _action_blocks(a: Action) -> list[dict[str, Any]]:
    title = esc(clip(str((a.preview or {}).get("title") or a.tool), 300))
    flags = " ".join(f":warning: {esc(f.get('kind', ''))}" for f in a.risk_flags or [])
    tag = " · low-risk" if low_risk(a) else ""
    if a.status != "pending":
        return [context(f"{title} · {esc(a.status)}{tag} {flags}".strip())]
    value = button_value(a)
    return [context(f"Proposed: {title}{tag} {flags}".strip()),
            {"type": "actions", "block_id": f"wm_dg_{a.id}"[:255], "elements": [
                _button(APPROVE, "Approve", value, "primary"), _button(EDIT, "Edit", value),
                _button(REJECT, "Reject", value, "danger")]}]


def _head(d: Digest) -> list[dict[str, Any]]:
    owner = d.person.name or d.person.email
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(f"Inbox triage for {owner}", HEADER_MAX)}},
        context(f"{len(d.items)} emails · {len(d.pending)} proposals wait for you · run `{d.run.id[:8]}`")]
    if d.notes:
        blocks.append(section("\n".join(":information_source: " + esc(n) for n in d.notes)))
    batch = d.low_risk_pending
    if batch:
        value = json.dumps({"r": d.run.id, "f": fingerprint(batch)}, separators=(",", ":"))
        blocks.append({"type": "actions", "block_id": "wm_dg_low_risk", "elements": [
            _button(LOW_RISK, f"Approve all low-risk ({len(batch)})", value, "primary")]})
    for m in d.suggestions[:3]:
        blocks.append(context(":bulb: Suggested rule: " + esc(clip(str(m.content.get("text", "")), 500))
                              + " (accept or decline on the web: /triage/memory)"))
    return blocks


def pages(d: Digest, web_url: str = "") -> list[tuple[list[dict[str, Any]], str]]:
    """The digest as messages of at most 50 blocks each: (blocks, fallback text) per message."""
    out: list[list[dict[str, Any]]] = [_head(d)]
    room = MAX_BLOCKS - 1  # one block kept for the "continued" / link line
    for g in d.groups:
        group_head = section(f"*{esc(g.title)}* ({len(g.items)})")
        pending_head = True
        for item in g.items:
            blocks = ([group_head] if pending_head else []) + _item_blocks(item)
            if len(blocks) > room:  # an item with very many proposals: its first ones, the web has all
                blocks = [*blocks[: room - 1], context("More proposals for this email are on the web page.")]
            if len(out[-1]) + len(blocks) > room:
                out.append([])
            out[-1].extend(blocks)
            pending_head = False
    if not d.items:
        out[-1].append(section("No new mail in this run."))
    total = len(out)
    messages = []
    for n, blocks in enumerate(out, 1):
        tail = f"Part {n} of {total}." if total > 1 else ""
        if web_url:
            tail += f" All of it on the web: <{web_url}|the digest page>."
        if tail:
            blocks.append(context(tail.strip()))
        fallback = f"Inbox triage: {len(d.items)} emails, {len(d.pending)} proposals" + (
            f" (part {n} of {total})" if total > 1 else "")
        messages.append((blocks, fallback))
    return messages


def deliver(client: WebClient, run_id: str, public_url: str) -> int:
    """DM the run's digest to its person (if they have a Slack id); returns messages posted."""
    with session() as s:
        run = s.get(TriageRun, run_id)
        if run is None:
            return 0
        d = build(s, run)
        if not d.person.slack_user_id:
            return 0
        channel = client.conversations_open(users=d.person.slack_user_id)["channel"]["id"]
        msgs = pages(d, f"{public_url.rstrip('/')}/triage/{run.id}")
    for blocks, fallback in msgs:
        client.chat_postMessage(channel=channel, blocks=blocks, text=fallback)
    return len(msgs)


def deliver_once(run_id: str) -> str:
    """The `workmode.triage.digest` task: DM a finished run's digest to its person, once. The run's
    row is locked while posting and `digest["delivery"]["slack"]` moves from "due" to "sent" in the
    same commit, so a repeated task (a redelivery, the reconciler's resend) posts nothing; a crash
    while posting rolls back and the next delivery posts it. Slack's 429 sends the task again after
    Retry-After; after MAX_FAILURES other errors it stops trying and says so in the row."""
    if not notify.enabled():
        return "disabled"
    client = web_client(retry_rate_limits=False)
    again: Optional[float] = None
    with session() as s:
        run = s.exec(select(TriageRun).where(TriageRun.id == run_id).with_for_update()).first()
        if run is None:
            return "gone"
        delivery = dict((run.digest or {}).get("delivery") or {})
        if delivery.get("slack") != DUE:
            return "already"
        person = s.get_one(Principal, run.principal_id)
        try:
            slack_id = person.slack_user_id or _lookup(client, person.email)
            if not slack_id:
                delivery["slack"], outcome = "no_slack_account", "no_slack_account"
            else:
                d = build(s, run)
                channel = client.conversations_open(users=slack_id)["channel"]["id"]
                posted = []
                for blocks, fallback in pages(d, f"{get_settings().public_url.rstrip('/')}/triage/{run.id}"):
                    resp = client.chat_postMessage(channel=channel, blocks=blocks, text=fallback)
                    posted.append([resp["channel"], resp["ts"]])
                delivery.update(slack="sent", messages=posted)
                outcome = "sent"
        except SlackApiError as exc:
            s.rollback()
            if exc.response.status_code == 429:
                again = float(exc.response.headers.get("Retry-After", 1) or 1)
                outcome = "rate_limited"
            else:
                outcome = _failed(run_id, f"slack error: {exc.response.get('error')}")
        except Exception as exc:  # Slack unreachable: the reconciler sends the task again later
            s.rollback()
            log.warning("could not DM the digest of triage run %s (%s)", run_id, type(exc).__name__)
            outcome = _failed(run_id, type(exc).__name__)
        else:
            run.digest = {**(run.digest or {}), "delivery": delivery}
            s.add(run)
            s.commit()
    if again is not None:
        send_task(queues.TRIAGE_DIGEST, [run_id], countdown=again)
    return outcome


def _failed(run_id: str, why: str) -> str:
    """Count a failed delivery; after MAX_FAILURES the DM is given up (the web page still has it)."""
    with session() as s:
        run = s.exec(select(TriageRun).where(TriageRun.id == run_id).with_for_update()).one()
        delivery = dict((run.digest or {}).get("delivery") or {})
        if delivery.get("slack") != DUE:
            return "already"
        delivery["failures"] = int(delivery.get("failures") or 0) + 1
        if delivery["failures"] >= MAX_FAILURES:
            delivery["slack"] = "failed"
        delivery["error"] = why[:300]
        run.digest = {**(run.digest or {}), "delivery": delivery}
        s.add(run)
        s.commit()
    return why


def _lookup(client: WebClient, email: str) -> Optional[str]:
    try:
        return str(client.users_lookupByEmail(email=email)["user"]["id"])
    except SlackApiError as exc:
        if exc.response.status_code == 429:
            raise
        return None


def on_low_risk(ack, body: dict, client, context) -> None:
    ack()
    user_id = context.get("user_id") or ""
    with session() as s:
        try:
            person = actor(s, client, context)
            try:
                value = json.loads(first_action(body).get("value") or "")
                run_id, shown = str(value["r"]), str(value["f"])
            except (ValueError, KeyError, TypeError):
                raise BadPayload("this button's value is not one Workmode made") from None
            run = visible_run(s, person, run_id)
            out = approve_low_risk(s, run, person, shown)
        except UnknownSlackUser as exc:
            tell(client, body, user_id, str(exc))
            return
        except WorkmodeError as exc:
            s.rollback()
            tell(client, body, user_id, f"Nothing changed: {exc}.")
            return
    note = f"Approved {out.done} of {out.total} low-risk proposals."
    if out.failed:
        note += " Not decided: " + "; ".join(out.failed[:5])
    tell(client, body, user_id, note)


def register(app) -> None:
    app.action(LOW_RISK)(on_low_risk)
