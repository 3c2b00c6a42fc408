"""Starting a claimed run by its schedule's kind.

triage          a TriageRun (trigger "schedule", or "manual" for run-now) and, after the commit, the
                `workmode.triage.run` task that the triage pipeline consumes
report|request  a Job (source "schedule") with the person's prompt; a report's prompt asks the
                agent to gather across the connectors and cite each item with a link to its source.
Delivery of a job's answer: the web job page always; a Slack DM when "slack" is chosen (the
notifier follows the job like one started in Slack, in a DM: `reply_to["slack_dm"]`); an email
draft when "email" is chosen (the agent proposes `gmail_create_draft`, which waits for approval).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session

from services.jobs.service import create_job
from services.schedules.recurrence import zone
from services.store.models import Principal, Schedule, ScheduleRun, TriageRun
from services.triage.run import enqueue_run

REPORT_RULES = (
    "Gather what this asks for across the connected tools (mail, calendar, tickets, chat) with their read "
    "tools. Write the report in Markdown, grouped by topic, most important first. Cite every item with a "
    "Markdown link to its source: the message, ticket or thread link (or id) the tool returned. "
    "Say plainly when a source had nothing for the period or could not be read."
)


def local(moment: datetime, tz_name: str) -> str:
    return moment.astimezone(zone(tz_name)).strftime("%a %d %b %Y %H:%M %Z")


def job_prompt(schedule: Schedule, run: ScheduleRun, principal: Principal, since: Optional[datetime]) -> str:
    what = (schedule.prompt or "").strip()
    when = schedule.when_text or "on its schedule"
    if schedule.kind == "report":
        lines = [f"Scheduled report ({when}, {schedule.time_zone}): {what}", "", REPORT_RULES]
    else:
        lines = [f"Standing request ({when}, {schedule.time_zone}): {what}"]
    if since is not None:
        lines.append(f"The previous run was at {local(since, schedule.time_zone)}: cover what happened since then.")
    if run.missed:
        lines.append(f"Workmode was not running at {run.missed} earlier scheduled time"
                     f"{'s' if run.missed != 1 else ''} of this schedule; this run stands for "
                     f"{'them' if run.missed != 1 else 'it'} too. Say so at the top of the answer.")
    if "email" in (schedule.delivery or []):
        lines.append(f"When the answer is ready, also propose it as an email draft to {principal.email} with "
                     "gmail_create_draft (it waits for the person's approval); never send it.")
    return "\n".join(lines)


def reply_to_for(schedule: Schedule, run: ScheduleRun, principal: Principal) -> dict[str, Any]:
    title = f"{schedule.kind} · {schedule.when_text}" + (f": {schedule.prompt}" if schedule.prompt else "")
    reply: dict[str, Any] = {"schedule": {"id": schedule.id, "run": run.id, "deliver": list(schedule.delivery)},
                             "title": title}
    if "slack" in (schedule.delivery or []):
        reply["slack_dm"] = True  # the notifier DMs the job's card (and its answer) to the person
        if principal.slack_user_id:
            reply["user"] = principal.slack_user_id
    return reply


def start_run(session: Session, schedule: Schedule, run: ScheduleRun, *, since: Optional[datetime] = None,
              manual: bool = False) -> None:
    """Start the claimed `run` in the caller's transaction (tasks are sent after the commit)."""
    principal = session.get_one(Principal, schedule.principal_id)
    if schedule.kind == "triage":
        triage = TriageRun(principal_id=principal.id, schedule_run_id=run.id,
                           trigger="manual" if manual else "schedule", counts={"missed": run.missed})
        session.add(triage)
        session.flush()
        run.triage_run_id = triage.id
        enqueue_run(session, triage.id)
    else:
        job = create_job(session=session, principal=principal, source="schedule",
                         prompt=job_prompt(schedule, run, principal, since),
                         reply_to=reply_to_for(schedule, run, principal))
        run.job_id = job.id
    session.add(run)
