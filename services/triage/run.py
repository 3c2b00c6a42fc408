"""One triage run: read the mail that arrived since the person's cursor, apply their rules, classify
the rest in batches, record a TriageItem per message (unique per person and message, so nothing is
triaged twice) and propose Actions on a Job of kind "triage" through the approval gate. A dry run
reads a past window, classifies and shows what it would propose, and writes nothing but its run.

The cursor is the last finished run's `cursor_to` (and the run's schedule keeps a copy); it moves
only when a run's items and proposals are committed, so a failed run loses nothing."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import update
from sqlmodel import Session, col, select

from connectors.base import ToolError
from services import queues, triage_memory
from services.agent.runner import default_client
from services.agent.toolbox import ToolRef, job_tools
from services.config import get_settings
from services.credentials.access import tool_context
from services.errors import NotFound
from services.jobs.dispatch import after_commit, send_task
from services.jobs.service import bump, create_job, finish
from services.jobs.transcript import append, tool_message
from services.model.client import ModelClient
from services.policy import approval_ttl_s
from services.store.db import get_engine
from services.store.models import (
    Action,
    ActionStatus,
    Job,
    JobStatus,
    Message,
    Organisation,
    Principal,
    Schedule,
    ScheduleRun,
    TriageItem,
    TriageRule,
    TriageRun,
    utcnow,
)
from services.triage import email_digest, ending
from services.triage import rules as rulebook
from services.triage.classify import DEFAULT_CATEGORIES, Classified, Stats, classify
from services.triage.mailbox import Fetched, Mail, already_triaged, fetch
from services.triage.proposals import calls_for, plan, propose_all

log = logging.getLogger(__name__)


def start_run(session: Session, principal: Principal, *, trigger: str = "manual", dry_run: bool = False,
              days: Optional[int] = None, schedule_run_id: Optional[str] = None) -> TriageRun:
    """A new run, to be executed by `execute_run` (the TRIAGE_RUN task, or the CLI in process).
    Flushes; the caller commits."""
    run = TriageRun(principal_id=principal.id, trigger="dry_run" if dry_run else trigger, dry_run=dry_run,
                    schedule_run_id=schedule_run_id, counts={"window_days": days} if days else {})
    session.add(run)
    session.flush()
    return run


def enqueue_run(session: Session, run_id: str) -> None:
    """After the caller's commit, send the run to the workers (the TRIAGE_RUN task)."""
    after_commit(session, lambda: send_task(queues.TRIAGE_RUN, [run_id]))


def categories_for(org: Organisation) -> dict[str, str]:
    """The person's categories: the organisation's triage policy may replace the default set."""
    given = ((org.policy or {}).get("triage") or {}).get("categories")
    if isinstance(given, dict) and given:
        return {str(k): str(v) for k, v in given.items()}
    if isinstance(given, list) and given:
        return {str(k): DEFAULT_CATEGORIES.get(str(k), str(k).replace("_", " ")) for k in given}
    return dict(DEFAULT_CATEGORIES)


def last_cursor(session: Session, principal_id: str) -> Optional[str]:
    q = (select(TriageRun.cursor_to)
         .where(TriageRun.principal_id == principal_id, TriageRun.dry_run == False,  # noqa: E712  (builds SQL: dry_run = false)
                TriageRun.status == "done", col(TriageRun.cursor_to).is_not(None))
         .order_by(col(TriageRun.finished_at).desc()).limit(1))
    return session.exec(q).first()


def _claim(session: Session, run_id: str) -> Optional[int]:
    """running → classifying, once: a second delivery of the task finds it claimed. The winner
    records the attempt (its token: only the attempt that holds the claim may end the run, see
    `_still_ours`) and when it claimed (the reconciler takes a run over whose worker died)."""
    won = session.exec(update(TriageRun).where(col(TriageRun.id) == run_id, col(TriageRun.status) == "running")
                       .values(status="classifying").execution_options(synchronize_session=False)).rowcount
    if won != 1:
        session.commit()
        return None
    run = session.get_one(TriageRun, run_id, populate_existing=True)
    attempt = int((run.counts or {}).get("attempt") or 0) + 1
    run.counts = {**(run.counts or {}), "attempt": attempt, "claimed_at": utcnow().isoformat()}
    session.add(run)
    session.commit()
    return attempt


