"""Sandbox issue tracker, write side: create issues, comment, transition, assign."""
from __future__ import annotations

from typing import Any

from sqlmodel import select

from connectors.base import Connector, NotFound, Preview, ToolContext, ToolError, ToolResult
from connectors.common import principal_by_email
from connectors.sandbox.common import applied, replay, verify_effect
from connectors.sandbox.jql import PRIORITIES
from connectors.sandbox.models import SandboxComment as Comment
from connectors.sandbox.models import SandboxIssue as Issue
from connectors.sandbox.models import SandboxProject as Project
from connectors.sandbox.tickets import get_issue, transitions_of
from connectors.shapes.tickets import AssignArgs, CommentArgs, CreateArgs, TransitionArgs
from services.store.models import utcnow

# The sandbox site's issue type scheme and priority scheme (Jira's defaults), for every project.
ISSUE_TYPES = ("Task", "Bug", "Story", "Epic")
DEFAULT_PRIORITY = "Medium"


def _named(wanted: str, offered: list[str] | tuple[str, ...]) -> str | None:
    """`wanted` as the site spells it (any case), or None."""
    return next((o for o in offered if o.lower() == wanted.strip().lower()), None)


def _person(ctx: ToolContext, email: str, field: str) -> str:
    p = principal_by_email(ctx.session, ctx.org_id, email)
    if p is None:
        raise ToolError(f"{field}: {email!r} is not a user of this Jira site (use a colleague's email)")
    return p.email


def jira_create_issue(ctx: ToolContext, args: CreateArgs) -> ToolResult:
    """Create an issue in a project; you are the reporter. Returns its key."""
    if (done := replay(ctx)) is not None:
        return done
    project = ctx.session.exec(select(Project).where(  # lock: issue numbers are handed out in order
        Project.org_id == ctx.org_id, Project.key == args.project.strip().upper()).with_for_update()).first()
    if project is None:
        keys = [p.key for p in ctx.session.exec(select(Project).where(Project.org_id == ctx.org_id))]
        raise NotFound(f"no project {args.project!r}; projects: {', '.join(keys) or 'none'}")
    # The same refusals as the Jira connector's (connectors/jira/screens.py, write.py).
    issue_type = _named(args.issue_type, ISSUE_TYPES)
    if issue_type is None:
        raise ToolError(f"'{args.issue_type}' is not an issue type of {project.key}; its issue types are: "
                        f"{', '.join(ISSUE_TYPES)}")
    priorities = list(reversed(PRIORITIES))  # Highest first, as Jira lists them
    priority = DEFAULT_PRIORITY if args.priority is None else _named(args.priority, priorities)
    if priority is None:
        raise ToolError(f"priority '{args.priority}' is not offered in {project.key}; "
                        f"its priorities are: {', '.join(priorities)}")
    if any(" " in label for label in args.labels):
        raise ToolError("labels cannot contain spaces")
    assignee = _person(ctx, args.assignee, "assignee") if args.assignee else None
    number = project.next_number
    project.next_number += 1
    ctx.session.add(project)
    now = utcnow()
    issue = Issue(org_id=ctx.org_id, project_id=project.id, project_key=project.key, number=number,
                  key=f"{project.key}-{number}", issue_type=issue_type, summary=args.summary,
                  description=args.description, assignee=assignee, reporter=ctx.principal_email,
                  labels=list(dict.fromkeys(args.labels)), priority=priority, created=now, updated=now,
                  action_id=ctx.action_id)
    ctx.session.add(issue)
    return applied(ctx, "jira_create_issue", {"key": issue.key, "status": issue.status})


def jira_comment(ctx: ToolContext, args: CommentArgs) -> ToolResult:
    """Add a comment to an issue, as you."""
    if (done := replay(ctx)) is not None:
        return done
    issue = get_issue(ctx, args.key)
    comment = Comment(org_id=ctx.org_id, issue_id=issue.id, author=ctx.principal_email, body=args.body,
                      action_id=ctx.action_id)
    issue.updated = comment.created
    ctx.session.add_all([comment, issue])
    ctx.session.flush()
    return applied(ctx, "jira_comment", {"key": issue.key, "comment_id": str(comment.id)})


def jira_transition(ctx: ToolContext, args: TransitionArgs) -> ToolResult:
    """Move an issue through the workflow by transition name (To Do → In Progress → In Review → Done; Reopen)."""
    if (done := replay(ctx)) is not None:
        return done
    issue = get_issue(ctx, args.key)
    options = transitions_of(ctx, issue)
    wanted = args.transition.strip().lower()
    chosen = next((t for t in options if t.name.lower() == wanted), None) or next(
        (t for t in options if t.to_status.lower() == wanted), None)
    if chosen is None:
        valid = "; ".join(f"'{t.name}' (→ {t.to_status})" for t in options) or "none"
        raise ToolError(f"'{args.transition}' is not a valid transition for {issue.key} in status "
                        f"'{issue.status}'. Valid transitions: {valid}")
    before = issue.status
    issue.status, issue.updated = chosen.to_status, utcnow()
    ctx.session.add(issue)
    return applied(ctx, "jira_transition", {"key": issue.key, "from": before, "to": issue.status})


def jira_assign(ctx: ToolContext, args: AssignArgs) -> ToolResult:
    """Assign an issue to a colleague (by email), or unassign it with null."""
    if (done := replay(ctx)) is not None:
        return done
    issue = get_issue(ctx, args.key)
    assignee = _person(ctx, args.assignee, "assignee") if args.assignee else None
    issue.assignee, issue.updated = assignee, utcnow()
    ctx.session.add(issue)
    return applied(ctx, "jira_assign", {"key": issue.key, "assignee": assignee})


def _create_preview(a: CreateArgs) -> Preview:
    fields: dict[str, Any] = {"Project": a.project.upper(), "Type": a.issue_type, "Summary": a.summary,
                              "Priority": a.priority or "the project's default",
                              "Assignee": a.assignee or "Unassigned",
                              "Reporter": "me (the requester)"}
    if a.labels:
        fields["Labels"] = list(a.labels)
    return Preview("ticket", f"Create {a.issue_type} in {a.project.upper()}: {a.summary}", fields, a.description)


def register(c: Connector) -> None:
    c.write("jira_create_issue", CreateArgs, preview=_create_preview, verify=verify_effect)(jira_create_issue)
    c.write("jira_comment", CommentArgs, verify=verify_effect, preview=lambda a: Preview(
        "comment", f"Comment on {a.key.upper()}", {"Issue": a.key.upper(), "Author": "me (the requester)"},
        a.body))(jira_comment)
    c.write("jira_transition", TransitionArgs, verify=verify_effect, preview=lambda a: Preview(
        "ticket", f"Transition {a.key.upper()}: {a.transition}",
        {"Issue": a.key.upper(), "Transition": a.transition}))(jira_transition)
    c.write("jira_assign", AssignArgs, verify=verify_effect, preview=lambda a: Preview(
        "ticket", f"Assign {a.key.upper()} to {a.assignee or 'nobody'}",
        {"Issue": a.key.upper(), "Assignee": a.assignee or "Unassigned"}))(jira_assign)
