"""The egress policy (issue 10, injection defence in depth), through the real engine, store and
worker with the scripted model and the sandbox world:

- per organisation, the outside domains mail recipients and invitees may reach
  (policy["egress"]["allowed_domains"]); anything else is flagged, and with
  policy["egress"]["mode"] = "block" refused at once, with the reason the model reads;
- auto-approval by policy never applies to an action that carries a risk flag;
- links in outgoing text to domains the requester never named are flagged;
- a Slack post in a Slack Connect channel reaches the other companies in it: those whose domains
  are outside the list are flagged (blocked in block mode), and a channel nobody could check is
  flagged as such (slack_sdk against tests/fakes/slack_web.py).
"""
from __future__ import annotations

import pytest
from sqlmodel import Session

from services.config import reset_settings
from services.store.db import get_engine
from services.store.models import Organisation
from tests.fakes.model_server import text, tool_calls
from tests.fakes.slack_web import BOT_TOKEN, FakeSlack
from tests.support.jobs import actions, kinds, wait_status
from tests.support.web import pending, propose, start_job

PARTNER = "partner.example"


def _policy(workspace, **policy) -> None:
    org, _ = workspace
    with Session(get_engine()) as s:
        row = s.get(Organisation, org.id)
        row.policy = {**(row.policy or {}), **policy}
        s.add(row)
        s.commit()


def _mail(*to: str, body: str = "Tuesday 10:00 works for me.") -> dict:
    return {"to": list(to), "subject": "Q3 review", "body": body}


def _kinds(action) -> list[tuple[str, str]]:
    return sorted((f["kind"], f.get("value", "")) for f in action.risk_flags)


def test_outside_domains_the_organisation_allows_are_not_flagged(worker, workspace):
    _policy(workspace, egress={"allowed_domains": [PARTNER], "mode": "flag"})
    _, people = workspace
    action = propose(worker, people["alex"], _mail("dana@northwind.example", "kim@partner.example",
                                                   "lee@eu.partner.example", "eve@elsewhere.example"))
    assert _kinds(action) == [("outside_recipient", "eve@elsewhere.example")]
    assert not action.risk_flags[0].get("blocked")


@pytest.mark.parametrize(("tool", "arguments"), [
    ("gmail_send", _mail("dana@northwind.example", "eve@elsewhere.example")),
    ("calendar_create_event", {"summary": "Q3 review", "start": "2030-03-04T10:00:00", "end": "2030-03-04T11:00:00",
                               "attendees": ["dana@northwind.example", "eve@elsewhere.example"]}),
])
def test_block_mode_refuses_outside_recipients_and_invitees_before_anyone_is_asked(worker, workspace, tool, arguments):
    _policy(workspace, egress={"allowed_domains": [PARTNER], "mode": "block"})
    _, people = workspace
    worker.push(tool_calls((tool, arguments)), text("I could not: the policy blocks elsewhere.example."))
    job_id = start_job(people["alex"], "Invite Eve to the Q3 review")
    job = wait_status(job_id, "completed")
    assert actions(job_id) == []  # nothing awaits an approval, nothing ran
    assert "action_blocked" in kinds(job_id) and "approval_requested" not in kinds(job_id)
    told = next(m for m in worker.requests[1]["messages"] if m["role"] == "tool")["content"]
    assert told.startswith("error (blocked): refused by the organisation's egress policy")
    assert "eve@elsewhere.example" in told
    assert job.result == "I could not: the policy blocks elsewhere.example."


def test_block_mode_lets_inside_and_allowed_recipients_through_to_a_person(worker, workspace):
    _policy(workspace, egress={"allowed_domains": [PARTNER], "mode": "block"})
    _, people = workspace
    action = propose(worker, people["alex"], _mail("dana@northwind.example", "kim@partner.example"))
    assert action.status == "pending" and action.risk_flags == []


def test_auto_approval_never_applies_to_a_flagged_action(worker, workspace):
    _policy(workspace, auto_approve=["gmail_send"])
    _, people = workspace
    flagged = propose(worker, people["alex"], _mail("eve@elsewhere.example"))
    assert flagged.status == "pending" and flagged.decided_by is None
    assert _kinds(flagged) == [("outside_recipient", "eve@elsewhere.example")]

    worker.push(tool_calls(("gmail_send", _mail("dana@northwind.example"))))
    job_id = start_job(people["alex"], "Email Dana about the Q3 review")
    wait_status(job_id, "completed")
    (clean,) = actions(job_id)
    assert clean.risk_flags == [] and clean.decided_by == "policy" and clean.status == "succeeded"


