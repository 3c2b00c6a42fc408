"""Sandbox tracker (JQL subset, issue writes, workflow) and chat (history, threads, posts, DMs)."""
from __future__ import annotations

import pytest
from sqlmodel import select

from connectors.base import NotFound, NotPermitted, ToolError
from connectors.sandbox.models import SandboxEffect, SandboxIssue
from connectors.sandbox.seed import DEMO_EMAIL
from tests.support.sandbox import DANA, TOOLS

SAM = "sam@northwind.example"


def jql(w, query, **kw):
    return w.call("jira_search", {"jql": query, **kw}).data


def test_jql_subset(world):
    everything = jql(world, "project = OPS", max_results=100)
    assert everything["total"] == 20
    todo = jql(world, 'project = OPS AND status = "To Do"', max_results=100)["issues"]
    assert todo and all(i["status"] == "To Do" for i in todo)
    active = jql(world, 'status in ("In Progress", "In Review")', max_results=100)["issues"]
    assert {i["status"] for i in active} == {"In Progress", "In Review"}
    assert all(i["status"] != "Done" for i in jql(world, "status not in (Done)", max_results=100)["issues"])
    mine = jql(world, "assignee = currentUser()")["issues"]
    assert mine and all(i["assignee"] == DEMO_EMAIL for i in mine)
    assert all(i["assignee"] == SAM for i in jql(world, f'assignee = "{SAM}"')["issues"])
    unassigned = jql(world, "assignee is EMPTY", max_results=100)["issues"]
    assert unassigned and all(i["assignee"] is None for i in unassigned)
    assert [i["key"] for i in jql(world, 'text ~ "retries exhausted"')["issues"]] == ["OPS-19"]
    assert "OPS-19" in [i["key"] for i in jql(world, 'text ~ "schema change"')["issues"]]  # comment text
    assert {i["key"] for i in jql(world, "labels = globex")["issues"]} == {"OPS-19", "OPS-20"}
    by_prio = jql(world, "project = OPS ORDER BY priority DESC", max_results=100)["issues"]
    assert by_prio[0]["priority"] == "Highest" and by_prio[-1]["priority"] == "Lowest"
    oldest = jql(world, "project = OPS ORDER BY created ASC")["issues"][0]
    assert oldest["key"] == "OPS-1"
    either = jql(world, "labels = sso OR labels = billing")["issues"]
    assert {i["key"] for i in either} == {"OPS-9", "OPS-10"}
    assert jql(world, "updated >= -1d", max_results=100)["total"] >= 1
    for bad in ("project = ", "nonsense = 1", "status = Done ORDER created", "priority = Urgent AND (x)"):
        with pytest.raises(ToolError):
            jql(world, bad)


def test_jql_pagination(world):
    first = jql(world, "project = OPS ORDER BY created ASC", max_results=8)
    second = jql(world, "project = OPS ORDER BY created ASC", max_results=8, start_at=8)
    third = jql(world, "project = OPS ORDER BY created ASC", max_results=8, start_at=16)
    keys = [i["key"] for page in (first, second, third) for i in page["issues"]]
    assert first["total"] == 20 and len(keys) == 20 and len(set(keys)) == 20


def test_get_issue_untrusted_with_comments(world):
    result = world.call("jira_get_issue", {"key": "ops-19"})
    assert result.untrusted and result.source == "jira_get_issue:OPS-19"
    assert len(result.data["comments"]) == 2
    assert {t["name"] for t in result.data["transitions"]} == {"Submit for Review", "Stop Progress"}
    own = world.call("jira_get_issue", {"key": "OPS-15"})  # reported by Alex, no comments
    assert not own.untrusted and own.source is None
    with pytest.raises(NotFound):
        world.call("jira_get_issue", {"key": "OPS-999"})


def test_issue_writes(world):
    args = {"project": "OPS", "summary": "Q3 review prep", "description": "Numbers, slides, highlights",
            "assignee": DEMO_EMAIL, "labels": ["q3"], "priority": "High"}
    preview = TOOLS["jira_create_issue"].preview(TOOLS["jira_create_issue"].parse(args))
    assert preview.kind == "ticket" and preview.fields["Summary"] == "Q3 review prep"
    assert preview.fields["Priority"] == "High" and preview.body == "Numbers, slides, highlights"
    _, created = world.write("jira_create_issue", args)
    assert created["key"] == "OPS-21"
    _, comment = world.write("jira_comment", {"key": "OPS-21", "body": "Slides drafted."})
    assert comment["key"] == "OPS-21"
    _, moved = world.write("jira_transition", {"key": "OPS-21", "transition": "Start Progress"})
    assert moved == {"key": "OPS-21", "from": "To Do", "to": "In Progress"}
    _, assigned = world.write("jira_assign", {"key": "OPS-21", "assignee": DANA})
    assert assigned["assignee"] == DANA
    issue = world.call("jira_get_issue", {"key": "OPS-21"}).data
    assert issue["status"] == "In Progress" and issue["assignee"] == DANA and len(issue["comments"]) == 1
    row = world.session.exec(select(SandboxIssue).where(SandboxIssue.key == "OPS-21")).one()
    assert row.action_id is not None
    assert world.session.exec(select(SandboxEffect).where(SandboxEffect.action_id == row.action_id)).one()
    with pytest.raises(ToolError):
        world.call("jira_assign", {"key": "OPS-21", "assignee": "ops@globex.example"})


