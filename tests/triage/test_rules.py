"""Rules in plain language: what they are read as, what they match, and clear refusals."""
from __future__ import annotations

import pytest

from services.errors import Invalid
from services.store.models import TriageRule
from services.triage import rules
from services.triage.mailbox import Mail


def mail(sender: str, subject: str = "Hello") -> Mail:
    return Mail("m", "t", sender, "", subject, "", None)


@pytest.mark.parametrize(("text", "match", "kinds"), [
    ("Newsletters: label Reading and archive.", {"category": "newsletter"}, ["label", "archive"]),
    ("Anything from globex.example about invoices: label Finance and draft a reply asking for the PO number",
     {"domain": "globex.example", "category": "invoice"}, ["label", "draft_reply"]),
    ("From billing@cloudhost.example as invoice: label Finance, mark as read",
     {"sender": "billing@cloudhost.example", "assign": "invoice"}, ["label", "mark_read"]),
    ("Mail about 'weekly report' from @acme.example: forward to #ops",
     {"subject": "weekly report", "domain": "acme.example"}, ["forward_slack"]),
    ("Bug reports: open a ticket in WEB", {"category": "bug_report"}, ["create_ticket"]),
    ("Meeting requests from dana@northwind.example: propose a meeting",
     {"category": "meeting_request", "sender": "dana@northwind.example"}, ["propose_meeting"]),
])
def test_rules_are_read_as_written(text, match, kinds):
    got_match, actions = rules.parse(text)
    assert got_match == match
    assert [a["kind"] for a in actions] == kinds


def test_what_the_actions_carry():
    _m, actions = rules.parse("Anything from globex.example about invoices: label Finance and draft a reply "
                              "asking for the PO number, and thank them")
    assert actions == [{"kind": "label", "label": "Finance"},
                       {"kind": "draft_reply", "instruction": "asking for the PO number, and thank them"}]
    assert rules.parse("Bug reports: open a ticket in WEB")[1] == [{"kind": "create_ticket", "project": "WEB"}]


@pytest.mark.parametrize(("text", "says"), [
    ("Newsletters label Reading", "colon"),
    ("Something odd: archive", "which mail"),
    ("Newsletters: dance wildly", "cannot read the action"),
    ("Newsletters:", "what to do"),
])
def test_unreadable_rules_are_refused_with_what_to_write(text, says):
    with pytest.raises(Invalid) as exc:
        rules.parse(text)
    assert says in str(exc.value) and exc.value.field == "text"


def test_matching_and_prefilters():
    domain = TriageRule(principal_id="p", text="t", match={"domain": "globex.example"}, actions=[])
    assert rules.matches(domain, mail("ops@globex.example")) and rules.matches(domain, mail("a@eu.globex.example"))
    assert not rules.matches(domain, mail("ops@g1obex.example"))  # a look-alike is not the domain
    cat = TriageRule(principal_id="p", text="t", match={"domain": "globex.example", "category": "invoice"}, actions=[])
    assert rules.matches(cat, mail("ops@globex.example"), "invoice")
    assert not rules.matches(cat, mail("ops@globex.example"), "escalation")
    assert rules.is_prefilter(domain) and not rules.is_prefilter(cat)
    subject = TriageRule(principal_id="p", text="t", match={"subject": "weekly report"}, actions=[])
    assert rules.matches(subject, mail("x@y.example", "Your Weekly Report is ready"))
    drafting = TriageRule(principal_id="p", text="t", match={}, actions=[{"kind": "draft_reply"}])
    assert rules.needs_model([drafting]) and not rules.needs_model([domain])
