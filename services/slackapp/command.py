"""`/work <request>` (with `--think` / `--fast`), `/work status [job]`, `/work cancel <job>`,
`/work schedule …` (schedule_command.py), `/work help`. Acknowledged first; the job is created
after (the notifier posts its message)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Optional

from slack_bolt import App
from sqlmodel import Session, col, select

from services.jobs.service import JobError, JobInvalid, JobNotFound, NotAllowed, cancel_job, create_job
from services.slackapp import blocks as b
from services.slackapp import schedule_command
from services.slackapp.common import actor, log, session
from services.slackapp.identity import UnknownSlackUser
from services.slackapp.state import lock_principal
from services.store.models import Job, Organisation, Principal, utcnow

COMMAND = "/work"
JOB_REF = re.compile(r"^[0-9a-f]{6,32}$")
HELP = (
    "*Workmode* does work for you and asks before it changes anything.\n"
    "• `/work <request>`, e.g. `/work find a slot with Dana next week and draft the invite`. "
    "Add `--think` for harder work (more reasoning) or `--fast` for quick answers.\n"
    "• `/work status`: your recent jobs. `/work status <job>`: one job.\n"
    "• `/work cancel <job>`: stop a job; its pending approvals are dropped.\n"
    "• `/work schedule …`: recurring triage, reports and requests (`/work schedule help`).\n"
    "• `/work help`: this.\n"
    "Progress, approvals and questions appear in the job's thread; answer a question by replying there."
)


@dataclass
class Parsed:
    kind: str  # help | status | cancel | schedule | request | error
    arg: str = ""
    effort: Optional[str] = None


def parse(text: Optional[str]) -> Parsed:
    t = " ".join((text or "").split())
    if t.lower() in ("", "help", "-h", "--help", "?"):
        return Parsed("help")
    head, _, rest = t.partition(" ")
    head = head.lower()
    if head == "status" and (not rest or JOB_REF.match(rest.lower())):
        return Parsed("status", rest.lower())
    if head in ("schedule", "schedules"):
        return Parsed("schedule", rest)
    if head == "cancel" and JOB_REF.match(rest.lower()):
        return Parsed("cancel", rest.lower())
    if head == "cancel" and not rest:
        return Parsed("error", "Say which job: `/work cancel <job>` (`/work status` lists your jobs).")
    words = t.split(" ")
    think, fast = "--think" in words, "--fast" in words
    if think and fast:
        return Parsed("error", "Choose one: `--think` (more reasoning) or `--fast` (none), not both.")
    prompt = " ".join(w for w in words if w not in ("--think", "--fast"))
    if not prompt:
        return Parsed("error", "Say what you want done, e.g. `/work --think plan the Q3 review with Dana`.")
    return Parsed("request", prompt, "high" if think else "none" if fast else None)


def register(app: App) -> None:
    app.command(COMMAND)(on_command)


def on_command(ack, command: dict, respond, client, context) -> None:
    parsed = parse(command.get("text"))
    if parsed.kind in ("help", "error"):
        ack(text=HELP if parsed.kind == "help" else parsed.arg)
        return
    ack()
    with session() as s:
        try:
            person = actor(s, client, context)
        except UnknownSlackUser as exc:
            respond(text=str(exc), response_type="ephemeral")
            return
        if parsed.kind == "status":
            respond(**status(s, person, parsed.arg))
        elif parsed.kind == "cancel":
            respond(text=cancel(s, person, parsed.arg), response_type="ephemeral")
        elif parsed.kind == "schedule":
            respond(text=schedule_command.handle(s, person, parsed.arg), response_type="ephemeral")
        else:
            problem = start(s, person, command, parsed)
            if problem:
                respond(text=problem, response_type="ephemeral")


def dedupe_key(command: dict) -> str:
    """Slack's trigger id is unique per invocation; a double delivery carries the same one."""
    if command.get("trigger_id"):
        return str(command["trigger_id"])
    raw = "|".join(str(command.get(k, "")) for k in ("team_id", "channel_id", "user_id", "text", "response_url"))
    return "sha:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def start(s: Session, person: Principal, command: dict, parsed: Parsed) -> Optional[str]:
    """Create the job once per Slack invocation. Returns a message for the person on a problem."""
    key = dedupe_key(command)
    lock_principal(s, person.id)  # the check and the insert below are one step per person
    recent = s.exec(select(Job).where(Job.principal_id == person.id, Job.source == "slack",
                                      Job.created_at > utcnow() - timedelta(days=1))
                    .order_by(col(Job.created_at).desc()).limit(500)).all()
    if any((j.reply_to or {}).get("trigger_id") == key for j in recent):
        s.rollback()
        log.info("duplicate /work delivery %s ignored", key)
        return None
    org = s.get_one(Organisation, person.org_id)
    reply_to: dict[str, Any] = {
        "team": command.get("team_id"), "channel": command.get("channel_id"),
        "channel_name": command.get("channel_name"), "user": command.get("user_id"),
        "response_url": command.get("response_url"), "trigger_id": key,
    }
    try:
        create_job(session=s, principal=person, prompt=parsed.arg, source="slack", reply_to=reply_to,
                   reasoning_effort=parsed.effort or (org.policy or {}).get("reasoning_effort"))
    except JobError as exc:
        s.rollback()
        return f"Couldn't start that: {exc}"
    s.commit()
    return None


def find_job(s: Session, person: Principal, ref: str) -> Job:
    found = s.exec(select(Job).where(Job.org_id == person.org_id, col(Job.id).startswith(ref)).limit(2)).all()
    if not found:
        raise JobNotFound(ref, message=f"No job `{ref}` in your organisation; `/work status` lists your jobs.")
    if len(found) > 1:
        raise JobInvalid(f"`{ref}` matches more than one job; give more of its id.")
    return found[0]


def status(s: Session, person: Principal, ref: str) -> dict:
    if ref:
        try:
            job = find_job(s, person, ref)
        except JobError as exc:
            return {"text": str(exc), "response_type": "ephemeral"}
        blocks, fallback = b.job_card(job, requester=b.who(None, "you" if job.principal_id == person.id else "someone"))
        return {"blocks": blocks, "text": fallback, "response_type": "ephemeral"}
    jobs = s.exec(select(Job).where(Job.principal_id == person.id).order_by(col(Job.created_at).desc()).limit(10)).all()
    if not jobs:
        return {"text": "You have no jobs yet. Start one with `/work <request>`.", "response_type": "ephemeral"}
    lines = [job_line(j) for j in jobs]
    return {"blocks": [b.section("*Your recent jobs*\n" + "\n".join(lines))], "text": "Your recent jobs",
            "response_type": "ephemeral"}


def job_line(job: Job) -> str:
    return (f"`{b.short(job.id)}` {b.STATUS.get(job.status, job.status)} · {b.esc(b.clip(job.prompt, 80))} · "
            f"{job.total_tokens:,} tokens · {b.when(job.created_at)}")


def cancel(s: Session, person: Principal, ref: str) -> str:
    try:
        job = find_job(s, person, ref)
        cancel_job(session=s, job_id=job.id, actor=person,
                   reason=f"cancelled in Slack by {person.name or person.email}")
        s.commit()
    except NotAllowed:
        s.rollback()
        return "Not yours to cancel: only the person who asked for this work or an approver can. Nothing was changed."
    except JobError as exc:
        s.rollback()
        return f"Nothing was cancelled: {exc}"
    return f"Cancelled job `{b.short(job.id)}`."
