"""The terminal face of a job: follow its plan and progress, ask for approvals and answers."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import click
from sqlmodel import Session, col, select

from services.agent.risk import describe
from services.approvals.service import decide
from services.errors import Conflict
from services.jobs.service import answer_question
from services.store.db import get_engine
from services.store.models import FINAL_JOB_STATUSES, Action, ActionStatus, Event, Job, Principal

PAST = {"approve": "approved", "edit": "edited and approved", "reject": "rejected", "respond": "answered with feedback"}
MARKS = {"done": "[x]", "in_progress": "[~]", "pending": "[ ]"}


def render_plan(plan: list[dict]) -> str:
    return "\n".join(f"  {MARKS.get(s.get('status', ''), '[ ]')} {s.get('title')}" for s in plan)


def render_action(action: Action) -> str:
    p = action.preview or {}
    lines = [click.style(f"── Approval needed: {action.tool} ({action.connector}) ──", bold=True), p.get("title", "")]
    for label, value in (p.get("fields") or {}).items():
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        lines.append(f"  {label}: {value}")
    if p.get("body"):
        lines += [""] + ["  │ " + line for line in str(p["body"]).splitlines()]
    for flag in action.risk_flags:
        lines.append(click.style("  ⚠ " + describe(flag), fg="yellow"))
    if action.context:
        read = ", ".join(f"{c['tool']}" + (f" ({c['source']})" if c.get("source") else "") for c in action.context)
        lines.append(f"  read just before: {read}")
    return "\n".join(lines)


def render_event(ev: Event) -> str | None:
    d = ev.data or {}
    k = ev.kind
    if k == "created":
        return click.style(f"▶ job {ev.job_id[:8]} created", bold=True)
    if k == "plan_updated":
        return "plan:\n" + render_plan(d.get("plan", []))
    if k == "model_turn":
        calls = ", ".join(d.get("tool_calls") or []) or "final answer"
        return f"· model turn ({d.get('prompt_tokens', 0)}+{d.get('completion_tokens', 0)} tokens) → {calls}"
    if k == "tool_called":
        src = f" [untrusted: {d.get('source')}]" if d.get("untrusted") else ""
        return f"  read {d.get('tool')}{src}"
    if k == "tool_failed":
        return click.style(f"  {d.get('tool')} failed: {d.get('error')}", fg="red")
    if k == "model_output_invalid":
        return click.style(f"  model output invalid (attempt {d.get('attempt')}): {'; '.join(d.get('problems', []))}",
                           fg="yellow")
    if k == "model_unavailable":
        return click.style(f"  model unavailable; retrying in {d.get('retry_after', 0):.0f}s", fg="yellow")
    if k == "decided":
        extra = d.get("reason") or d.get("feedback") or ""
        verb = PAST.get(d.get("decision", ""), d.get("decision"))
        return f"  {verb}{': ' + extra if extra else ''}"
    if k.startswith("action_"):
        color = {"action_succeeded": "green", "action_failed": "red", "action_in_doubt": "magenta"}.get(k)
        return click.style(f"  {k.removeprefix('action_')}: {d.get('tool', '')} {d.get('error') or ''}".rstrip(),
                           fg=color)
    if k == "reconnect_required":
        return click.style(f"  ⚠ reconnect needed ({d.get('tool')}): {d.get('message')}", fg="yellow")
    if k == "reconnected":
        return "  account reconnected; going on"
    if k == "approval_expired":
        return click.style(f"  approval expired: {d.get('tool')}", fg="yellow")
    if k == "completed":
        return click.style("✔ completed", fg="green", bold=True) + "\n\n" + (d.get("result") or "")
    if k in ("failed", "expired", "cancelled"):
        return click.style(f"✘ {k}: {d.get('error')}", fg="red", bold=True)
    return None


def prompt_decision(action: Action, ask: Callable[..., Any]) -> dict[str, Any]:
    choice = ask("[a]pprove, [e]dit, [r]eject, [f]eedback", type=click.Choice(["a", "e", "r", "f"]), default="a")
    if choice == "a":
        return {"decision": "approve"}
    if choice == "r":
        return {"decision": "reject", "reason": ask("reason")}
    if choice == "f":
        return {"decision": "respond", "feedback": ask("feedback for the agent")}
    edited = dict(action.arguments)
    for name, value in action.arguments.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        new = ask(f"{name}", default=shown, show_default=True)
        edited[name] = new if isinstance(value, str) else _json_or_text(new)
    return {"decision": "edit", "arguments": edited}


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def follow(job_id: str, actor: Principal, *, auto_approve: bool = False, ask: Callable[..., Any] = click.prompt,
           out: Callable[[str], None] = click.echo, poll_s: float = 0.2) -> Job:
    """Print the job's timeline as it grows; decide its approvals and answer its questions here."""
    last_event: int | None = 0  # Event.id is typed Optional (it is None only before the insert)
    while True:
        with Session(get_engine(), expire_on_commit=False) as s:
            for ev in s.exec(select(Event).where(Event.job_id == job_id, col(Event.id) > last_event)
                             .order_by(col(Event.id))):
                last_event = ev.id
                line = render_event(ev)
                if line:
                    out(line)
            job = s.get_one(Job, job_id)
            if job.status in FINAL_JOB_STATUSES:
                return job
            if job.status == "waiting":
                _handle_waiting(s, job, actor, auto_approve, ask, out)
        time.sleep(poll_s)


def _handle_waiting(s: Session, job: Job, actor: Principal, auto_approve: bool, ask, out) -> None:
    pending = s.exec(select(Action).where(Action.job_id == job.id, Action.status == ActionStatus.pending)
                     .order_by(col(Action.created_at))).all()
    for action in pending:
        out(render_action(action))
        choice = {"decision": "approve"} if auto_approve else prompt_decision(action, ask)
        try:
            decide(session=s, action_id=action.id, actor=actor, shown_hash=action.args_hash, **choice)
            s.commit()
        except (Conflict, ValueError, PermissionError) as exc:
            s.rollback()
            out(click.style(f"  not recorded: {exc}", fg="red"))
    if job.waiting_for == "answer" and not pending:
        question = s.exec(select(Event).where(Event.job_id == job.id, Event.kind == "question_asked")
                          .order_by(col(Event.id).desc())).first()
        text = "(no answer: continue with your best judgement)" if auto_approve else ask(
            click.style(f"? {question.data.get('question') if question else 'The agent asks'}", bold=True))
        try:
            answer_question(session=s, job_id=job.id, actor=actor, text=text)
            s.commit()
        except (ValueError, PermissionError) as exc:
            s.rollback()
            out(click.style(f"  not recorded: {exc}", fg="red"))


def print_timeline(s: Session, job: Job, out: Callable[[str], None] = click.echo) -> None:
    out(click.style(f"Timeline of job {job.id}", bold=True))
    for ev in s.exec(select(Event).where(Event.job_id == job.id).order_by(col(Event.id))):
        out(f"  {ev.created_at:%H:%M:%S}  {ev.kind}" + (f"  ({ev.data.get('tool')})" if ev.data.get("tool") else ""))
    out(f"status: {job.status}   steps: {job.steps}   model turns: {job.model_turns}   "
        f"tokens: {job.prompt_tokens} in / {job.completion_tokens} out")
