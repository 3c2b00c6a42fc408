"""A scripted classifier for triage tests: it reads the emails out of the real request (our ids
outside the fences, the subject inside) and answers with the labelled set's expected values, in
the JSON the request's schema asks for. It knows nothing the request does not carry."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Optional

from sqlmodel import Session, select

from connectors.sandbox.fixture_triage import LABELLED, seed_labelled
from services.store.db import get_engine
from services.store.models import Organisation, Principal, utcnow
from tests.fakes.model_server import Reply, raw

BY_SUBJECT = {e["subject"]: e for e in LABELLED}
ACTION = {"draft_reply": ["draft_reply"], "propose_meeting": ["propose_meeting"], "label": ["label"],
          "label_archive": ["label", "archive"], "flag": ["flag"], "create_ticket": ["create_ticket"],
          "mark_read": ["mark_read"]}
EMAIL_RE = re.compile(r"Email (m\d+):\n<untrusted source=\"mail:([^\"]+)\">\nFrom: ([^\n]*)\nSubject: ([^\n]*)\n")


def emails_in(body: dict) -> list[tuple[str, str, str]]:
    """(ref, message id, subject) of each email in a classification request."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return [(ref, mid, subject) for ref, mid, _sender, subject in EMAIL_RE.findall(user)]


def drafting_rules(body: dict) -> list[str]:
    """The person's rules (from the system prompt) that ask for a reply draft."""
    system = body["messages"][0]["content"]
    own = system.split("The person's rules:", 1)[-1]
    return [line for line in own.splitlines() if "draft a reply" in line.lower()]


# The demo mailbox's own threads (connectors/sandbox/fixture_mail.py) that tests look at.
FIXTURE = {"The Weekly Byte #212: Postgres 17 in production": "newsletter",
           "The Weekly Byte #211: Queues all the way down": "newsletter",
           "SaaS Ops Monthly — pricing pages that convert": "newsletter",
           "Action required: mailbox compliance verification": "phishing"}
DEFAULTS = {"newsletter": {"category": "newsletter", "action": "label_archive", "priority": "low",
                           "needs_reply": False},
            "phishing": {"category": "phishing", "action": "flag", "priority": "high", "needs_reply": False}}


def verdict(ref: str, subject: str) -> dict[str, Any]:
    e = (BY_SUBJECT.get(subject, {}).get("expected") or DEFAULTS.get(FIXTURE.get(subject, ""))
         or {"category": "fyi", "action": "mark_read", "priority": "low", "needs_reply": False})
    acts = ACTION[e["action"]]
    return {"id": ref, "category": e["category"], "priority": e["priority"], "needs_reply": e["needs_reply"],
            "actions": acts, "labels": (["Finance"] if e["category"] == "invoice" else
                                        ["Reading"] if e["category"] == "newsletter" else []),
            "reply": "Thanks, looking into it now." if "draft_reply" in acts else "",
            "reason": f"looks like {e['category']}",
            "confidence": 0.9}


def classifier(broken_for: Optional[Callable[[list[str]], bool]] = None) -> Callable[[dict], Reply]:
    """A dynamic reply: the expected verdicts, or broken JSON when `broken_for(subjects)` says so."""
    def answer(body: dict) -> Reply:
        found = emails_in(body)
        if broken_for is not None and broken_for([s for _r, _m, s in found]):
            return raw('{"items": [{"id": "m1", "category": "fyi"')  # cut off mid-answer
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        senders = {ref: sender for ref, _mid, sender, _s in EMAIL_RE.findall(user)}
        items = [verdict(ref, subject) for ref, _mid, subject in found]
        for item in items:  # follow the person's rules, as the prompt asks
            domain = senders[item["id"]].rsplit("@", 1)[-1].rstrip(">")
            if any(domain in rule for rule in drafting_rules(body)):
                item["actions"] = [*item["actions"], "draft_reply"]
                item["reply"] = "Could you send us the PO number for this invoice?"
        return raw(json.dumps({"items": items}))
    return answer


def alex() -> tuple[Principal, Organisation]:
    with Session(get_engine(), expire_on_commit=False) as s:
        p = s.exec(select(Principal).where(Principal.email == "alex@northwind.example")).one()
        return p, s.get_one(Organisation, p.org_id)


def seed(emails: list[dict] | None = None, *, ago: int = 300) -> list[str]:
    """The labelled emails (or `emails`) in Alex's inbox; their message ids."""
    _p, org = alex()
    with Session(get_engine(), expire_on_commit=False) as s:
        msgs = seed_labelled(s, org.id, utcnow(), emails=emails, start_ago_minutes=ago)
        s.commit()
        return [m.id for m in msgs]


def days_ago(n: float):
    return utcnow() - timedelta(days=n)
