"""Gmail connector, write side: send (new and reply), draft, labels, archive — each verified, also
after a simulated crash, through the real reconciler."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from connectors.base import ToolError, args_hash
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Action, ActionStatus, Job, utcnow
from tests.fakes.google_api import ALEX, DANA, LEE, mail


def _sent(fake, box: str, mid: str):
    return fake.message(box, mid).parsed


def test_send_new_message_carries_the_action_marker(google_world):
    fake = google_world.fake
    args = {"to": [DANA], "cc": [LEE], "bcc": ["boss@acme.example"], "subject": "Q3 numbers", "body": "Attached soon."}
    result = google_world.call("gmail_send", args, action_id="a1b2c3")
    assert result.data["labels"] == ["SENT"]
    sent = _sent(fake, ALEX, result.data["message_id"])
    assert result.data["rfc822_message_id"] == sent["Message-ID"]  # Gmail's own, not the one we wrote
    assert sent["X-Workmode-Action"] == "a1b2c3" and sent["From"] == ALEX
    assert sent["To"] == DANA and sent["Cc"] == LEE and sent["Bcc"] == "boss@acme.example"
    assert sent.get_content().strip() == "Attached soon."
    inbox = [m for m in fake.mailboxes[DANA].messages.values() if "INBOX" in m.labels]
    assert [m.parsed["Subject"] for m in inbox] == ["Q3 numbers"] and "Bcc" not in inbox[0].parsed


def test_reply_threads_with_in_reply_to_and_references(google_world):
    fake = google_world.fake
    first = fake.deliver(ALEX, mail(DANA, ALEX, "Offsite", "Where?", Message_ID="<root@acme.example>"))
    second = mail(DANA, ALEX, "Re: Offsite", "Any news?", Message_ID="<second@acme.example>",
                  In_Reply_To="<root@acme.example>", References="<root@acme.example>")
    fake.deliver(ALEX, second)
    result = google_world.call("gmail_send", {"to": [DANA], "subject": "Offsite", "body": "Lisbon.",
                                              "thread_id": first.thread_id}, action_id="r1")
    assert result.data["thread_id"] == first.thread_id  # the fake keeps it there only if References say so
    reply = _sent(fake, ALEX, result.data["message_id"])
    assert reply["Subject"] == "Re: Offsite"
    assert reply["In-Reply-To"] == "<second@acme.example>"
    assert reply["References"].split() == ["<root@acme.example>", "<second@acme.example>"]
    sends = list(fake.calls("POST", "/messages/send"))
    assert sends[-1]["body"]["threadId"] == first.thread_id


def test_draft_is_saved_not_sent_and_verifiable(google_world):
    fake = google_world.fake
    args = {"to": [DANA], "subject": "Draft idea", "body": "Not yet."}
    result = google_world.call("gmail_create_draft", args, action_id="d1")
    assert result.data["draft_id"] and result.data["labels"] == ["DRAFT"]
    assert not list(fake.mailboxes[DANA].messages.values())
    assert google_world.verify("gmail_create_draft", args, "d1")["draft_id"] == result.data["draft_id"]
    assert google_world.verify("gmail_create_draft", args, "other") is None


def test_verify_finds_a_send_the_engine_never_recorded(google_world):
    """A worker sent the mail and died before recording it: the reconciler asks the connector."""
    fake = google_world.fake
    args = {"to": [DANA], "subject": "Invoice", "body": "Paid."}
    with Session(get_engine()) as s:
        job = Job(org_id=google_world.org_id, principal_id=google_world.principal_id, prompt="pay",
                  status="running", lease_until=utcnow() + timedelta(hours=1))
        s.add(job)
        s.flush()
        canonical = google_world.tool("gmail_send").parse(args).model_dump(mode="json")
        action = Action(job_id=job.id, tool_call_id="call00001", connector="gmail", tool="gmail_send",
                        arguments=canonical, args_hash=args_hash(canonical), approved_hash=args_hash(canonical),
                        status=ActionStatus.executing, attempts=1, executing_since=utcnow() - timedelta(hours=1))
        s.add(action)
        s.commit()
        action_id = action.id

    sent = google_world.call("gmail_send", args, action_id=action_id)  # the effect; then the "crash"
    fake.mailboxes[ALEX].unindexed.add(sent.data["message_id"])  # search has not indexed it yet
    assert reconcile(executing_stale_s=0).get("executing_succeeded") == 1
    with Session(get_engine()) as s:
        done = s.get(Action, action_id)
        assert done.status == ActionStatus.succeeded
        assert done.result["message_id"] == sent.data["message_id"]
    assert len(fake.calls("POST", "/messages/send")) == 1  # found, not sent again


def test_verify_says_absent_when_nothing_was_sent(google_world):
    args = {"to": [DANA], "subject": "Never sent", "body": "x"}
    google_world.call("gmail_send", args, action_id="someone-else")
    assert google_world.verify("gmail_send", args, "not-sent") is None


def test_modify_labels_creates_user_labels_and_verifies(google_world):
    fake = google_world.fake
    m = fake.deliver(ALEX, mail(DANA, ALEX, "Contract"))
    args = {"thread_id": m.thread_id, "add": ["Follow up", "important"], "remove": ["UNREAD"]}
    assert google_world.verify("gmail_modify_labels", args, "l1") is None
    result = google_world.call("gmail_modify_labels", args, action_id="l1")
    assert result.data["created_labels"] == ["Follow up"]
    assert set(result.data["labels"]) == {"INBOX", "IMPORTANT", "Follow up"}
    assert "UNREAD" not in fake.message(ALEX, m.id).labels
    assert google_world.verify("gmail_modify_labels", args, "l1")["labels"] == result.data["labels"]
    # The second time the label exists: no second label is created.
    google_world.call("gmail_modify_labels", {"thread_id": m.thread_id, "add": ["follow up"]}, action_id="l2")
    assert len([lab for lab in fake.mailboxes[ALEX].labels.values() if lab["name"] == "Follow up"]) == 1


def test_modify_labels_refuses_fixed_and_unknown_labels(google_world):
    m = google_world.fake.deliver(ALEX, mail(DANA, ALEX, "x"))
    with pytest.raises(ToolError, match="SENT cannot"):
        google_world.call("gmail_modify_labels", {"thread_id": m.thread_id, "add": ["SENT"]})
    with pytest.raises(ToolError, match="no label 'Nope'"):
        google_world.call("gmail_modify_labels", {"thread_id": m.thread_id, "remove": ["Nope"]})


def test_archive_removes_inbox_from_the_whole_thread(google_world):
    fake = google_world.fake
    m1 = fake.deliver(ALEX, mail(DANA, ALEX, "Status", Message_ID="<s1@acme.example>"))
    m2 = fake.deliver(ALEX, mail(DANA, ALEX, "Re: Status", In_Reply_To="<s1@acme.example>",
                                 References="<s1@acme.example>"))
    assert m1.thread_id == m2.thread_id
    args = {"thread_id": m1.thread_id}
    assert google_world.verify("gmail_archive", args, "x") is None
    result = google_world.call("gmail_archive", args, action_id="x")
    assert result.data["archived"] and "INBOX" not in result.data["labels"]
    assert all("INBOX" not in fake.message(ALEX, m.id).labels for m in (m1, m2))
    assert google_world.verify("gmail_archive", args, "x")["archived"] is True


def test_previews_match_the_sandbox(google_world):
    from connectors.sandbox.tools import connector as sandbox

    args = {"to": [DANA], "subject": "Hi", "body": "b", "thread_id": "t1"}
    mine = google_world.tool("gmail_send")
    assert mine.preview(mine.parse(args)).as_dict() == sandbox.tools["gmail_send"].preview(
        sandbox.tools["gmail_send"].parse(args)).as_dict()
    assert mine.recipient_fields == ("to", "cc", "bcc")
