"""What one triage run's digest shows, computed from the rows: the run, its items, the actions
proposed for them (through the approval gate), the rules that fired and what was learned."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import quote

from sqlmodel import Session, col, select

from services import policy
from services.errors import NotFound
from services.store.models import (
    Action,
    ActionStatus,
    Organisation,
    Principal,
    ScheduleRun,
    TriageItem,
    TriageMemory,
    TriageRule,
    TriageRun,
)

# Tools that only sort the person's own mailbox: labels, archive, mark read. An action of one of
# these with no risk flag is "low-risk": the digest offers to approve them together.
LOW_RISK_TOOLS = frozenset({"gmail_modify_labels", "gmail_archive", "gmail_mark_read"})
REPLY_TOOLS = frozenset({"gmail_create_draft", "gmail_send"})
MEETING_TOOLS = frozenset({"calendar_create_event", "calendar_update_event"})
TICKET_TOOLS = frozenset({"jira_create_issue", "jira_comment"})
SUSPICIOUS = frozenset({"phishing", "suspicious", "spam", "scam"})
PRIORITY = {"urgent": 0, "high": 0, "normal": 1, "medium": 1, "low": 2}
GMAIL_LINK = "https://mail.google.com/mail/u/0/#inbox/{}"

# (key, title) in the order shown when priorities tie.
GROUPS = (
    ("suspicious", "Suspicious: flagged, do not act on these"),
    ("replies", "Replies drafted for your approval"),
    ("meetings", "Meeting requests, with proposed slots"),
    ("tickets", "Bug reports, with a proposed ticket"),
    ("newsletters", "Newsletters and mail to file (labelled or archived)"),
    ("other", "Everything else"),
)


def low_risk(action: Action) -> bool:
    return action.tool in LOW_RISK_TOOLS and not action.risk_flags


@dataclass
class Item:
    row: TriageItem
    actions: list[Action]
    link: Optional[str]  # the original message in the mail client, when it has a web page
    ref: str  # what to show when there is no link: the message (or thread) id
    rules: list[TriageRule] = field(default_factory=list)

    @property
    def rank(self) -> int:
        return PRIORITY.get((self.row.priority or "normal").lower(), 1)

    @property
    def pending(self) -> list[Action]:
        return [a for a in self.actions if a.status == ActionStatus.pending]


@dataclass
class Group:
    key: str
    title: str
    items: list[Item]


@dataclass
class Digest:
    run: TriageRun
    person: Principal
    groups: list[Group]
    notes: list[str]
    suggestions: list[TriageMemory]

    @property
    def items(self) -> list[Item]:
        return [i for g in self.groups for i in g.items]

    @property
    def low_risk_pending(self) -> list[Action]:
        return [a for i in self.items for a in i.pending if low_risk(a)]

    @property
    def pending(self) -> list[Action]:
        return [a for i in self.items for a in i.pending]


def visible_run(session: Session, viewer: Principal, run_id: str) -> TriageRun:
    """The run, if the viewer is its person or an approver of the person's organisation; anything
    else (unknown, another organisation, someone else's) is 'not found'."""
    run = session.get(TriageRun, run_id)
    owner = session.get(Principal, run.principal_id) if run else None
    if run is None or owner is None or owner.org_id != viewer.org_id:
        raise NotFound("triage run", run_id, "run_id")
    if owner.id != viewer.id and not policy.is_approver(session.get_one(Organisation, owner.org_id), viewer):
        raise NotFound("triage run", run_id, "run_id")
    return run


def group_of(item: TriageItem, actions: list[Action]) -> str:
    tools = {a.tool for a in actions}
    category = (item.category or "").lower()
    if category in SUSPICIOUS:
        return "suspicious"
    if tools & REPLY_TOOLS:
        return "replies"
    if tools & MEETING_TOOLS or "meeting" in category:
        return "meetings"
    if tools & TICKET_TOOLS or category in ("bug", "bug_report", "bug report", "incident"):
        return "tickets"
    if (tools and tools <= LOW_RISK_TOOLS) or category in ("newsletter", "newsletters", "promotion", "promotions"):
        return "newsletters"
    if item.needs_reply:
        return "replies"
    return "other"


def link_of(org: Organisation, item: TriageItem, actions: list[Action]) -> tuple[Optional[str], str]:
    connector = next((a.connector for a in actions if a.tool.startswith("gmail_")), None)
    connector = connector or (org.policy or {}).get("connectors", {}).get("mail", "sandbox")
    target = item.thread_id or item.message_id
    if connector == "gmail":
        return GMAIL_LINK.format(quote(target, safe="")), target
    return None, target  # the sandbox has no web page of its own: the id is shown


def build(session: Session, run: TriageRun) -> Digest:
    person = session.get_one(Principal, run.principal_id)
    org = session.get_one(Organisation, person.org_id)
    rows = session.exec(select(TriageItem).where(TriageItem.run_id == run.id)
                        .order_by(col(TriageItem.received_at).desc(), col(TriageItem.id))).all()
    action_ids = {aid for r in rows for aid in r.action_ids or []}
    actions = ({a.id: a for a in session.exec(select(Action).where(col(Action.id).in_(action_ids)))}
               if action_ids else {})
    rule_ids = {rid for r in rows for rid in r.rule_ids or []}
    rules = ({r.id: r for r in session.exec(select(TriageRule).where(col(TriageRule.id).in_(rule_ids)))}
             if rule_ids else {})
    buckets: dict[str, list[Item]] = {key: [] for key, _ in GROUPS}
    for row in rows:
        mine = [actions[aid] for aid in row.action_ids or [] if aid in actions]
        link, ref = link_of(org, row, mine)
        item = Item(row=row, actions=mine, link=link, ref=ref,
                    rules=[rules[rid] for rid in row.rule_ids or [] if rid in rules])
        buckets[group_of(row, mine)].append(item)
    order = {key: i for i, (key, _) in enumerate(GROUPS)}
    groups = []
    for key, title in GROUPS:
        items = sorted(buckets[key], key=lambda i: i.rank)  # stable: newest first within a priority
        if items:
            groups.append(Group(key, title, items))
    groups.sort(key=lambda g: (min(i.rank for i in g.items), order[g.key]))
    suggestions = list(session.exec(select(TriageMemory).where(
        TriageMemory.principal_id == person.id, TriageMemory.kind == "suggestion", TriageMemory.status == "active")
        .order_by(col(TriageMemory.created_at))))
    return Digest(run=run, person=person, groups=groups, notes=notes(session, run), suggestions=suggestions)


def notes(session: Session, run: TriageRun) -> list[str]:
    out: list[str] = []
    if run.schedule_run_id:
        srun = session.get(ScheduleRun, run.schedule_run_id)
        if srun is not None and srun.missed:
            out.append(f"Caught up after downtime: this run also stands for {srun.missed} missed "
                       f"slot{'s' if srun.missed != 1 else ''}.")
    if run.gap_note:
        out.append(run.gap_note)
    if run.dry_run:
        out.append("Dry run: nothing was proposed; this shows what would happen.")
    if (run.digest or {}).get("email_action"):
        out.append("A draft of this digest, to your own inbox, waits for approval with the actions below.")
    if run.status == "failed" and run.error:
        out.append(f"The run failed: {run.error}")
    elif run.status not in ("done", "failed"):
        out.append("Still running: more items may appear.")
    return out