def _still_ours(session: Session, run: TriageRun, attempt: int) -> bool:
    """Lock the run and check that this attempt still holds the claim (a worker the reconciler took
    the run from, and that was only slow, finds a later attempt and leaves the run alone)."""
    now = session.exec(select(TriageRun).where(TriageRun.id == run.id).with_for_update()
                       .execution_options(populate_existing=True)).one()
    return now.status == "classifying" and int((now.counts or {}).get("attempt") or 0) == attempt


@dataclass
class Decided:
    item: Classified
    category: Optional[str]
    fired: list[TriageRule]
    specs: list[dict[str, Any]]


def execute_run(run_id: str, client: Optional[ModelClient] = None) -> TriageRun:
    with Session(get_engine(), expire_on_commit=False) as session:
        run = session.get(TriageRun, run_id)
        if run is None:
            raise NotFound("triage run", run_id)
        attempt = _claim(session, run_id)
        if attempt is None:
            return session.get_one(TriageRun, run_id, populate_existing=True)
        run = session.get_one(TriageRun, run_id, populate_existing=True)
        try:
            _execute(session, run, client or default_client(), attempt)
        except Exception as exc:  # the run fails visibly; its cursor did not move, so nothing is lost
            log.exception("triage run %s failed", run_id)
            session.rollback()
            run = session.get_one(TriageRun, run_id, populate_existing=True)
            if _still_ours(session, run, attempt):
                run.status, run.error, run.finished_at = "failed", f"{type(exc).__name__}: {str(exc)[:500]}", utcnow()
                session.add(run)
                ending.ended(session, run)
            session.commit()
        return session.get_one(TriageRun, run_id, populate_existing=True)


def _execute(session: Session, run: TriageRun, client: ModelClient, attempt: int) -> None:
    s = get_settings()
    principal = session.get_one(Principal, run.principal_id)
    org = session.get_one(Organisation, principal.org_id)
    days = (run.counts or {}).get("window_days")
    cursor = None if run.dry_run else last_cursor(session, principal.id)
    ctx = tool_context(session, principal_id=principal.id, principal_email=principal.email, org_id=org.id,
                       time_zone=principal.time_zone or "UTC")
    # A dry run looks at past mail: --days, or the window a first run would read.
    got: Fetched = fetch(ctx, org, cursor, days=(days or s.triage_initial_days) if run.dry_run else None)
    seen = set() if run.dry_run else already_triaged(session, principal.id, [m.message_id for m in got.mails])
    mails = [m for m in got.mails if m.message_id not in seen]
    rules = rulebook.active_rules(session, principal.id)
    learned = [e["text"] for e in triage_memory.examples(session, principal.id)]
    session.commit()  # no transaction stays open while the model thinks

    pre = [r for r in rules if rulebook.is_prefilter(r)]
    fired_pre: dict[str, list[TriageRule]] = {m.message_id: [r for r in pre if rulebook.matches(r, m)] for m in mails}
    to_model = [m for m in mails if not fired_pre[m.message_id] or rulebook.needs_model(fired_pre[m.message_id])]
    stats = Stats()
    cats = categories_for(org)
    classified = {c.mail.message_id: c for c in classify(client, to_model, categories=cats,
                                                         rules=[r.text for r in rules], batch_size=s.triage_batch_size,
                                                         stats=stats, learned=learned)}
    decided: list[Decided] = []
    for m in mails:
        item = classified.get(m.message_id) or Classified(m)
        category = item.verdict.category if item.verdict else next(
            (r.match.get("assign") for r in fired_pre[m.message_id] if r.match.get("assign")), None)
        post = [r for r in rules if not rulebook.is_prefilter(r) and "category" in (r.match or {})
                and rulebook.matches(r, m, category)]
        fired = fired_pre[m.message_id] + post
        specs = [] if (item.verdict is None and not fired) else plan(item, [a for r in fired for a in r.actions],
                                                                    category)
        decided.append(Decided(item, category, fired, specs))

    tools = job_tools(org)
    counts: dict[str, Any] = {**(run.counts or {}), "read": len(got.mails), "already_triaged": len(seen),
                              "triaged": len(mails), "classified": sum(1 for d in decided if d.item.verdict),
                              "by_rule": sum(1 for d in decided if d.item.verdict is None and d.fired),
                              "unclassified": sum(1 for d in decided if d.item.error),
                              "model_requests": stats.requests, "prompt_tokens": stats.prompt_tokens,
                              "completion_tokens": stats.completion_tokens, "broken_answers": stats.broken,
                              "mode": got.mode}
    if run.dry_run:
        if _still_ours(session, run, attempt):
            _finish_dry(session, run, principal, tools, decided, got, counts)
        session.commit()
    else:
        _finish_real(session, run, org, principal, tools, decided, got, counts, attempt)


