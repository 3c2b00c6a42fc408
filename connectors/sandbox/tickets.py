"""Sandbox issue tracker, read side: the Jira tools jira_search (JQL subset) and jira_get_issue."""
from __future__ import annotations

from sqlmodel import col, select

from connectors.base import Connector, NotFound, ToolContext, ToolResult
from connectors.common import local_iso
from connectors.sandbox.jql import compile_jql, sort_key
from connectors.sandbox.models import SandboxComment as Comment
from connectors.sandbox.models import SandboxIssue as Issue
from connectors.sandbox.models import SandboxTransition as Transition
from connectors.shapes.tickets import GetArgs, SearchArgs
from services.store.models import utcnow


def issue_summary(i: Issue, tz: str) -> dict:
    return {"key": i.key, "summary": i.summary, "status": i.status, "type": i.issue_type,
            "priority": i.priority, "assignee": i.assignee, "reporter": i.reporter, "labels": i.labels,
            "created": local_iso(i.created, tz), "updated": local_iso(i.updated, tz)}


def get_issue(ctx: ToolContext, key: str) -> Issue:
    issue = ctx.session.exec(
        select(Issue).where(Issue.org_id == ctx.org_id, Issue.key == key.strip().upper())).first()
    if issue is None:
        raise NotFound(f"no issue {key!r}; use jira_search to find issue keys")
    return issue


def comments_of(ctx: ToolContext, issue: Issue) -> list[Comment]:
    return list(ctx.session.exec(select(Comment).where(Comment.issue_id == issue.id)
                                 .order_by(col(Comment.created), col(Comment.id))))


def transitions_of(ctx: ToolContext, issue: Issue) -> list[Transition]:
    return list(ctx.session.exec(select(Transition).where(
        Transition.project_id == issue.project_id, Transition.from_status == issue.status)
        .order_by(col(Transition.id))))


def jira_search(ctx: ToolContext, args: SearchArgs) -> ToolResult:
    """Search issues with JQL. Returns issue summaries and the total count (page with start_at)."""
    match, order = compile_jql(args.jql, ctx.principal_email, utcnow(), ctx.time_zone)
    issues = list(ctx.session.exec(select(Issue).where(Issue.org_id == ctx.org_id)))
    texts: dict[str, str] = {}
    if "~" in args.jql:
        for c in ctx.session.exec(select(Comment).where(Comment.org_id == ctx.org_id)):
            texts[c.issue_id] = texts.get(c.issue_id, "") + " " + c.body
    hits = [i for i in issues if match(i, f"{i.summary} {i.description} {texts.get(i.id, '')}".lower())]
    hits.sort(key=lambda i: i.created, reverse=True)
    for field, desc in reversed(order):
        hits.sort(key=sort_key(field), reverse=desc)
    page = hits[args.start_at:args.start_at + args.max_results]
    data = {"start_at": args.start_at, "max_results": args.max_results, "total": len(hits),
            "issues": [issue_summary(i, ctx.time_zone) for i in page]}
    others = any(i.reporter != ctx.principal_email for i in page)
    return ToolResult(data, untrusted=others, source="jira_search" if others else None)


def jira_get_issue(ctx: ToolContext, args: GetArgs) -> ToolResult:
    """Read one issue: fields, description, comments (oldest first) and the transitions available now."""
    issue = get_issue(ctx, args.key)
    comments = comments_of(ctx, issue)
    data = {**issue_summary(issue, ctx.time_zone), "project": issue.project_key, "description": issue.description,
            "comments": [{"id": str(c.id), "author": c.author, "body": c.body,
                          "created": local_iso(c.created, ctx.time_zone)} for c in comments],
            "transitions": [{"name": t.name, "to": t.to_status} for t in transitions_of(ctx, issue)]}
    others = issue.reporter != ctx.principal_email or any(c.author != ctx.principal_email for c in comments)
    return ToolResult(data, untrusted=others, source=f"jira_get_issue:{issue.key}" if others else None)


def register(c: Connector) -> None:
    c.read("jira_search", SearchArgs)(jira_search)
    c.read("jira_get_issue", GetArgs)(jira_get_issue)
