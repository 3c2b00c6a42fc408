"""The Edit modal (a form built from the tool's argument schema), the Reject modal (a reason)
and the Feedback modal (what the agent should do instead). Submissions call decide(); what is
wrong is shown next to the field in the modal."""
from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from slack_bolt import App

from services.agent.toolbox import job_tools
from services.approvals.service import ApprovalError, InvalidDecision, decide, get_action
from services.errors import Conflict
from services.jobs.service import NotAllowed
from services.slackapp import home
from services.slackapp.blocks import clip, context, esc, section
from services.slackapp.common import NOT_YOURS, actor, session
from services.slackapp.identity import UnknownSlackUser
from services.slackapp.schema_form import FIELD, field_blocks, read_fields
from services.store.models import Action, Job, Organisation

EDIT_SUBMIT, REJECT_SUBMIT, FEEDBACK_SUBMIT = "wm_edit_submit", "wm_reject_submit", "wm_feedback_submit"
REASON, FEEDBACK = "reason", "feedback"


def register(app: App) -> None:
    app.view(EDIT_SUBMIT)(on_edit_submit)
    app.view(REJECT_SUBMIT)(on_reject_submit)
    app.view(FEEDBACK_SUBMIT)(on_feedback_submit)


def _modal(callback: str, title: str, submit: str, blocks: list[dict], meta: dict) -> dict:
    return {"type": "modal", "callback_id": callback, "title": {"type": "plain_text", "text": title},
            "submit": {"type": "plain_text", "text": submit}, "close": {"type": "plain_text", "text": "Cancel"},
            "private_metadata": json.dumps(meta), "blocks": blocks[:100]}


def edit_view(action: Action, org: Organisation, meta: dict) -> dict:
    ref = job_tools(org).get(action.tool)
    intro = section(f"*{esc(clip((action.preview or {}).get('title') or action.tool, 300))}*\n"
                    "Change what needs changing; *Approve* runs exactly this.")
    fields = field_blocks(ref.tool.json_schema(), action.arguments) if ref else []
    if not fields:
        fields = [context("This action has nothing to edit here; approve or reject it.")]
    return _modal(EDIT_SUBMIT, "Edit before approving", "Approve", [intro, *fields], meta)


def reject_view(action: Action, meta: dict) -> dict:
    reason = {"type": "input", "block_id": REASON,
              "label": {"type": "plain_text", "text": "Why? (the agent reads this)"},
              "element": {"type": "plain_text_input", "action_id": "v", "multiline": True, "max_length": 2000}}
    intro = section(f"Reject *{esc(clip((action.preview or {}).get('title') or action.tool, 300))}*? Nothing will run.")
    return _modal(REJECT_SUBMIT, "Reject", "Reject", [intro, reason], meta)


def feedback_view(action: Action, meta: dict) -> dict:
    text = {"type": "input", "block_id": FEEDBACK,
            "label": {"type": "plain_text", "text": "What should the agent do instead?"},
            "element": {"type": "plain_text_input", "action_id": "v", "multiline": True, "max_length": 2000}}
    intro = section(f"Feedback on *{esc(clip((action.preview or {}).get('title') or action.tool, 300))}*. "
                    "Nothing runs; the agent reads what you write and proposes again.")
    return _modal(FEEDBACK_SUBMIT, "Feedback", "Send", [intro, text], meta)


def _meta(view: dict) -> dict:
    try:
        meta = json.loads(view.get("private_metadata") or "")
        if isinstance(meta, dict) and isinstance(meta.get("a"), str) and isinstance(meta.get("h"), str):
            return meta
    except ValueError:
        pass
    return {}


def _first_input(view: dict, fallback: str) -> str:
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and block.get("block_id"):
            return block["block_id"]
    return fallback


def on_edit_submit(ack, body: dict, view: dict, client, context) -> None:
    meta, where = _meta(view), _first_input(view, REASON)
    if not meta:
        ack(response_action="errors", errors={where: "This form is broken; close it and click Edit again."})
        return
    values = (view.get("state") or {}).get("values") or {}
    with session() as s:
        try:
            action = get_action(session=s, action_id=meta["a"])
            org = s.get_one(Organisation, s.get_one(Job, action.job_id).org_id)
            ref = job_tools(org).get(action.tool)
            if ref is None:
                raise InvalidDecision(f"tool {action.tool} is no longer available", field="tool")
            arguments, errors = read_fields(ref.tool.json_schema(), action.arguments, values)
            if not errors:
                errors = _schema_errors(ref.tool.args_model, arguments, values, where)
            if errors:
                ack(response_action="errors", errors=errors)
                return
        except ApprovalError as exc:
            ack(response_action="errors", errors={where: str(exc)})
            return
        _decide(ack, s, client, context, meta, where, decision="edit", arguments=arguments)


def on_reject_submit(ack, body: dict, view: dict, client, context) -> None:
    meta = _meta(view)
    if not meta:
        ack(response_action="errors", errors={REASON: "This form is broken; close it and click Reject again."})
        return
    reason = (((view.get("state") or {}).get("values") or {}).get(REASON, {}).get("v") or {}).get("value") or ""
    if not reason.strip():
        ack(response_action="errors", errors={REASON: "Say why: the agent reads the reason and tries another way."})
        return
    with session() as s:
        _decide(ack, s, client, context, meta, REASON, decision="reject", reason=reason)


def on_feedback_submit(ack, body: dict, view: dict, client, context) -> None:
    meta = _meta(view)
    if not meta:
        ack(response_action="errors", errors={FEEDBACK: "This form is broken; close it and click Feedback again."})
        return
    text = (((view.get("state") or {}).get("values") or {}).get(FEEDBACK, {}).get("v") or {}).get("value") or ""
    if not text.strip():
        ack(response_action="errors", errors={FEEDBACK: "Write the feedback: the agent reads it and tries again."})
        return
    with session() as s:
        _decide(ack, s, client, context, meta, FEEDBACK, decision="respond", feedback=text)


def _schema_errors(model, arguments: dict, values: dict, where: str) -> dict[str, str]:
    try:
        model.model_validate(arguments)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            block = FIELD + str(err["loc"][0]) if err["loc"] else where
            block = block if block in values else where
            errors.setdefault(block, clip(err["msg"], 150))
        return errors
    return {}


def _decide(ack, s, client, context, meta: dict, where: str, **choice: Any) -> None:
    try:
        person = actor(s, client, context)
        decide(session=s, action_id=meta["a"], actor=person, shown_hash=meta["h"], **choice)
        s.commit()
    except UnknownSlackUser as exc:
        ack(response_action="errors", errors={where: clip(str(exc), 300)})
        return
    except NotAllowed:
        s.rollback()
        ack(response_action="errors", errors={where: NOT_YOURS})
        return
    except Conflict as exc:
        s.rollback()
        action = get_action(session=s, action_id=meta["a"])
        same = {"edit": action.status != "rejected", "reject": action.status == "rejected" and not action.feedback,
                "respond": action.status == "rejected" and bool(action.feedback)}
        if action.decided_by == person.id and same.get(choice["decision"], False):
            ack()  # the same person's same decision, delivered twice: done already
            return
        ack(response_action="errors", errors={where: f"Nothing changed: {exc}"})
        return
    except ApprovalError as exc:
        s.rollback()
        ack(response_action="errors", errors={where: clip(str(exc), 300)})
        return
    ack()
    if meta.get("home"):
        home.publish(client, s, person, context.get("user_id"))
