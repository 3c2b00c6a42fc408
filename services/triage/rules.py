"""A person's triage rules, in plain language, versioned. "Newsletters: label Reading and archive."
"Anything from globex.example about invoices: label Finance and draft a reply asking for the PO
number." The text before the colon says which mail (from an address or domain, about a category,
with words in the subject); after it, what to do. The parsed form is stored beside the text:
`match` (sender, domain, subject, category) and `actions`.

A rule without a category condition is a deterministic pre-filter: it is decided before the model
and, when none of its actions needs the model's words (a reply draft does), the email is not sent
to the model at all. "as <category>" in such a rule names the category it gives the email. A rule
with a category fires after classification. Every rule also goes into the classifier's prompt."""
from __future__ import annotations

import re
from typing import Any, Optional

from sqlmodel import Session, col, select

from services.errors import Invalid, NotFound
from services.store.models import Principal, TriageRule
from services.triage.mailbox import Mail

CATEGORY_WORDS = {
    "escalation": "escalation", "escalations": "escalation", "urgent": "escalation",
    "meeting": "meeting_request", "meetings": "meeting_request", "meeting request": "meeting_request",
    "meeting requests": "meeting_request", "invoice": "invoice", "invoices": "invoice", "bills": "invoice",
    "newsletter": "newsletter", "newsletters": "newsletter", "phishing": "phishing",
    "bug": "bug_report", "bugs": "bug_report", "bug report": "bug_report", "bug reports": "bug_report",
    "personal": "personal", "personal mail": "personal", "fyi": "fyi", "notifications": "fyi",
}
for _c in ("escalation", "meeting_request", "invoice", "newsletter", "phishing", "bug_report", "personal", "fyi"):
    CATEGORY_WORDS[_c] = _c
MODEL_ACTIONS = {"draft_reply"}  # need the model's words
EXAMPLE = "e.g. 'Newsletters: label Reading and archive' or 'From billing@cloudhost.example: label Finance'"


def _category(words: str) -> Optional[str]:
    return CATEGORY_WORDS.get(words.strip().strip(".").lower())