def test_create_takes_the_sites_issue_types_and_priorities_by_name(world):
    """Issue type and priority are free text (each Jira project has its own); the sandbox site
    offers Jira's defaults and refuses anything else, naming what it offers, with nothing made."""
    base = {"project": "OPS", "summary": "Incident review"}
    with pytest.raises(ToolError) as err:
        world.call("jira_create_issue", {**base, "issue_type": "Incident"})
    assert err.value.message == "'Incident' is not an issue type of OPS; its issue types are: Task, Bug, Story, Epic"
    with pytest.raises(ToolError) as err:
        world.call("jira_create_issue", {**base, "priority": "Urgent"})
    assert err.value.message == ("priority 'Urgent' is not offered in OPS; "
                                 "its priorities are: Highest, High, Medium, Low, Lowest")
    assert jql(world, 'summary ~ "Incident review"')["issues"] == []
    world.session.rollback()  # as the engine does after a refused call: the project row's lock goes
    _, bug = world.write("jira_create_issue", {**base, "issue_type": "bug", "priority": "high"})
    _, plain = world.write("jira_create_issue", base)  # no priority asked for: the site's default
    made = {i["key"]: (i["type"], i["priority"]) for i in jql(world, 'summary ~ "Incident review"')["issues"]}
    assert made == {bug["key"]: ("Bug", "High"), plain["key"]: ("Task", "Medium")}
    preview = TOOLS["jira_create_issue"].preview(TOOLS["jira_create_issue"].parse(base))
    assert preview.fields["Priority"] == "the project's default"


def test_invalid_transition_lists_valid_ones(world):
    with pytest.raises(ToolError) as err:
        world.call("jira_transition", {"key": "OPS-1", "transition": "Start Progress"})
    assert "Reopen" in err.value.message and "Done" in err.value.message
    _, reopened = world.write("jira_transition", {"key": "OPS-1", "transition": "reopen"})
    assert reopened["to"] == "To Do"


# ---------------------------------------------------------------- chat
def test_history_threads_and_users(world):
    history = world.call("slack_history", {"channel": "#support", "limit": 1})
    assert history.untrusted and history.source == "slack_history:C0SUPPORT"
    assert len(history.data["messages"]) == 1 and history.data["has_more"]
    rest = world.call("slack_history", {"channel": "support", "cursor": history.data["next_cursor"]}).data
    parent = next(m for m in rest["messages"] if m.get("reply_count"))
    thread = world.call("slack_thread", {"channel": "C0SUPPORT", "thread_ts": parent["ts"]})
    assert thread.data["messages"][0]["ts"] == parent["ts"] and len(thread.data["messages"]) == 3
    assert thread.source == f"slack_thread:C0SUPPORT:{parent['ts']}"
    assert world.call("slack_find_user", {"email": DANA}).data["id"] == "U0DANA"
    with pytest.raises(NotFound):
        world.call("slack_find_user", {"email": "ops@globex.example"})
    with pytest.raises(NotFound):
        world.call("slack_history", {"channel": "#random"})
    with pytest.raises(NotPermitted):  # a DM between Alex and Dana
        world.call("slack_history", {"channel": "D0ALEXDANA"}, as_=SAM)


def test_post_and_dm(world):
    args = {"channel": "#eng", "text": "Fix for OPS-19 is deploying."}
    preview = TOOLS["slack_post"].preview(TOOLS["slack_post"].parse(args))
    assert preview.kind == "chat" and preview.fields["Channel"] == "#eng" and preview.body == args["text"]
    _, posted = world.write("slack_post", args)
    latest = world.call("slack_history", {"channel": "eng", "limit": 1}).data["messages"][0]
    assert latest["ts"] == posted["ts"] and latest["user"] == DEMO_EMAIL
    parent = world.call("slack_history", {"channel": "support"}).data["messages"][-1]["ts"]
    _, reply = world.write("slack_post", {"channel": "support", "text": "On it", "thread_ts": parent})
    assert reply["thread_ts"] == parent
    _, dm = world.write("slack_dm", {"user": "U0DANA", "text": "Sent you two slots for the Q3 review."})
    assert dm["channel"] == "D0ALEXDANA"
    _, new_dm = world.write("slack_dm", {"user": SAM, "text": "Thanks for OPS-19!"})
    assert new_dm["channel"].startswith("D")
    seen = world.call("slack_history", {"channel": new_dm["channel"]}, as_=SAM).data["messages"]
    assert [m["text"] for m in seen] == ["Thanks for OPS-19!"]
    with pytest.raises(NotFound):
        world.call("slack_post", {"channel": "eng", "text": "x", "thread_ts": "1.000000"})
