"""After a crash, did a Jira write happen? Each returns the write's result if it did, None if it
did not, and raises CannotVerify when Jira cannot say."""
from __future__ import annotations

from typing import Optional

from connectors.base import CannotVerify, NotFound, ToolContext
from connectors.jira.client import connect
from connectors.jira.read import all_comments, issue_key, search_page
from connectors.jira.write import COMMENT_PROPERTY, TRANSITION_PROPERTY, find_user, marker_label, user_ref
from connectors.shapes.tickets import AssignArgs, CommentArgs, CreateArgs, TransitionArgs

MAX_SCAN = 1000  # comments looked through for the marker


def verify_create(ctx: ToolContext, args: CreateArgs, action_id: str) -> Optional[dict]:
    """The issue carrying the label `workmode-<action id>`."""
    with connect(ctx) as jira:
        page = search_page(jira, f'labels = "{marker_label(action_id)}" ORDER BY created ASC', 0, 5, ["labels"])
    if not page["issues"]:
        return None
    first = page["issues"][0]
    return {"key": first["key"], "id": str(first["id"])}


def verify_comment(ctx: ToolContext, args: CommentArgs, action_id: str) -> Optional[dict]:
    """A comment on the issue whose property `workmode.action` names the action."""
    key = issue_key(args.key)
    try:
        with connect(ctx) as jira:
            comments = all_comments(jira, key, expand="properties", limit=MAX_SCAN)
    except NotFound:
        return None  # no issue, so no comment on it
    for c in comments:
        if "properties" not in c:
            raise CannotVerify(f"Jira did not return comment properties for {key}; check the comments by hand")
        for prop in c["properties"]:
            if prop.get("key") == COMMENT_PROPERTY and (prop.get("value") or {}).get("action_id") == action_id:
                return {"key": key, "comment_id": str(c["id"])}
    if len(comments) >= MAX_SCAN:
        raise CannotVerify(f"{key} has more than {MAX_SCAN} comments; check by hand")
    return None


def verify_transition(ctx: ToolContext, args: TransitionArgs, action_id: str) -> Optional[dict]:
    """The transition's own marker; else the state: in the wanted status → done; the transition
    still offered → not done; anything else → cannot tell."""
    key = issue_key(args.key)
    wanted = args.transition.strip().lower()
    with connect(ctx) as jira:
        raw = jira.api.issue(key, fields="status", properties=TRANSITION_PROPERTY).raw
        marker = (raw.get("properties") or {}).get(TRANSITION_PROPERTY) or {}
        status = raw["fields"]["status"]["name"]
        if marker.get("action_id") == action_id:
            return {"key": key, "from": marker.get("from"), "to": marker.get("to")}
        if status.lower() == wanted:
            return {"key": key, "to": status}
        options = jira.api.transitions(key)
    if any(t["name"].lower() == wanted or ((t.get("to") or {}).get("name") or "").lower() == wanted
           for t in options):
        return None
    raise CannotVerify(f"{key} is in '{status}' and '{args.transition}' is no longer offered; "
                       "it may have happened (check the issue's history)")


def verify_assign(ctx: ToolContext, args: AssignArgs, action_id: str) -> Optional[dict]:
    """Assignment is idempotent: it happened if the issue has that assignee now."""
    key = issue_key(args.key)
    with connect(ctx) as jira:
        current = jira.api.issue(key, fields="assignee").raw["fields"].get("assignee")
        if args.assignee is None:
            return {"key": key, "assignee": None} if current is None else None
        if current is None:
            return None
        wanted = user_ref(jira, find_user(jira, args.assignee))
    have = user_ref(jira, current)
    return {"key": key, "assignee": args.assignee.strip().lower()} if have == wanted else None
