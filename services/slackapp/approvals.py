"""Approve / Edit / Reject / Feedback buttons. Approve decides at once; Edit, Reject and Feedback
open a modal (modals.py). Anyone else gets an ephemeral "not yours to decide" and nothing changes. The
messages themselves are edited by the notifier after the decision commits."""
from __future__ import annotations

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from services.approvals.service import ApprovalError, decide, get_action
from services.errors import Conflict
from services.jobs import notify
from services.jobs.service import NotAllowed
from services.policy import may_decide
from services.slackapp import home, modals
from services.slackapp.approval_blocks import APPROVE, EDIT, FEEDBACK, REJECT, parse_button_value
from services.slackapp.common import NOT_YOURS, BadPayload, actor, first_action, log, session, tell
from services.slackapp.identity import UnknownSlackUser
from services.store.models import Action, Job, Organisation


def register(app: App) -> None:
    app.action(APPROVE)(on_approve)
    app.action(EDIT)(on_open_modal)
    app.action(REJECT)(on_open_modal)
    app.action(FEEDBACK)(on_open_modal)


def _clicked(body: dict) -> tuple[str, str]:
    try:
        return parse_button_value(first_action(body).get("value"))
    except ValueError as exc:
        raise BadPayload(str(exc)) from None


def from_home(body: dict) -> bool:
    return (body.get("view") or {}).get("type") == "home"


def on_approve(ack, body: dict, client, context) -> None:
    ack()
    user_id = context.get("user_id") or ""
    with session() as s:
        try:
            person = actor(s, client, context)
            action_id, shown = _clicked(body)
            decide(session=s, action_id=action_id, actor=person, decision="approve", shown_hash=shown)
            s.commit()
        except UnknownSlackUser as exc:
            tell(client, body, user_id, str(exc))
            return
        except NotAllowed:
            s.rollback()
            tell(client, body, user_id, NOT_YOURS)
            return
        except Conflict as exc:
            s.rollback()
            tell(client, body, user_id, f"Nothing changed: {exc}.")
            refresh(action_id)
            return
        except (BadPayload, ApprovalError) as exc:
            s.rollback()
            tell(client, body, user_id, f"That didn't work: {exc}.")
            return
        if from_home(body):
            home.publish(client, s, person, user_id)


def refresh(action_id: str) -> None:
    """A stale card was clicked: have the notifier redraw it."""
    with session() as s:
        action = s.get(Action, action_id)
        if action is not None:
            notify.enqueue(action.job_id)


def on_open_modal(ack, body: dict, client, context) -> None:
    ack()
    user_id = context.get("user_id") or ""
    clicked = first_action(body).get("action_id") if body.get("actions") else None
    with session() as s:
        try:
            person = actor(s, client, context)
            action_id, shown = _clicked(body)
            action = get_action(session=s, action_id=action_id)
            job = s.get_one(Job, action.job_id)
            org = s.get_one(Organisation, job.org_id)
        except UnknownSlackUser as exc:
            tell(client, body, user_id, str(exc))
            return
        except (BadPayload, ApprovalError) as exc:
            tell(client, body, user_id, f"That didn't work: {exc}.")
            return
        if not may_decide(org, job, person):
            tell(client, body, user_id, NOT_YOURS)
            return
        if action.status != "pending" or action.args_hash != shown:
            tell(client, body, user_id, f"Nothing to decide: this action is {action.status} now.")
            refresh(action.id)
            return
        meta = {"a": action.id, "h": shown, "home": from_home(body)}
        if clicked == EDIT:
            view = modals.edit_view(action, org, meta)
        elif clicked == FEEDBACK:
            view = modals.feedback_view(action, meta)
        else:
            view = modals.reject_view(action, meta)
    try:
        client.views_open(trigger_id=body.get("trigger_id"), view=view)
    except SlackApiError as exc:
        log.warning("views.open failed: %s", exc.response.get("error"))
        tell(client, body, user_id, "Slack would not open the form (it must open within 3 seconds of the click); "
                                    "click the button again.")