def _summary(d: Decided) -> dict[str, Any]:
    v = d.item.verdict
    return {**d.item.mail.brief(), "category": d.category, "priority": v.priority if v else None,
            "needs_reply": v.needs_reply if v else None, "confidence": v.confidence if v else None,
            "reason": v.reason if v else (d.item.error or (f"rule: {d.fired[0].text}" if d.fired else None)),
            "rules": [{"id": r.id, "rule_key": r.rule_key, "version": r.version, "text": r.text} for r in d.fired],
            "flagged": any(sp["kind"] == "flag" for sp in d.specs)}


def _checked(tools: dict[str, ToolRef], calls: list[tuple[str, dict[str, Any]]],
             notes: list[str]) -> list[tuple[str, dict[str, Any]]]:
    ok = []
    for name, args in calls:
        try:
            tools[name].tool.parse(args)
        except ToolError as exc:
            notes.append(f"{name} not proposed: {exc.message[:200]}")
            continue
        ok.append((name, args))
    return ok


def _finish_dry(session: Session, run: TriageRun, principal: Principal, tools: dict[str, ToolRef],
                decided: list[Decided], got: Fetched, counts: dict[str, Any]) -> None:
    """Shows what would happen and proposes nothing: no Job, no Actions, no items, no cursor."""
    scratch = Job(org_id=principal.org_id, principal_id=principal.id, prompt="triage dry run", kind="triage")
    preview = []
    for d in decided:
        calls, notes = calls_for(session, scratch, principal, tools, d.item, d.specs)
        calls = _checked(tools, calls, notes)
        would = []
        for name, args in calls:
            ref = tools[name]
            shown = ref.tool.preview(ref.tool.parse(args)).as_dict() if ref.tool.preview else {}
            would.append({"tool": name, "arguments": args, "preview": shown})
        preview.append({**_summary(d), "would": would, "notes": notes})
    run.digest = {"dry_run": True, "items": preview}
    run.counts = {**counts, "would_propose": sum(len(p["would"]) for p in preview)}
    run.gap_note, run.status, run.finished_at = got.gap_note, "done", utcnow()
    session.add(run)
    session.commit()


def _reads(session: Session, job: Job, decided: list[Decided]) -> list[Message]:
    """The mail triage read, in the job's transcript: one read call per email, each result fenced
    as untrusted text from its sender (risk flags look here for copied text)."""
    from services.model.client import new_tool_call_id

    ids = [new_tool_call_id() for _ in decided]
    append(session, job.id, role="assistant", content=f"Reading {len(decided)} new email(s).",
           tool_calls=[{"id": cid, "name": "gmail_read_thread",
                        "arguments": json.dumps({"thread_id": d.item.mail.thread_id or d.item.mail.message_id})}
                       for cid, d in zip(ids, decided, strict=True)])
    out = []
    for cid, d in zip(ids, decided, strict=True):
        m: Mail = d.item.mail
        body = json.dumps({**m.brief(), "from_name": m.sender_name, "body": m.body}, ensure_ascii=False)
        out.append(tool_message(session, job.id, cid, "gmail_read_thread", body, untrusted=True,
                                source=f"gmail_read_thread:{m.thread_id or m.message_id}"))
    return out


