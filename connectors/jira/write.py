"""Jira, write side: create an issue, comment, transition by name, assign by email.

Each write carries the action's id where Jira keeps it atomically with the change, so `verify`
(verify.py) can tell after a crash whether it happened: an issue property `workmode.action` (and,
when the create screen has Labels, a label `workmode-<action id>`) on created issues, a comment
property `workmode.action`, an issue property `workmode.transition` set by the transition itself.
Assignment is idempotent and verified by reading the assignee.

Create and transition send only the fields their screen has (screens.py): Jira refuses the rest.
"""
from __future__ import annotations

from typing import Any, Optional

from connectors.base import Preview, ToolContext, ToolError, ToolResult
from connectors.jira.client import Jira, connect
from connectors.jira.created import CREATE_PROPERTY, marker_label
from connectors.jira.read import issue_key
from connectors.jira.screens import CreateScreen, create_screen, default_names, transition_fields
from connectors.shapes.tickets import AssignArgs, CommentArgs, CreateArgs, TransitionArgs

COMMENT_PROPERTY = "workmode.action"
TRANSITION_PROPERTY = "workmode.transition"


def find_user(jira: Jira, email: str, field: str = "assignee") -> dict:
    """The Jira user with this email (Cloud: by query, Data Center: by username/email search)."""
    email = email.strip().lower()
    found = jira.api.search_users(query=email, maxResults=20) if jira.cloud else \
        jira.api.search_users(user=email, maxResults=20)
    users = [u.raw for u in found]
    exact = [u for u in users if (u.get("emailAddress") or "").lower() == email]
    if len(exact) == 1:
        return exact[0]
    if not exact and len(users) == 1 and not users[0].get("emailAddress"):
        return users[0]  # Cloud hides emails by the person's privacy setting; the search matched one
    if not users:
        raise ToolError(f"{field}: {email!r} is not a user of this Jira site (use a colleague's email)")
    raise ToolError(f"{field}: {email!r} matches several Jira users; use their exact email")


def user_ref(jira: Jira, user: Optional[dict]) -> dict:
    """How Jira wants a user in a request body: accountId (Cloud) or name (Data Center)."""
    if jira.cloud:
        return {"accountId": user.get("accountId") if user else None}
    return {"name": user.get("name") if user else None}


def choose_transition(options: list[dict], wanted: str, key: str, status: str) -> dict:
    w = wanted.strip().lower()
    chosen = next((t for t in options if t["name"].lower() == w), None) or next(
        (t for t in options if ((t.get("to") or {}).get("name") or "").lower() == w), None)
    if chosen is None:
        valid = "; ".join(f"'{t['name']}' (→ {(t.get('to') or {}).get('name')})" for t in options) or "none"
        raise ToolError(f"'{wanted}' is not a valid transition for {key} in status '{status}'. "
                        f"Valid transitions: {valid}")
    return chosen


def jira_create_issue(ctx: ToolContext, args: CreateArgs) -> ToolResult:
    """Create an issue in a project; you are the reporter. Returns its key."""
    labels = list(dict.fromkeys(label.strip() for label in args.labels if label.strip()))
    if any(" " in label for label in labels):
        raise ToolError("labels cannot contain spaces")
    project = args.project.strip().upper()
    with connect(ctx) as jira:
        screen = create_screen(jira, project, args.issue_type)
        fields = create_fields(screen, args, labels, ctx.action_id)
        if args.assignee:
            fields["assignee"] = user_ref(jira, find_user(jira, args.assignee))
        body: dict[str, Any] = {"fields": fields}
        if ctx.action_id:  # set with the issue itself: it exists from the issue's first moment
            body["properties"] = [{"key": CREATE_PROPERTY, "value": {"action_id": ctx.action_id}}]
        made = jira.rest("POST", "issue", body)
    return ToolResult({"key": made["key"], "id": str(made["id"])})


def create_fields(screen: CreateScreen, args: CreateArgs, labels: list[str], action_id: str | None) -> dict:
    """The create request's fields: only those on the screen; a clear error for what the screen
    lacks or requires beyond what the tool can give. Priority is sent only when asked for (the
    project's default applies otherwise), and only as one of the values the screen allows."""
    where = f"{screen.project}'s create screen for {screen.issue_type}"
    fields: dict[str, Any] = {"project": {"key": screen.project}, "issuetype": {"id": screen.issue_type_id},
                              "summary": args.summary}
    asked = {"description": bool(args.description), "labels": bool(labels), "assignee": bool(args.assignee),
             "priority": args.priority is not None}
    lacking = [f.title() for f, wanted in asked.items() if wanted and not screen.has(f)]
    if lacking:
        raise ToolError(f"{where} has no {', '.join(lacking)}; leave {'it' if len(lacking) == 1 else 'them'} out")
    if args.description:
        fields["description"] = args.description
    if screen.has("labels"):
        fields["labels"] = labels + ([marker_label(action_id)] if action_id else [])
    if args.priority is not None:
        fields["priority"] = {"name": allowed_priority(screen, args.priority)}
    missing = screen.unfillable(set(fields) | ({"assignee"} if args.assignee else set()))
    if missing:
        raise ToolError(f"{where} requires {', '.join(missing)}, which this tool cannot fill; "
                        "create the issue in Jira")
    return fields


