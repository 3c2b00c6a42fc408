"""After a crash, did a Jira write happen? Each returns the write's result if it did, None if it
did not, and raises CannotVerify when Jira cannot say.

Every answer rests on reads that are current the moment a write returns (read-after-write on
Jira Cloud and Data Center alike), never on the search index alone, which lags behind writes:
- create: the issue's own marker, found by key (created.py explains how);
- comment: the issue's comments (read from the issue, not from search) and each of our comments'
  property `workmode.action` (POST /comment/list?expand=properties on Cloud; GET
  /comment/{id}/properties/{key} on Data Center);
- transition: the issue's property `workmode.transition` and status, read from the issue;
- assign: the issue's assignee, read from the issue.
"""
from __future__ import annotations

from typing import Optional

from jira import JIRAError

from connectors.base import CannotVerify, NotFound, ToolContext
from connectors.jira.client import Jira, connect
from connectors.jira.created import find_created
from connectors.jira.read import all_comments, issue_key
from connectors.jira.write import COMMENT_PROPERTY, TRANSITION_PROPERTY, find_user, user_ref
from connectors.shapes.tickets import AssignArgs, CommentArgs, CreateArgs, TransitionArgs

MAX_SCAN = 1000  # comments looked through for the marker (also the most POST /comment/list takes)


def verify_create(ctx: ToolContext, args: CreateArgs, action_id: str) -> Optional[dict]:
    """The issue carrying the action's marker (property `workmode.action`, label `workmode-<id>`)."""
    with connect(ctx) as jira:
        return find_created(jira, args.project, action_id)


def verify_comment(ctx: ToolContext, args: CommentArgs, action_id: str) -> Optional[dict]:
    """A comment of ours on the issue whose property `workmode.action` names the action."""
    key = issue_key(args.key)
    try:
        with connect(ctx) as jira:
            comments = all_comments(jira, key, limit=MAX_SCAN)
            me = jira.api.myself()
            ours = [c for c in comments if _same_user(jira, c.get("author"), me)]
            found = _marked_comment(jira, ours, action_id)
    except NotFound:
        return None  # no issue, so no comment on it
    if found is not None:
        return {"key": key, "comment_id": found}
    if len(comments) >= MAX_SCAN:
        raise CannotVerify(f"{key} has more than {MAX_SCAN} comments; check by hand")
    return None


def _same_user(jira: Jira, author: Optional[dict], me: dict) -> bool:
    ref = "accountId" if jira.cloud else "name"
    return author is not None and author.get(ref) == me.get(ref)


def _marked_comment(jira: Jira, comments: list[dict], action_id: str) -> Optional[str]:
    """The id of the comment whose property `workmode.action` names the action. Cloud reads the
    properties of up to 1000 comments at once (POST /rest/api/3/comment/list, `expand=properties`);
    Data Center reads the one property of each comment (GET /rest/api/2/comment/{id}/properties/{key})."""
    if not comments:
        return None
    if jira.cloud:
        page = jira.rest("POST", "comment/list", {"ids": [int(c["id"]) for c in comments]},
                         params={"expand": "properties"}) or {}
        for c in page.get("values") or []:
            for prop in c.get("properties") or []:
                if prop.get("key") == COMMENT_PROPERTY and (prop.get("value") or {}).get("action_id") == action_id:
                    return str(c["id"])
        return None
    for c in comments:
        try:
            prop = jira.rest("GET", f"comment/{c['id']}/properties/{COMMENT_PROPERTY}") or {}
        except JIRAError as exc:
            if exc.status_code == 404:  # not one of ours
                continue
            raise
        if (prop.get("value") or {}).get("action_id") == action_id:
            return str(c["id"])
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