def _finish_real(session: Session, run: TriageRun, org: Organisation, principal: Principal,
                 tools: dict[str, ToolRef], decided: list[Decided], got: Fetched, counts: dict[str, Any],
                 attempt: int) -> None:
    from services.model.client import new_tool_call_id

    # One writer per person at a time: a concurrent run (push and schedule) waits here, then finds
    # the messages this one triaged and leaves them alone.
    session.exec(select(Principal).where(Principal.id == principal.id).with_for_update()).one()
    if not _still_ours(session, run, attempt):  # taken over by a later attempt: it writes, not us
        session.commit()
        return
    taken = already_triaged(session, principal.id, [d.item.mail.message_id for d in decided])
    decided = [d for d in decided if d.item.mail.message_id not in taken]
    job: Optional[Job] = None
    planned: list[tuple[Decided, list[tuple[str, str, dict[str, Any]]], list[str]]] = []
    if decided:
        job = create_job(session=session, principal=principal, source="triage", kind="triage",
                         prompt=f"Inbox triage: {len(decided)} new email(s) (triage run {run.id}).",
                         # proposals wait as long as the organisation's approvals do
                         deadline_s=approval_ttl_s(org, get_settings().approval_ttl_s))
        bump(session, job, status=JobStatus.running, lease_until=utcnow())  # this run owns it until it commits
        reads = _reads(session, job, decided)
        for d in decided:
            notes: list[str] = []
            calls, more = calls_for(session, job, principal, tools, d.item, d.specs)
            calls = _checked(tools, calls, notes)
            planned.append((d, [(new_tool_call_id(), n, a) for n, a in calls], notes + more))
        all_calls = [c for _d, cs, _n in planned for c in cs]
        digest_call = None
        if "email" in ending.channels(session, run, triaged=len(decided)) and email_digest.TOOL in tools:
            items = [(d.item.mail.subject, d.item.mail.sender, d.category, len(cs)) for d, cs, _n in planned]
            digest_call = (new_tool_call_id(), email_digest.TOOL, email_digest.draft_arguments(
                run_id=run.id, to=principal.email, public_url=get_settings().public_url, items=items))
            all_calls.append(digest_call)
        actions = propose_all(session, job, org, principal, tools, all_calls, reads) if all_calls else {}
        if digest_call is not None:
            drafted = actions.get(digest_call[0])
            run.digest = {**(run.digest or {}), "email_action": drafted.id if drafted else None}
    else:
        actions = {}
    for d, cs, notes in planned:
        v = d.item.verdict
        ids = [actions[cid].id for cid, _n, _a in cs]
        flagged = any(sp["kind"] == "flag" for sp in d.specs)
        status = "skipped" if d.item.error and not d.fired else ("proposed" if ids else "classified")
        session.add(TriageItem(
            principal_id=principal.id, message_id=d.item.mail.message_id, run_id=run.id,
            thread_id=d.item.mail.thread_id, sender=d.item.mail.sender, subject=d.item.mail.subject[:500],
            received_at=d.item.mail.received_at, job_id=job.id if job else None, category=d.category,
            priority=v.priority if v else ("high" if flagged else None), needs_reply=v.needs_reply if v else None,
            confidence=v.confidence if v else None,
            reason=v.reason if v else (d.item.error or (f"rule: {d.fired[0].text}" if d.fired else None)),
            suggested=[*d.specs, *({"kind": "note", "text": n} for n in notes)], action_ids=ids,
            rule_ids=[r.id for r in d.fired], status=status))
    if job is not None:
        _settle_job(session, job, actions)
    run.cursor_from, run.cursor_to, run.gap_note = last_cursor(session, principal.id), got.cursor, got.gap_note
    run.counts = {**counts, "triaged": len(decided), "proposed": len(actions),
                  "auto_approved": sum(1 for a in actions.values() if a.status == ActionStatus.approved),
                  "more": got.more}
    run.status, run.finished_at = "done", utcnow()
    session.add(run)
    _mirror_cursor(session, run)
    ending.ended(session, run)
    session.commit()


def _settle_job(session: Session, job: Job, actions: dict[str, Action]) -> None:
    """Nothing proposed: the job is done. Otherwise it waits for the decisions and executions; when
    every proposal has its result the runner completes it (a triage job never calls the model)."""
    if not actions:
        finish(session, job, JobStatus.completed, result="Triage: nothing to propose.")
        return
    bump(session, job, status=JobStatus.waiting, waiting_for="approval", lease_until=None)
    from services.jobs import events

    events.record(session, job.id, "waiting", waiting_for="approval")


def _mirror_cursor(session: Session, run: TriageRun) -> None:
    """The run's schedule keeps a copy of the cursor (shown with the schedule)."""
    if not run.schedule_run_id or not run.cursor_to:
        return
    srun = session.get(ScheduleRun, run.schedule_run_id)
    schedule = session.get(Schedule, srun.schedule_id) if srun else None
    if schedule is not None:
        schedule.cursor = run.cursor_to
        session.add(schedule)