def allowed_priority(screen: CreateScreen, wanted: str) -> str:
    """The priority the screen allows by this name (any case), as Jira spells it; a clear error
    naming the project's priorities otherwise."""
    allowed = screen.allowed("priority")
    if allowed is None:  # the screen lists no values (a restricted field): Jira itself will judge the name
        return wanted.strip()
    chosen = next((p for p in allowed if p.lower() == wanted.strip().lower()), None)
    if chosen is None:
        raise ToolError(f"priority '{wanted}' is not offered in {screen.project}; "
                        f"its priorities are: {', '.join(allowed)}")
    return chosen


def jira_comment(ctx: ToolContext, args: CommentArgs) -> ToolResult:
    """Add a comment to an issue, as you."""
    key = issue_key(args.key)
    body: dict = {"body": args.body}
    if ctx.action_id:
        body["properties"] = [{"key": COMMENT_PROPERTY, "value": {"action_id": ctx.action_id}}]
    with connect(ctx) as jira:
        made = jira.rest("POST", f"issue/{key}/comment", body)
    return ToolResult({"key": key, "comment_id": str(made["id"])})


def jira_transition(ctx: ToolContext, args: TransitionArgs) -> ToolResult:
    """Move an issue through the workflow by transition name (as listed by jira_get_issue)."""
    key = issue_key(args.key)
    with connect(ctx) as jira:
        before = jira.api.issue(key, fields="status").raw["fields"]["status"]["name"]
        options = jira.api.transitions(key, expand="transitions.fields")
        chosen = choose_transition(options, args.transition, key, before)
        to = (chosen.get("to") or {}).get("name")
        screen = transition_fields(chosen, key)
        body: dict = {"transition": {"id": str(chosen["id"])}}
        if screen:
            body["fields"] = screen
        if ctx.action_id:
            body["properties"] = [{"key": TRANSITION_PROPERTY, "value": {
                "action_id": ctx.action_id, "transition": chosen["name"], "from": before, "to": to}}]
        jira.rest("POST", f"issue/{key}/transitions", body)
    result = {"key": key, "from": before, "to": to}
    if screen:
        result["fields"] = default_names(chosen, screen)
    return ToolResult(result)


def jira_assign(ctx: ToolContext, args: AssignArgs) -> ToolResult:
    """Assign an issue to a colleague (by email), or unassign it with null."""
    key = issue_key(args.key)
    with connect(ctx) as jira:
        user = find_user(jira, args.assignee) if args.assignee else None
        jira.rest("PUT", f"issue/{key}/assignee", user_ref(jira, user))
    return ToolResult({"key": key, "assignee": args.assignee.strip().lower() if args.assignee else None})


# ---------------------------------------------------------------- previews (what a person approves)
AS = "the connected Jira account"


def create_preview(a: CreateArgs) -> Preview:
    fields: dict[str, Any] = {"Project": a.project.upper(), "Type": a.issue_type, "Summary": a.summary,
                              "Priority": a.priority or "the project's default",
                              "Assignee": a.assignee or "Unassigned", "Reporter": AS}
    if a.labels:
        fields["Labels"] = list(a.labels)
    return Preview("ticket", f"Create {a.issue_type} in {a.project.upper()}: {a.summary}", fields, a.description)


def comment_preview(a: CommentArgs) -> Preview:
    return Preview("comment", f"Comment on {a.key.upper()}", {"Issue": a.key.upper(), "Author": AS}, a.body)


def transition_preview(a: TransitionArgs) -> Preview:
    return Preview("ticket", f"Transition {a.key.upper()}: {a.transition}",
                   {"Issue": a.key.upper(), "Transition": a.transition})


def assign_preview(a: AssignArgs) -> Preview:
    return Preview("ticket", f"Assign {a.key.upper()} to {a.assignee or 'nobody'}",
                   {"Issue": a.key.upper(), "Assignee": a.assignee or "Unassigned"})