def parse(text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(match, actions) of a rule's text; Invalid with what to write when it cannot be read."""
    text = " ".join((text or "").split())
    if ":" not in text:
        raise Invalid(f"rule: say which mail, a colon, then what to do ({EXAMPLE})", "text")
    cond, acts = (part.strip() for part in text.split(":", 1))
    match = _match(cond)
    actions = _actions(acts)
    if not match:
        raise Invalid(f"rule: cannot tell which mail {cond!r} means ({EXAMPLE})", "text")
    if not actions:
        raise Invalid(f"rule: cannot tell what to do from {acts!r} (label X, archive, mark read, draft a reply ..., "
                      "forward to #channel, open a ticket, propose a meeting, flag)", "text")
    return match, actions


def _match(cond: str) -> dict[str, Any]:
    low = cond.lower()
    match: dict[str, Any] = {}
    if m := re.search(r"\bfrom\s+@?([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)", low):
        who = m.group(1).strip(".")
        if "@" in who:
            match["sender"] = who
        elif "." in who:
            match["domain"] = who
    if (m := re.search(r"\bas\s+([a-z_ ]+?)\s*$", low)) and (cat := _category(m.group(1))):
        match["assign"] = cat
    if m := re.search(r"\babout\s+(.+?)(?=\s+from\b|\s+as\b|\s+with\b|$)", low):
        cat = _category(m.group(1))
        if cat:
            match["category"] = cat
        else:
            match["subject"] = m.group(1).strip(" .'\"")
    if m := re.search(r"\bsubject\s+(?:contains\s+)?['\"]?([^'\"]+?)['\"]?(?=\s+from\b|$)", low):
        match["subject"] = m.group(1).strip(" .")
    if m := re.search(r"\bwith\s+['\"]([^'\"]+)['\"]\s+in the subject", low):
        match["subject"] = m.group(1).strip()
    head = re.split(r"\s+(?:from|about|with|as|subject)\b", low, maxsplit=1)[0].strip()
    anything = ("anything", "any mail", "mail", "all mail", "everything", "emails", "email")
    if head and head not in anything and (cat := _category(head)):
        match.setdefault("category", cat)
    return match


def _actions(acts: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    low = acts.lower()
    draft_at = re.search(r"\b(?:draft|write)\s+a\s+reply\b", low)
    head, tail = (acts[:draft_at.start()], acts[draft_at.start():]) if draft_at else (acts, "")
    for piece in re.split(r",|;|\band\b|\bthen\b", head):
        p = piece.strip().strip(".")
        pl = p.lower()
        if not p:
            continue
        if m := re.match(r"label\s+(?:it\s+|them\s+)?['\"]?(.+?)['\"]?$", p, re.I):
            out.append({"kind": "label", "label": m.group(1).strip()})
        elif pl in ("archive", "archive it", "archive them", "skip the inbox"):
            out.append({"kind": "archive"})
        elif re.fullmatch(r"mark (?:it |them )?(?:as )?read", pl):
            out.append({"kind": "mark_read"})
        elif m := re.match(r"forward (?:it |them )?to (?:slack )?(#[\w-]+)", pl):
            out.append({"kind": "forward_slack", "channel": m.group(1)})
        elif m := re.match(r"(?:open|create|file) an? (?:jira )?(?:ticket|issue)(?: in ([a-z][a-z0-9]+))?", pl):
            out.append({"kind": "create_ticket", **({"project": m.group(1).upper()} if m.group(1) else {})})
        elif re.match(r"(?:propose|suggest|schedule) an? (?:meeting|call|time)", pl):
            out.append({"kind": "propose_meeting"})
        elif pl in ("flag", "flag it", "flag them"):
            out.append({"kind": "flag"})
        else:
            raise Invalid(f"rule: cannot read the action {p!r}", "text")
    if tail:
        instruction = re.sub(r"^(?:draft|write)\s+a\s+reply\s*", "", tail.strip().strip("."), flags=re.I)
        out.append({"kind": "draft_reply", "instruction": instruction})
    return out


# ---------------------------------------------------------------- matching
def matches(rule: TriageRule, mail: Mail, category: Optional[str] = None) -> bool:
    m = rule.match or {}
    sender = mail.sender.lower()
    if "sender" in m and sender != m["sender"]:
        return False
    if "domain" in m:
        domain = sender.rsplit("@", 1)[-1]
        if not (domain == m["domain"] or domain.endswith("." + m["domain"])):
            return False
    if "subject" in m and m["subject"].lower() not in (mail.subject or "").lower():
        return False
    return not ("category" in m and m["category"] != category)


def is_prefilter(rule: TriageRule) -> bool:
    m = rule.match or {}
    return "category" not in m and any(k in m for k in ("sender", "domain", "subject"))


def needs_model(rules: list[TriageRule]) -> bool:
    return any(a.get("kind") in MODEL_ACTIONS for r in rules for a in r.actions)


# ---------------------------------------------------------------- storage
def active_rules(session: Session, principal_id: str) -> list[TriageRule]:
    q = select(TriageRule).where(TriageRule.principal_id == principal_id, TriageRule.active == True)  # noqa: E712  (builds SQL: active = true)
    return list(session.exec(q.order_by(col(TriageRule.created_at))))


def add_rule(session: Session, principal: Principal, text: str, *, source: str = "person") -> TriageRule:
    match, actions = parse(text)
    rule = TriageRule(principal_id=principal.id, text=" ".join(text.split()), match=match, actions=actions,
                      source=source)
    session.add(rule)
    session.flush()
    return rule


def _current(session: Session, principal: Principal, key: str) -> TriageRule:
    key = (key or "").strip()
    rules = [r for r in active_rules(session, principal.id) if r.rule_key.startswith(key) or r.id.startswith(key)]
    if not key or not rules:
        raise NotFound("rule", key, message=f"no active rule {key!r}; `workmode triage rules list` shows them")
    if len(rules) > 1:
        raise Invalid(f"{key!r} names more than one rule; give more of its id", "rule")
    return rules[0]


def edit_rule(session: Session, principal: Principal, key: str, text: str) -> TriageRule:
    """A new version of the rule; the old one stays, inactive."""
    old = _current(session, principal, key)
    match, actions = parse(text)
    old.active = False
    session.add(old)
    new = TriageRule(principal_id=principal.id, rule_key=old.rule_key, version=old.version + 1,
                     text=" ".join(text.split()), match=match, actions=actions, source=old.source)
    session.add(new)
    session.flush()
    return new


def remove_rule(session: Session, principal: Principal, key: str) -> TriageRule:
    rule = _current(session, principal, key)
    rule.active = False
    session.add(rule)
    session.flush()
    return rule