def test_links_to_domains_the_requester_never_named_are_flagged(worker, workspace):
    _, people = workspace
    body = ("Agenda: https://wiki.northwind.example/q3 and the deck at https://docs.acme-partner.example/deck. "
            "Also sign in at https://northwind-login.evil.example/sso")
    worker.push(tool_calls(("gmail_send", _mail("dana@northwind.example", body=body))))
    worker.set_default(text("Sent."))
    job_id = start_job(people["alex"], "Email Dana the Q3 agenda; the deck is on acme-partner.example")
    action = pending(job_id)
    links = [f for f in action.risk_flags if f["kind"] == "link"]
    # wiki.northwind.example: the requester's own address names northwind.example; acme-partner.example:
    # named in the request; evil.example: only in what the model wrote.
    assert [(f["value"], f["domain"]) for f in links] == [("https://northwind-login.evil.example/sso",
                                                            "northwind-login.evil.example")]


# ---------------------------------------------------------------- Slack Connect channels
@pytest.fixture
def slack(workspace, monkeypatch):
    """The organisation's chat tools on the Slack connector, against a local Slack whose #deals is
    shared with Contoso and #partners with a team on the partner's domain."""
    with FakeSlack() as fake:
        fake.contoso = fake.add_team("Contoso", "contoso", "contoso.example, contoso-group.example")
        fake.partner = fake.add_team("Partner Co", "partnerco", PARTNER)
        fake.add_channel("general")
        fake.add_channel("deals", shared_with=[fake.contoso])
        fake.add_channel("partners", shared_with=[fake.partner])
        monkeypatch.setenv("WORKMODE_SLACK_BOT_TOKEN", BOT_TOKEN)
        monkeypatch.setenv("WORKMODE_SLACK_API_URL", fake.url)
        reset_settings()
        _policy(workspace, connectors={"chat": "slack"})
        yield fake


def _post(channel: str) -> dict:
    return {"channel": channel, "text": "The Q3 numbers are final."}


def test_a_post_in_a_channel_shared_outside_the_list_is_flagged(worker, workspace, slack):
    _policy(workspace, egress={"allowed_domains": [PARTNER], "mode": "flag"})
    _, people = workspace
    action = propose(worker, people["alex"], _post("#deals"), tool="slack_post", prompt="Post the Q3 note in #deals")
    (flag,) = action.risk_flags
    assert flag["kind"] == "outside_channel" and not flag.get("blocked")
    assert flag["value"] == f"Contoso ({slack.contoso})"
    assert flag["domains"] == ["contoso.example", "contoso-group.example", "contoso.slack.com"]
    assert [t["team"] for t in slack.called("team.info")] == [slack.contoso]
    assert action.status == "pending" and slack.posted() == []


def test_a_channel_shared_with_an_allowed_domain_or_not_shared_is_not_flagged(worker, workspace, slack):
    _policy(workspace, egress={"allowed_domains": [PARTNER], "mode": "block"})
    _, people = workspace
    shared = propose(worker, people["alex"], _post("#partners"), tool="slack_post", prompt="Post it in #partners")
    inside = propose(worker, people["alex"], _post("#general"), tool="slack_post", prompt="Post it in #general")
    assert shared.risk_flags == [] and inside.risk_flags == []
    assert shared.status == inside.status == "pending"


def test_a_team_slack_will_not_describe_or_an_invited_one_is_flagged(worker, workspace, slack):
    with slack.lock:
        slack.add_channel("vendors", shared_with=["T0UNKNOWN1"], pending_with=[slack.contoso])
    _, people = workspace
    action = propose(worker, people["alex"], _post("#vendors"), tool="slack_post", prompt="Post it in #vendors")
    assert sorted((f["kind"], f["value"]) for f in action.risk_flags) == [
        ("outside_channel", f"Contoso ({slack.contoso})"),
        ("outside_channel", "Slack team T0UNKNOWN1 (Slack does not say whose)")]


def test_block_mode_refuses_a_post_in_a_channel_shared_outside_the_list(worker, workspace, slack):
    _policy(workspace, egress={"allowed_domains": [PARTNER], "mode": "block"})
    _, people = workspace
    worker.push(tool_calls(("slack_post", _post("#deals"))), text("I could not: #deals is shared with Contoso."))
    job_id = start_job(people["alex"], "Post the Q3 note in #deals")
    wait_status(job_id, "completed")
    assert actions(job_id) == [] and slack.posted() == []
    assert "action_blocked" in kinds(job_id) and "approval_requested" not in kinds(job_id)
    told = next(m for m in worker.requests[1]["messages"] if m["role"] == "tool")["content"]
    assert told.startswith("error (blocked): refused by the organisation's egress policy")
    assert "Contoso" in told and "contoso.example" in told


def test_a_channel_nobody_could_check_is_flagged_and_never_auto_approved(worker, workspace, slack):
    _policy(workspace, auto_approve=["slack_post"], egress={"allowed_domains": [PARTNER], "mode": "block"})
    _, people = workspace
    slack.fail("conversations.info", status=500, times=10)
    action = propose(worker, people["alex"], _post("#deals"), tool="slack_post", prompt="Post it in #deals")
    (flag,) = action.risk_flags
    assert flag["kind"] == "channel_unchecked" and not flag.get("blocked")
    assert "conversations.info" in flag["value"]
    assert action.status == "pending" and action.decided_by is None and slack.posted() == []
