"""Sandbox world: seed and mail tools."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from connectors.base import NotFound, ToolError
from connectors.sandbox.models import SandboxEvent, SandboxIssue, SandboxMailMessage, SandboxMailThread
from connectors.sandbox.seed import DEMO_EMAIL, INJECTION_TARGET, seed_workspace
from services.store.db import get_engine
from services.store.models import Organisation, Principal, new_id
from tests.support.sandbox import DANA, TOOLS, World


def search(world: World, query: str, **kw) -> list[dict]:
    return world.call("gmail_search", {"query": query, **kw}).data["messages"]


# ---------------------------------------------------------------- seed
def test_seed_is_idempotent_and_sized(world):
    s = world.session
    assert seed_workspace(s).id == world.org.id
    assert s.exec(select(func.count()).select_from(Organisation)).one() == 1
    people = s.exec(select(Principal)).all()
    assert len(people) == 4 and len({p.time_zone for p in people}) == 2
    assert all(p.slack_user_id and p.slack_user_id.startswith("U0") for p in people)
    assert sorted(p.email for p in people if "approver" in p.roles) == [DEMO_EMAIL, DANA]
    assert s.exec(select(func.count()).select_from(SandboxMailMessage)).one() >= 30
    assert 18 <= s.exec(select(func.count()).select_from(SandboxIssue)).one() <= 25
    assert s.exec(select(func.count()).select_from(SandboxEvent)).one() >= 40
    messages = s.exec(select(SandboxMailMessage)).all()
    assert all(m.date <= datetime.now(UTC) for m in messages)
    assert any(INJECTION_TARGET in m.body for m in messages)


# ---------------------------------------------------------------- mail reads
def test_search_query_syntax(world):
    assert {m["from"] for m in search(world, "from:ops@globex.example")} == {"Hannah Lee <ops@globex.example>"}
    unread = search(world, "is:unread in:inbox", max_results=100)
    assert unread and all("UNREAD" in m["labels"] and "INBOX" in m["labels"] for m in unread)
    sent = search(world, "in:sent")
    assert sent and all("SENT" in m["labels"] for m in sent)
    assert all("Newsletters" in m["labels"] for m in search(world, "label:newsletters"))
    assert [m["subject"] for m in search(world, 'subject:"Q3 review"')] == ["Q3 review — 30 min next week?"]
    assert len(search(world, '"retries exhausted"')) >= 1
    recent = search(world, "newer_than:2d", max_results=100)
    old = search(world, "older_than:30d in:anywhere", max_results=100)
    assert recent and old and not {m["id"] for m in recent} & {m["id"] for m in old}
    assert all(m["from"] != "CloudHost Billing <billing@cloudhost.example>"
               for m in search(world, "invoice -from:billing"))
    assert search(world, "to:priya@northwind.example from:me")
    everything = search(world, "in:anywhere", max_results=100)
    dates = [m["date"] for m in everything]
    assert len(everything) >= 30 and dates == sorted(dates, reverse=True)
    with pytest.raises(ToolError):
        search(world, "has:attachment")


def test_search_pagination(world):
    first = world.call("gmail_search", {"query": "in:inbox", "max_results": 5}).data
    assert len(first["messages"]) == 5 and first["next_page_token"]
    second = world.call("gmail_search", {"query": "in:inbox", "max_results": 5,
                                         "page_token": first["next_page_token"]}).data
    assert not {m["id"] for m in first["messages"]} & {m["id"] for m in second["messages"]}


def test_read_thread_is_untrusted_with_source(world):
    hit = search(world, "from:it-support@northwind-helpdesk.example")[0]
    result = world.call("gmail_read_thread", {"thread_id": hit["thread_id"]})
    assert result.untrusted and result.source == f"gmail_read_thread:{hit['thread_id']}"
    assert INJECTION_TARGET in result.data["messages"][0]["body"]
    chain = world.call("gmail_read_thread", {"thread_id": search(world, "subject:Postmortem")[0]["thread_id"]})
    assert len(chain.data["messages"]) == 5
    assert chain.data["messages"][1]["in_reply_to"] == chain.data["messages"][0]["message_id_header"]
    with pytest.raises(NotFound):
        world.call("gmail_read_thread", {"thread_id": "nope"})
    with pytest.raises(NotFound):  # another person's mailbox
        world.call("gmail_read_thread", {"thread_id": hit["thread_id"]}, as_=DANA)


def test_list_labels(world):
    labels = {x["name"]: x for x in world.call("gmail_list_labels", {}).data["labels"]}
    assert labels["INBOX"]["messages_unread"] >= 5 and labels["Newsletters"]["type"] == "user"


# ---------------------------------------------------------------- mail writes
def test_send_reply_in_thread_and_deliver_to_colleague(world):
    thread = search(world, "from:dana subject:Q3")[0]["thread_id"]
    original = world.call("gmail_read_thread", {"thread_id": thread}).data["messages"][-1]
    args = {"to": [DANA], "subject": "Q3 review — 30 min next week?", "body": "Tuesday 15:15 London works?",
            "thread_id": thread}
    preview = TOOLS["gmail_send"].preview(TOOLS["gmail_send"].parse(args))
    assert preview.kind == "email" and preview.fields["To"] == [DANA]
    assert preview.fields["Subject"] == "Re: (the thread's own subject)" and "In reply to" in preview.fields
    assert preview.body == args["body"]
    _, result = world.write("gmail_send", args)
    assert result["thread_id"] == thread
    msgs = world.call("gmail_read_thread", {"thread_id": thread}).data["messages"]
    assert msgs[-1]["in_reply_to"] == original["message_id_header"] and msgs[-1]["subject"].startswith("Re: ")
    inbox = world.call("gmail_search", {"query": "is:unread from:alex"}, as_=DANA).data["messages"]
    assert [m["subject"] for m in inbox] == ["Re: Q3 review — 30 min next week?"]


def test_draft_labels_archive(world):
    _, draft = world.write("gmail_create_draft", {"to": "ops@globex.example", "subject": "Update",
                                                  "body": "Fix is deploying."})
    assert draft["labels"] == ["DRAFT"] and search(world, "in:drafts subject:Update")
    thread = search(world, "from:billing@cloudhost.example is:unread")[0]["thread_id"]
    _, labelled = world.write("gmail_modify_labels", {"thread_id": thread, "add": ["Finance"], "remove": ["unread"]})
    assert "Finance" in labelled["labels"] and "UNREAD" not in labelled["labels"]
    _, archived = world.write("gmail_archive", {"thread_id": thread})
    assert archived["archived"] and "INBOX" not in archived["labels"]
    assert not search(world, "in:inbox from:billing@cloudhost.example newer_than:7d")
    with pytest.raises(ToolError):
        world.call("gmail_modify_labels", {"thread_id": thread, "add": ["SENT"]})
    with pytest.raises(ToolError):
        TOOLS["gmail_send"].parse({"to": [], "subject": "x", "body": "y"})
    with pytest.raises(ToolError):
        world.call("gmail_send", {"to": ["not-an-address"], "subject": "x", "body": "y"})


def test_write_tools_do_not_commit(world):
    tool = TOOLS["gmail_send"]
    with Session(get_engine()) as s:
        tool.run(world.ctx(session=s, action_id=new_id()), tool.parse(
            {"to": [DANA], "subject": "uncommitted", "body": "x"}))
        s.rollback()
    assert not search(world, "subject:uncommitted in:anywhere")


def test_seed_relative_to_now(store):
    now = datetime(2025, 6, 4, 12, 0, tzinfo=UTC)
    w = World(now)
    try:
        dates = [m.date for m in w.session.exec(select(SandboxMailMessage))]
        assert max(dates) <= now and min(dates) >= now - timedelta(days=45)
        threads = w.session.exec(select(SandboxMailThread)).all()
        assert all(t.owner == DEMO_EMAIL for t in threads)
    finally:
        w.close()


def test_sent_mail_carries_the_action_marker_once(world):
    from connectors.sandbox.models import SandboxMessage

    action_id, result = world.write("gmail_send", {"to": [DANA], "subject": "Hi", "body": "x"})
    rows = world.session.exec(select(SandboxMessage).where(SandboxMessage.action_id == action_id)).all()
    assert [r.id for r in rows] == [result["message_id"]] and rows[0].owner == DEMO_EMAIL
