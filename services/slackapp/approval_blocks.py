"""Block Kit for one approval: the action as it will happen (email, event, ticket, message),
its risk flags, and Approve / Edit / Reject / Feedback; after a decision, who decided and when, no buttons."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo

from services.agent.risk import describe
from services.slackapp.blocks import chunks, clip, context, esc, section, short, when, who
from services.store.models import Action, Job

APPROVE, EDIT, REJECT, FEEDBACK = "wm_approve", "wm_edit", "wm_reject", "wm_feedback"
ACTIONS_BLOCK = "wm_approval"
BODY_MAX = 2800
# (slack id, name) of a principal id, for "decided by"
Person = Callable[[Optional[str]], tuple[Optional[str], str]]


def button_value(action: Action) -> str:
    return json.dumps({"a": action.id, "h": action.args_hash}, separators=(",", ":"))


def parse_button_value(value: Any) -> tuple[str, str]:
    """(action id, shown hash) from a button's value; ValueError with what is wrong."""
    try:
        data = json.loads(value)
        action_id, shown = data["a"], data["h"]
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"this button's value is not one Workmode made ({type(exc).__name__})") from None
    if not isinstance(action_id, str) or not isinstance(shown, str):
        raise ValueError("this button's value is not one Workmode made")
    return action_id, shown


def decision_buttons(action: Action) -> list[dict]:
    """Approve, Edit (a form, then approve), Reject (a reason) and Feedback (tell the agent what to
    do instead; nothing runs), each carrying the action id and the hash of what is shown."""
    value = button_value(action)
    return [
        {"type": "button", "action_id": APPROVE, "style": "primary", "value": value,
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": EDIT, "value": value, "text": {"type": "plain_text", "text": "Edit"}},
        {"type": "button", "action_id": REJECT, "style": "danger", "value": value,
         "text": {"type": "plain_text", "text": "Reject"}},
        {"type": "button", "action_id": FEEDBACK, "value": value, "text": {"type": "plain_text", "text": "Feedback"}},
    ]


def _event_time(value: Any, tz: str) -> Optional[str]:
    """An event time shown in each viewer's own time zone; naive times are the requester's."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(tz or "UTC"))
        except (KeyError, ValueError):
            return None
    return when(moment, "{date_long_pretty} at {time}")


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(esc(v) for v in value) or "—"
    if value in (None, ""):
        return "—"
    return esc(value)


def preview_blocks(action: Action, requester_tz: str) -> list[dict]:
    preview = action.preview or {}
    blocks: list[dict] = [section(f"*{esc(clip(preview.get('title') or action.tool, 300))}*")]
    fields = []
    for label, value in (preview.get("fields") or {}).items():
        shown = _value(value)
        if preview.get("kind") == "event" and label in ("Start", "End"):
            shown = _event_time(action.arguments.get(label.lower()), requester_tz) or shown
        fields.append({"type": "mrkdwn", "text": clip(f"*{esc(label)}*\n{shown}", 1900)})
    for i in range(0, len(fields[:20]), 10):  # a section holds at most 10 fields
        blocks.append({"type": "section", "fields": fields[i : i + 10]})
    body = preview.get("body") or ""
    if body:
        parts = chunks(body, BODY_MAX)
        blocks.append(section("```" + esc(parts[0]) + "```"))
        if len(parts) > 1:
            blocks.append(context(f"…{len(body) - len(parts[0]):,} more characters; the web approval page shows all."))
    return blocks


def risk_blocks(action: Action) -> list[dict]:
    flags = [f":warning: {esc(describe(f))}" for f in action.risk_flags or []]
    reads = [f"{esc(c.get('tool'))}{' (written by someone else)' if c.get('untrusted') else ''}"
             for c in (action.context or [])[-3:]]
    out = []
    if flags:
        out.append(section("\n".join(flags[:12])))
    if reads:
        out.append(context("Read just before proposing this: " + ", ".join(reads)))
    return out


def outcome(action: Action, person: Person) -> str:
    slack_id, name = person(action.decided_by)
    by, at = who(slack_id, name), when(action.decided_at)
    done = {
        "executing": " :gear: Running…",
        "succeeded": " :white_check_mark: Done.",
        "failed": f" :x: It failed: {esc(clip(action.error or '', 500))}",
        "in_doubt": " :grey_question: Unknown whether it happened; a person is asked to check.",
        "cancelled": f" :no_entry_sign: Not done: {esc(action.reason or 'the job ended')}.",
    }.get(action.status, " Queued to run.")
    if action.status == "expired":
        return f":alarm_clock: Expired without a decision ({at})."
    if action.decided_via == "policy":
        return ":robot_face: Approved by the organisation's policy." + done
    if action.decided_via == "system":
        return f":no_entry_sign: Not done: {esc(action.reason or 'the job ended')}."
    if action.status == "rejected" and action.feedback:
        return f":speech_balloon: {by} answered with feedback ({at}): {esc(clip(action.feedback, 1500))}"
    if action.status == "rejected":
        return f":no_entry_sign: Rejected by {by} ({at}). Reason: {esc(clip(action.reason or '', 1500))}"
    verb = "Edited and approved" if action.edited else "Approved"
    return f":white_check_mark: {verb} by {by} ({at})." + done


def approval_card(action: Action, job: Job, *, requester: str, requester_tz: str,
                  person: Person) -> tuple[list[dict], str]:
    title = (action.preview or {}).get("title") or action.tool
    pending = action.status == "pending"
    head = (f":raised_hand: *Approval needed* for {requester}'s job `{short(job.id)}`" if pending
            else f"Approval for {requester}'s job `{short(job.id)}`")
    blocks = [section(head), *preview_blocks(action, requester_tz), *risk_blocks(action)]
    if pending:
        blocks.append({"type": "actions", "block_id": ACTIONS_BLOCK, "elements": decision_buttons(action)})
        if action.expires_at:
            blocks.append(context(f"Expires {when(action.expires_at)} if nobody decides."))
        fallback = f"Approval needed: {clip(title, 200)}"
    else:
        line = outcome(action, person)
        blocks.append(context(line))
        fallback = f"{clip(title, 200)}: {action.status}"
    return blocks[:50], fallback
