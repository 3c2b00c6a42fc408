"""Jira, read side: jira_search (JQL, paged) and jira_get_issue (fields, comments, transitions).

Cloud's search (`/search/jql`) pages with tokens and gives no total, so `start_at` is reached by
walking the token pages; Data Center's `/search` takes `startAt` and gives the total. Text that
others wrote (summaries, descriptions, comments) is returned as untrusted content.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo

from connectors.base import ToolContext, ToolError, ToolResult
from connectors.jira.client import Jira, connect
from connectors.shapes.tickets import GetArgs, SearchArgs

FIELDS = ["summary", "status", "issuetype", "priority", "assignee", "reporter", "labels", "created", "updated",
          "project"]
CLOUD_PAGE = 100  # the most /search/jql returns per page with these fields
COMMENT_PAGE = 50
MAX_COMMENTS = 200
CLOUD_BLANK_JQL = "created >= -3650d ORDER BY created DESC"  # Cloud refuses unbounded JQL


def person(user: Optional[dict]) -> Optional[str]:
    if not user:
        return None
    return user.get("emailAddress") or user.get("displayName") or user.get("accountId") or user.get("name")


def is_me(ctx: ToolContext, user: Optional[dict]) -> bool:
    if not user:
        return False
    return (user.get("emailAddress") or "").lower() == ctx.principal_email.lower()


def local_time(value: Optional[str], tz: str) -> Optional[str]:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).astimezone(ZoneInfo(tz)).isoformat(timespec="minutes")
    except (ValueError, KeyError):
        return value


def issue_summary(raw: dict, tz: str) -> dict:
    f = raw.get("fields") or {}
    name = lambda v: (v or {}).get("name")  # noqa: E731  (a local one-liner)
    return {"key": raw["key"], "summary": f.get("summary"), "status": name(f.get("status")),
            "type": name(f.get("issuetype")), "priority": name(f.get("priority")),
            "assignee": person(f.get("assignee")), "reporter": person(f.get("reporter")),
            "labels": list(f.get("labels") or []), "created": local_time(f.get("created"), tz),
            "updated": local_time(f.get("updated"), tz)}


def search_page(jira: Jira, jql: str, start: int, size: int, fields: list[str],
                properties: Optional[str] = None) -> dict:
    """One page of results: {"issues": raw issues, "total": int or None, "has_more": bool}.
    `properties`: issue property keys to return with each issue (comma-separated)."""
    if not jira.cloud:
        r = jira.api.search_issues(jql or "ORDER BY created DESC", startAt=start, maxResults=size, fields=fields,
                                   properties=properties, json_result=True)
        issues, total = r.get("issues", []), r.get("total")
        return {"issues": issues, "total": total, "has_more": start + len(issues) < (total or 0)}
    window: list[dict] = []
    seen, token, last = 0, None, False
    while True:
        r = jira.api.enhanced_search_issues(jql or CLOUD_BLANK_JQL, nextPageToken=token, maxResults=CLOUD_PAGE,
                                            fields=list(fields), properties=properties, json_result=True)
        for issue in r.get("issues", []):
            if start <= seen < start + size:
                window.append(issue)
            seen += 1
        token = r.get("nextPageToken")
        last = bool(r.get("isLast", not token)) or not token
        if last or seen >= start + size:
            break
    return {"issues": window, "total": seen if last else None, "has_more": not last or seen > start + size}


def jira_search(ctx: ToolContext, args: SearchArgs) -> ToolResult:
    """Search issues with JQL. Returns issue summaries and the total count (page with start_at)."""
    with connect(ctx) as jira:
        page = search_page(jira, args.jql.strip(), args.start_at, args.max_results, FIELDS)
    data = {"start_at": args.start_at, "max_results": args.max_results, "total": page["total"],
            "has_more": page["has_more"], "issues": [issue_summary(i, ctx.time_zone) for i in page["issues"]]}
    if page["has_more"]:
        data["next_start_at"] = args.start_at + len(page["issues"])
    others = any(not is_me(ctx, (i.get("fields") or {}).get("reporter")) for i in page["issues"])
    return ToolResult(data, untrusted=others, source="jira_search" if others else None)


def all_comments(jira: Jira, key: str, *, expand: Optional[str] = None, limit: int = MAX_COMMENTS) -> list[dict]:
    """The issue's comments, oldest first, page by page (at most `limit`)."""
    out: list[dict] = []
    while len(out) < limit:
        page = jira.api.comments(key, expand=expand, start_at=len(out), max_results=COMMENT_PAGE, order_by="created")
        out.extend(c.raw for c in page)
        if len(page) < COMMENT_PAGE:
            break
    return out


def issue_key(value: str) -> str:
    key = value.strip().upper()
    if not key or any(ch.isspace() or ch in "/?#" for ch in key):
        raise ToolError(f"{value!r} is not an issue key (like OPS-12)")
    return key


def jira_get_issue(ctx: ToolContext, args: GetArgs) -> ToolResult:
    """Read one issue: fields, description, comments (oldest first) and the transitions available now."""
    key = issue_key(args.key)
    with connect(ctx) as jira:
        raw = jira.api.issue(key, fields=",".join([*FIELDS, "description"])).raw
        comments = all_comments(jira, key)
        transitions = jira.api.transitions(key)
    f: dict[str, Any] = raw.get("fields") or {}
    data = {**issue_summary(raw, ctx.time_zone), "project": (f.get("project") or {}).get("key"),
            "description": f.get("description") or "",
            "comments": [{"id": str(c["id"]), "author": person(c.get("author")), "body": c.get("body") or "",
                          "created": local_time(c.get("created"), ctx.time_zone)} for c in comments],
            "transitions": [{"name": t["name"], "to": (t.get("to") or {}).get("name")} for t in transitions]}
    if len(comments) >= MAX_COMMENTS:
        data["comments_note"] = f"only the first {MAX_COMMENTS} comments are shown"
    others = not is_me(ctx, f.get("reporter")) or any(not is_me(ctx, c.get("author")) for c in comments)
    return ToolResult(data, untrusted=others, source=f"jira_get_issue:{raw['key']}" if others else None)
