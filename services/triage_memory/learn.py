"""Learning from decisions on triage proposals (see the package docstring)."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Optional

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.errors import Conflict, NotFound
from services.store.models import (
    Action,
    ActionStatus,
    Job,
    Principal,
    TriageItem,
    TriageMemory,
    TriageRule,
    utcnow,
)

REPEATS = 2  # the same rejection or edit this many times becomes a memory
WINDOW_DAYS = 180  # decisions older than this are not read again
SCAN_LIMIT = 5000
# Arguments that differ per message (or are free text): left out when comparing edits.
PER_MESSAGE = {"thread_id", "message_id", "body", "subject", "to", "cc", "bcc", "start", "end", "description",
               "summary", "text", "attendees"}
TOOL_LABELS = {
    "gmail_archive": "Archive", "gmail_modify_labels": "Change labels", "gmail_mark_read": "Mark read",
    "gmail_create_draft": "Draft a reply", "gmail_send": "Send a reply",
    "calendar_create_event": "Propose a meeting", "jira_create_issue": "Open a Jira ticket",
    "jira_comment": "Comment on a Jira ticket", "slack_post": "Forward to Slack", "slack_dm": "Forward to Slack",
}
_NS = uuid.UUID("6f1d2b8e-7c55-4f0e-9a55-2f8f4a0c1d11")


def tool_label(tool: str) -> str:
    return TOOL_LABELS.get(tool, tool)


def domain_of(sender: Optional[str]) -> Optional[str]:
    """'Weekly Byte <news@weeklybyte.example>' → 'weeklybyte.example'."""
    if not sender:
        return None
    addr = sender.rsplit("<", 1)[-1].rstrip(">").strip().lower()
    if "@" not in addr:
        return None
    return addr.rsplit("@", 1)[1] or None


@dataclass
class _Group:
    domain: str
    tool: str
    decision: str  # reject | edit
    args: dict[str, Any]
    actions: list[Action] = field(default_factory=list)

    @property
    def key(self) -> str:
        raw = json.dumps([self.domain, self.tool, self.decision, self.args], sort_keys=True)
        return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _stable(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sorted(args.items()) if k not in PER_MESSAGE}


def _decided_triage_actions(session: Session, principal_id: str) -> list[Action]:
    since = utcnow() - timedelta(days=WINDOW_DAYS)
    stmt = (select(Action).join(Job, col(Job.id) == col(Action.job_id))
            .where(Job.principal_id == principal_id, Job.kind == "triage", Action.decided_via == "person",
                   col(Action.decided_at) >= since)
            .order_by(col(Action.decided_at), col(Action.id)).limit(SCAN_LIMIT))
    return list(session.exec(stmt))


def _senders(session: Session, principal_id: str, actions: list[Action]) -> dict[str, Optional[str]]:
    """action id → the sender of the triaged email it was proposed for."""
    wanted = {a.id for a in actions}
    job_ids = {a.job_id for a in actions}
    if not wanted:
        return {}
    items = session.exec(select(TriageItem).where(TriageItem.principal_id == principal_id,
                                                  col(TriageItem.job_id).in_(job_ids))).all()
    if not items:  # items not tied to a job: fall back to the person's recent items
        since = utcnow() - timedelta(days=WINDOW_DAYS)
        items = session.exec(select(TriageItem).where(TriageItem.principal_id == principal_id,
                                                      col(TriageItem.created_at) >= since)
                             .limit(SCAN_LIMIT)).all()
    out: dict[str, Optional[str]] = {}
    for item in items:
        for action_id in item.action_ids or []:
            if action_id in wanted:
                out[action_id] = item.sender
    return out


def _groups(session: Session, principal_id: str) -> list[_Group]:
    actions = _decided_triage_actions(session, principal_id)
    senders = _senders(session, principal_id, actions)
    groups: dict[tuple[str, str, str, str], _Group] = {}
    for action in actions:
        domain = domain_of(senders.get(action.id))
        if domain is None:
            continue
        if action.status == ActionStatus.rejected:
            decision, args = "reject", {}
        elif action.edited:
            decision, args = "edit", _stable(action.arguments or {})
        else:
            continue  # a plain approval: the proposal was right, nothing to learn
        k = (domain, action.tool, decision, json.dumps(args, sort_keys=True))
        groups.setdefault(k, _Group(domain, action.tool, decision, args)).actions.append(action)
    return list(groups.values())


def _used(session: Session, principal_id: str) -> dict[str, set[str]]:
    """memory key → action ids some memory (any status) already stands for."""
    used: dict[str, set[str]] = {}
    for m in session.exec(select(TriageMemory).where(TriageMemory.principal_id == principal_id,
                                                     TriageMemory.kind == "example")):
        used.setdefault(str(m.content.get("key")), set()).update(m.content.get("action_ids") or [])
    return used


def _reasons(actions: list[Action]) -> list[str]:
    out: list[str] = []
    for a in actions:
        text = (a.reason or a.feedback or "").strip()
        if text and text not in out:
            out.append(text[:300])
    return out


def _example_text(g: _Group, n: int, reasons: list[str]) -> str:
    label = tool_label(g.tool)
    if g.decision == "reject":
        text = f"The person rejected '{label}' for mail from {g.domain} {n} times"
    else:
        shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in g.args.items()) or "their own wording"
        text = f"The person changed '{label}' for mail from {g.domain} to {shown} {n} times"
    if reasons:
        text += " (they said: " + "; ".join(reasons[:3]) + ")"
    return text + "."


def _suggestion(g: _Group, reasons: list[str]) -> Optional[dict[str, Any]]:
    label = tool_label(g.tool)
    match = {"from_domain": g.domain}
    if g.decision == "reject":
        text = f"Mail from {g.domain}: do not propose '{label}'"
        if reasons:
            text += f" (you said: {reasons[0]})"
        return {"text": text, "match": match, "actions": [{"tool": g.tool, "propose": False}]}
    if not g.args:
        return None  # edits of free text (reply wording): an example for the classifier, no rule
    shown = ", ".join(f"{k} {json.dumps(v)}" for k, v in g.args.items())
    return {"text": f"Mail from {g.domain}: {label} with {shown}", "match": match,
            "actions": [{"tool": g.tool, "args": g.args}]}


def _insert(session: Session, memory: TriageMemory) -> bool:
    """Insert once: the id is derived from what it stands for, so two learners never both add it."""
    if session.get(TriageMemory, memory.id) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(memory)
    except IntegrityError:
        return False
    return True


def learn(session: Session, principal_id: str) -> list[TriageMemory]:
    """Turn repeated rejections and edits into memories; returns the ones added now (flushed, not
    committed: the caller commits)."""
    used = _used(session, principal_id)
    added: list[TriageMemory] = []
    for g in _groups(session, principal_id):
        fresh = [a for a in g.actions if a.id not in used.get(g.key, set())]
        if len(fresh) < REPEATS:
            continue
        ids = [a.id for a in fresh]
        reasons = _reasons(fresh)
        seed = f"{principal_id}:{g.key}:{ids[0]}"
        example = TriageMemory(
            id=uuid.uuid5(_NS, "example:" + seed).hex, principal_id=principal_id, kind="example",
            source_action_id=ids[-1],
            content={"key": g.key, "sender_domain": g.domain, "tool": g.tool, "decision": g.decision,
                     "args": g.args, "count": len(ids), "action_ids": ids, "reasons": reasons,
                     "text": _example_text(g, len(ids), reasons)})
        if not _insert(session, example):
            continue
        added.append(example)
        rule = _suggestion(g, reasons)
        if rule is not None:
            suggestion = TriageMemory(
                id=uuid.uuid5(_NS, "suggestion:" + seed).hex, principal_id=principal_id, kind="suggestion",
                source_action_id=ids[-1], content={"key": g.key, "example_id": example.id, **rule})
            if _insert(session, suggestion):
                added.append(suggestion)
    return added


def examples(session: Session, principal_id: str) -> list[dict[str, Any]]:
    """For the classifier's prompt: the person's active examples, oldest first, each
    {"id", "sender_domain", "tool", "decision", "text"}. Learns from new decisions first."""
    learn(session, principal_id)
    rows = session.exec(select(TriageMemory).where(
        TriageMemory.principal_id == principal_id, TriageMemory.kind == "example",
        TriageMemory.status == "active").order_by(col(TriageMemory.created_at), col(TriageMemory.id))).all()
    return [{"id": m.id, "sender_domain": m.content.get("sender_domain"), "tool": m.content.get("tool"),
             "decision": m.content.get("decision"), "text": m.content.get("text", "")} for m in rows]


def listing(session: Session, principal_id: str) -> list[TriageMemory]:
    """Everything learned for this person (every status), newest first. Learns first."""
    learn(session, principal_id)
    return list(session.exec(select(TriageMemory).where(TriageMemory.principal_id == principal_id)
                             .order_by(col(TriageMemory.created_at).desc(), col(TriageMemory.id))))


def _mine(session: Session, person: Principal, memory_id: str) -> TriageMemory:
    memory = session.get(TriageMemory, memory_id)
    if memory is None or memory.principal_id != person.id:
        raise NotFound("memory", memory_id, "memory_id")
    return memory


def _touch(session: Session, memory: TriageMemory, status: str, **content: Any) -> TriageMemory:
    memory.status = status
    memory.content = {**memory.content, **content}
    memory.updated_at = utcnow()
    session.add(memory)
    session.flush()
    return memory


def forget(session: Session, person: Principal, memory_id: str) -> TriageMemory:
    """Undo what was learned: the memory is retired (kept, marked forgotten). An accepted suggestion's
    rule is deactivated; forgetting an example also retires its suggestion still waiting."""
    memory = _mine(session, person, memory_id)
    if memory.status == "forgotten":
        return memory
    if memory.kind == "suggestion" and memory.status == "accepted":
        rule = session.get(TriageRule, str(memory.content.get("rule_id") or ""))
        if rule is not None and rule.active:
            rule.active = False
            session.add(rule)
    if memory.kind == "example":
        for s in session.exec(select(TriageMemory).where(TriageMemory.principal_id == person.id,
                                                         TriageMemory.kind == "suggestion",
                                                         TriageMemory.status == "active")):
            if s.content.get("example_id") == memory.id:
                _touch(session, s, "forgotten")
    return _touch(session, memory, "forgotten")


def _open_suggestion(session: Session, person: Principal, memory_id: str) -> TriageMemory:
    memory = _mine(session, person, memory_id)
    if memory.kind != "suggestion":
        raise Conflict("only a suggested rule can be accepted or declined", "memory_id")
    if memory.status != "active":
        raise Conflict(f"this suggestion is already {memory.status}", "memory_id")
    return memory


def accept(session: Session, person: Principal, memory_id: str) -> TriageRule:
    """The person takes the suggested rule: it becomes one of their rules (source "suggested")."""
    memory = _open_suggestion(session, person, memory_id)
    rule = TriageRule(principal_id=person.id, text=str(memory.content.get("text", "")),
                      match=dict(memory.content.get("match") or {}), actions=list(memory.content.get("actions") or []),
                      source="suggested")
    session.add(rule)
    session.flush()
    _touch(session, memory, "accepted", rule_id=rule.id)
    return rule


def decline(session: Session, person: Principal, memory_id: str) -> TriageMemory:
    return _touch(session, _open_suggestion(session, person, memory_id), "declined")
