"""App Home: my pending approvals (with the same buttons as in threads), my recent jobs, my
schedules. Published on app_home_opened and after a decision made from it."""
from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from services.approvals.service import list_pending
from services.schedules.service import list_schedules
from services.slackapp import blocks as b
from services.slackapp.approval_blocks import decision_buttons
from services.slackapp.common import actor, log, session
from services.slackapp.identity import UnknownSlackUser
from services.store.models import Job, Principal

MAX_PENDING, MAX_JOBS, MAX_SCHEDULES = 10, 10, 15


def register(app: App) -> None:
    app.event("app_home_opened")(on_home_opened)


def on_home_opened(event: dict, client, context) -> None:
    if event.get("tab", "home") != "home":
        return
    with session() as s:
        try:
            person = actor(s, client, context)
        except UnknownSlackUser as exc:
            _publish(client, context.get("user_id"), [b.section(b.esc(str(exc)))])
            return
        publish(client, s, person, context.get("user_id"))


def publish(client: WebClient, s: Session, person: Principal, user_id: str | None) -> None:
    _publish(client, user_id or person.slack_user_id, view_blocks(s, person))


def _publish(client: WebClient, user_id: str | None, blocks: list[dict]) -> None:
    if not user_id:
        return
    try:
        client.views_publish(user_id=user_id, view={"type": "home", "blocks": blocks[:100]})
    except SlackApiError as exc:
        log.warning("views.publish for %s failed: %s", user_id, exc.response.get("error"))


def view_blocks(s: Session, person: Principal) -> list[dict]:
    out: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": "Workmode"}},
                       b.context("Ask for work with `/work <request>`; `/work help` shows the rest.")]
    pending = list_pending(session=s, principal=person)
    out.append(b.section(f"*Waiting for your decision* ({len(pending)})" if pending else
                         "*Waiting for your decision*\nNothing right now."))
    for action in pending[:MAX_PENDING]:
        job = s.get_one(Job, action.job_id)
        requester = s.get_one(Principal, job.principal_id)
        title = (action.preview or {}).get("title") or action.tool
        flags = f" · :warning: {len(action.risk_flags)} risk flag(s)" if action.risk_flags else ""
        out.append(b.section(f"*{b.esc(b.clip(title, 200))}*\n{b.who(requester.slack_user_id, requester.name)}'s job "
                             f"`{b.short(job.id)}` · expires {b.when(action.expires_at)}{flags}"))
        out.append({"type": "actions", "block_id": f"home:{action.id}", "elements": decision_buttons(action)})
    if len(pending) > MAX_PENDING:
        out.append(b.context(f"…and {len(pending) - MAX_PENDING} more in the web approval queue."))
    out.append({"type": "divider"})
    jobs = s.exec(select(Job).where(Job.principal_id == person.id)
                  .order_by(col(Job.created_at).desc()).limit(MAX_JOBS)).all()
    from services.slackapp.command import job_line

    out.append(b.section("*Your recent jobs*\n" + ("\n".join(job_line(j) for j in jobs) if jobs else "None yet.")))
    out.append({"type": "divider"})
    from services.slackapp.schedule_command import line

    schedules = list_schedules(session=s, principal=person)
    lines = [line(sc) for sc in schedules[:MAX_SCHEDULES]]
    out.append(b.section("*Your schedules*\n" + ("\n".join(lines) if lines else
                                                  "None. Add one with `/work schedule add triage weekdays 08:00`.")))
    if len(schedules) > MAX_SCHEDULES:
        out.append(b.context(f"…and {len(schedules) - MAX_SCHEDULES} more: `/work schedule list`."))
    out.append(b.context("`/work schedule pause|resume|remove|run-now <id>` changes one."))
    return out
