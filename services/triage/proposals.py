"""From a classification (and the rules that fired) to tool calls, and from tool calls to Actions
through the approval gate (services/agent/calls.propose: preview, risk flags, hash, policy).

Low-risk actions (labels, archive, mark read) run without a person only when the organisation's
policy says so for triage (policy["triage"]["auto_low_risk"]: true, or a list of people's
emails) or lists the tool in policy["auto_approve"]; never with a risk flag (policy.needs_person).
Phishing is flagged and never acted on."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlmodel import Session

from connectors.base import ToolError
from connectors.shapes.mail import reply_subject
from services.agent.calls import proposal_flags, propose, run_read
from services.agent.risk import blocked, describe
from services.agent.toolbox import ToolRef
from services.config import get_settings
from services.jobs import events
from services.store.models import Action, Job, Message, Organisation, Principal, utcnow
from services.triage.classify import Classified

LOW_RISK = ("gmail_modify_labels", "gmail_archive")


def policy_view(org: Organisation, principal: Principal) -> Organisation:
    """The organisation as the gate sees it for this person's triage: with the low-risk mail tools
    auto-approved when the triage policy lets them run (a copy; nothing is stored)."""
    triage = (org.policy or {}).get("triage") or {}
    allow = triage.get("auto_low_risk")
    if not (allow is True or (isinstance(allow, list) and principal.email.lower() in {str(e).lower() for e in allow})):
        return org
    policy = {**(org.policy or {}), "auto_approve": sorted({*(org.policy or {}).get("auto_approve", []), *LOW_RISK})}
    return Organisation(id=org.id, name=org.name, domains=list(org.domains or []), policy=policy)


def plan(item: Classified, fired: list[dict[str, Any]], category: Optional[str]) -> list[dict[str, Any]]:
    """What to do with one email: the model's suggestions, overridden and extended by the rules
    that fired (a rule's action replaces the model's of the same kind; labels add up)."""
    v = item.verdict
    if category == "phishing" or (v is not None and "flag" in v.actions):
        return [{"kind": "flag"}]
    specs: dict[str, dict[str, Any]] = {}
    if v is not None:
        for kind in v.actions:
            specs[kind] = {"kind": kind}
        if "label" in specs:
            specs["label"]["labels"] = list(v.labels) or [category.replace("_", " ").title() if category else "Triage"]
    for a in fired:
        kind = a["kind"]
        if kind == "label":
            have = specs.setdefault("label", {"kind": "label", "labels": []})
            have["labels"] = list(dict.fromkeys([*have.get("labels", []), a["label"]]))
        else:
            specs[kind] = dict(a)
    if "flag" in specs:
        return [{"kind": "flag"}]
    return list(specs.values())


def calls_for(session: Session, job: Job, principal: Principal, tools: dict[str, ToolRef], item: Classified,
              specs: list[dict[str, Any]]) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """(tool calls, notes on what could not be proposed) for one email."""
    s, mail, v = get_settings(), item.mail, item.verdict
    calls: list[tuple[str, dict[str, Any]]] = []
    notes: list[str] = []
    kinds = {sp["kind"]: sp for sp in specs}
    thread = mail.thread_id or ""
    if thread and ("label" in kinds or "mark_read" in kinds):
        add = list(kinds.get("label", {}).get("labels", []))
        remove = ["UNREAD"] if "mark_read" in kinds and "UNREAD" in mail.labels else []
        if add or remove:
            calls.append(("gmail_modify_labels", {"thread_id": thread, "add": add, "remove": remove}))
    if thread and "archive" in kinds:
        calls.append(("gmail_archive", {"thread_id": thread}))
    if "draft_reply" in kinds:
        body = (v.reply if v is not None else "").strip()
        if body:
            calls.append(("gmail_create_draft", {"to": [mail.sender], "subject": reply_subject(mail.subject),
                                                 "body": body, "thread_id": mail.thread_id}))
        else:
            notes.append("a reply draft was asked for, but the classifier wrote none")
    if "propose_meeting" in kinds:
        meeting = _meeting(job, principal, tools, item)
        if isinstance(meeting, str):
            notes.append(meeting)
        else:
            calls.append(("calendar_create_event", meeting))
    if "create_ticket" in kinds:
        spec = kinds["create_ticket"]
        calls.append(("jira_create_issue", {
            "project": spec.get("project") or s.triage_jira_project, "issue_type": "Bug",
            "summary": (mail.subject or "Bug report by email")[:255],
            "description": f"Reported by {mail.sender} by email"
                           + (f" on {mail.received_at:%Y-%m-%d %H:%M} UTC" if mail.received_at else "")
                           + f".\n\n{mail.body[:2000]}"}))
    if "forward_slack" in kinds:
        channel = kinds["forward_slack"].get("channel") or s.triage_slack_channel
        why = v.reason if v is not None else "matched a triage rule"
        calls.append(("slack_post", {"channel": channel,
                                     "text": f"Email from {mail.sender}: *{mail.subject}*\n{why}"}))
    return [(name, args) for name, args in calls if name in tools], notes


def _meeting(job: Job, principal: Principal, tools: dict[str, ToolRef], item: Classified) -> dict[str, Any] | str:
    """An event at the first slot both sides are free (the calendar connector's find-slots reads
    both calendars), with the next ones in its description; or why there is none."""
    mail = item.mail
    if "calendar_find_slots" not in tools:
        return "no calendar connector to find a slot"
    tz = ZoneInfo(principal.time_zone or "UTC")
    start = datetime.combine((utcnow().astimezone(tz) + timedelta(days=1)).date(), time(9, 0))
    end = start + timedelta(days=7)
    try:
        found = run_read(job, principal, tools["calendar_find_slots"], {
            "attendees": [mail.sender], "duration_minutes": 30, "window_start": start.isoformat(),
            "window_end": end.isoformat(), "max_results": 3})
    except ToolError as exc:
        return f"no meeting proposed: the calendar said {exc.message[:200]}"
    data = found.data if isinstance(found.data, dict) else {}
    slots = data.get("slots") or []
    if not slots:
        return "no meeting proposed: no common free slot in the next week"
    others = "; ".join(f"{x['start']} – {x['end']}" for x in slots[1:])
    topic = mail.subject.removeprefix("Re: ").strip() or "Meeting"
    return {"summary": topic, "start": slots[0]["start"], "end": slots[0]["end"], "attendees": [mail.sender],
            "description": f"Proposed by inbox triage for the email “{topic}” from {mail.sender}."
                           + (f" Other free times: {others}." if others else "")}


def propose_all(session: Session, job: Job, org: Organisation, principal: Principal, tools: dict[str, ToolRef],
                calls: list[tuple[str, str, dict[str, Any]]], reads: list[Message]) -> dict[str, Action]:
    """Write the turn that proposes `calls` ((call id, tool, arguments)) and an Action for each
    through the gate; returns the Actions by call id. `reads` is the transcript so far (the mail
    read, fenced as untrusted): risk flags look there for copied text."""
    from services.jobs.transcript import append, tool_message

    append(session, job.id, role="assistant", content=f"Triage proposes {len(calls)} action(s).",
           tool_calls=[{"id": cid, "name": name, "arguments": json.dumps(args, ensure_ascii=False)}
                       for cid, name, args in calls])
    gate = policy_view(org, principal)
    out: dict[str, Action] = {}
    for cid, name, args in calls:
        flags = proposal_flags(job, gate, principal, tools[name], args, reads) or []
        refused = blocked(flags)
        if refused:  # the organisation's egress policy blocks it: no Action, and the timeline says why
            why = "; ".join(describe(f) for f in refused)
            tool_message(session, job.id, cid, name,
                         f"error (blocked): refused by the organisation's egress policy, nothing was done: {why}.")
            events.record(session, job.id, "action_blocked", tool=name, call_id=cid,
                          risk_flags=[f["kind"] for f in refused])
            continue
        out[cid] = propose(session, job, gate, tools[name], cid, args, reads, flags)
    return out
