"""A local Jira REST server for tests, speaking the routes the `jira` package calls.

    with FakeJira(cloud=True) as jira:          # or the `fake_jira` / `fake_jira_dc` fixtures
        jira.add_user("dana@northwind.example", "Dana Kim")
        jira.add_issue("OPS", "Printer on fire", reporter="dana@northwind.example")
        ...                                      # point JiraConfig(url=jira.url, ...) at it

Shapes follow the Jira REST API v2 (Cloud and Data Center): serverInfo, field, search (Data
Center: startAt/maxResults/total; Cloud: /search/jql with nextPageToken and isLast, and the old
/search answers 410 as on Cloud today), issue create/get (with `fields` and `properties`
selection), create metadata (`issue/createmeta/{project}/issuetypes[/{id}]`), comments (paged;
properties set on create, read through `comment/{id}/properties` and `POST comment/list`),
transitions (list, `expand=transitions.fields`, do by id with screen fields and properties),
assignee (accountId on Cloud, name on Data Center), issue properties, user search (Cloud `query`,
Data Center `username`). Authentication is checked (Cloud: basic email + API token or a Bearer
OAuth token; Data Center: Bearer PAT).

As strict as the real service where the connector's correctness depends on it:
- Search lags behind writes when `search_lag` is on: JQL sees a snapshot of each issue taken when it
  was last indexed, and writes through the API are indexed only at `catch_up()`. Atlassian: the
  search API "doesn't provide read-after-write consistency by default ... The delay might vary from
  a few seconds to minutes" (https://developer.atlassian.com/cloud/jira/platform/search-and-reconcile/).
  Reads of one issue, its comments and its properties are always current (they are not search).
- Each project has its own issue types (any names: `add_project("SUP", types=("Task", "Incident"))`)
  and its own priority scheme (`priorities=`, `default_priority=`), and create metadata reports
  exactly those. Atlassian, Jira Cloud REST v3 "Get create metadata issue types for a project"
  (GET /rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes, https://developer.atlassian.com/
  cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-createmeta-projectidorkey-
  issuetypes-get): "Returns a page of issue type metadata for a specified project. Use the
  information to populate the requests in Create issue and Create issues"; and "Get create field
  metadata for a project and issue type id" (.../issuetypes/{issueTypeId}): "Returns a page of field
  metadata for a specified project and issuetype id", each field with `required`,
  `hasDefaultValue`, `defaultValue` and `allowedValues`. Data Center 8.4+ has the same two resources
  under /rest/api/2 (paged under "values"); they replace GET /rest/api/2/issue/createmeta, removed
  in Jira 9.0 (https://jira.atlassian.com/browse/JRASERVER-74965).
- Create accepts only what that metadata allows, with Jira's 400 shape: a field off the project's
  create screen for that issue type ({"errorMessages": [], "errors": {"priority": "Field 'priority'
  cannot be set. It is not on the appropriate screen, or unknown."}}), a missing required field, an
  issue type the project does not have ("Specify a valid issue type"), a priority outside the
  project's scheme ("Specify a valid 'id' or 'name' for Priority"). A create without a priority
  gets the scheme's default, as in Jira.
- A transition with a screen takes only that screen's fields and needs its required ones. Jira Cloud
  REST v3 "Transition issue" (POST /rest/api/3/issue/{issueIdOrKey}/transitions): "if the transition
  has a screen, updates the fields from the transition screen ... Get details about the fields using
  Get transitions with the transitions.fields expand", which returns "the fields in the transition
  screen for each transition".
- The comments list takes only `expand=renderedBody` (as documented for GET
  /rest/api/3/issue/{issueIdOrKey}/comment): comment properties come only from
  GET /comment/{commentId}/properties/{propertyKey} and POST /comment/list?expand=properties.
`fail(...)` makes the next matching requests answer an error status (401/403/404/429 with
Retry-After/5xx) or stall past the client's timeout (`apply=True`: after doing the work, as a
request that reached Jira but whose answer was lost).
"""
from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.base import ToolError
from connectors.sandbox.jql import compile_jql, sort_key
from tests.fakes.local_server import LocalServer

EMAIL, API_TOKEN, PAT, OAUTH_TOKEN = "workmode-bot@northwind.example", "api-token-123", "dc-pat-456", "oauth-789"
WORKFLOW = [  # (id, name, from statuses (None: any), to)
    ("11", "Start Progress", ["To Do"], "In Progress"),
    ("21", "Send to Review", ["In Progress"], "In Review"),
    ("31", "Done", ["In Review", "In Progress"], "Done"),
    ("41", "Reopen", ["Done"], "To Do"),
]
STATUS_IDS = {"To Do": "10000", "In Progress": "3", "In Review": "10001", "Done": "10002"}
ISSUE_TYPES, PRIORITIES = ["Task", "Bug", "Story", "Epic"], ["Highest", "High", "Medium", "Low", "Lowest"]
# Issue type ids are the site's (one id per name across projects); other names get the next ids.
ISSUE_TYPE_IDS = {"Task": "10001", "Bug": "10002", "Story": "10003", "Epic": "10004", "Sub-task": "10005"}
FIELD_NAMES = ["summary", "status", "issuetype", "priority", "assignee", "reporter", "labels", "created", "updated",
               "project", "description", "comment", "resolution"]
# A company-managed project's default create screen; `required` as Jira marks them in createmeta.
CREATE_SCREEN = ["project", "issuetype", "summary", "description", "labels", "assignee", "priority", "reporter"]
CREATE_REQUIRED = ["project", "issuetype", "summary"]
SCREEN_NAMES = {"project": "Project", "issuetype": "Issue Type", "summary": "Summary", "description": "Description",
                "labels": "Labels", "assignee": "Assignee", "priority": "Priority", "reporter": "Reporter",
                "resolution": "Resolution", "customfield_10050": "Team"}
RESOLUTIONS = [{"id": "10000", "name": "Done"}, {"id": "10001", "name": "Won't Do"},
               {"id": "10002", "name": "Duplicate"}]


def transition_screens() -> dict[str, dict[str, dict]]:
    """Transition id -> the fields on its screen. "Done" asks for a resolution (Jira's default
    resolution, configurable per site, is offered as the default value)."""
    return {"31": {"resolution": {"required": True, "name": "Resolution", "hasDefaultValue": True,
                                  "defaultValue": dict(RESOLUTIONS[0]), "allowedValues": copy.deepcopy(RESOLUTIONS)}}}


@dataclass
class Fault:
    status: int
    path: str = ""  # substring of the path
    method: Optional[str] = None
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay_s: float = 0.0
    apply: bool = False


@dataclass
class FakeIssue:
    id: str
    key: str
    project_key: str
    number: int
    summary: str
    reporter: str
    description: str = ""
    status: str = "To Do"
    issue_type: str = "Task"
    priority: Optional[str] = "Medium"
    resolution: Optional[str] = None
    assignee: Optional[str] = None
    labels: list[str] = field(default_factory=list)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    comments: list[dict] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, status: int, messages: list[str] | None = None, errors: dict | None = None):
        super().__init__(status)
        self.status, self.body = status, {"errorMessages": messages or [], "errors": errors or {}}


def _csv(value: Any) -> list[str]:
    """A query or body list given as "a,b", ["a,b"] or ["a", "b"]."""
    if not value:
        return []
    return [x for v in ([value] if isinstance(value, str) else value) for x in str(v).split(",") if x]


def _jira_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class FakeJira(LocalServer):
    def __init__(self, *, cloud: bool = True, search_lag: bool = False) -> None:
        self.cloud = cloud
        self.search_lag = search_lag  # writes reach search only at catch_up()
        self.users: dict[str, dict] = {}  # email -> user
        self.projects: dict[str, dict] = {}
        self.issues: dict[str, FakeIssue] = {}
        self.index: dict[str, FakeIssue] = {}  # what search sees: a snapshot per issue
        self.transition_screens = transition_screens()
        self.requests: list[dict] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._ids = 10000
        self.type_ids = dict(ISSUE_TYPE_IDS)  # issue type name -> id, site-wide
        self.priority_ids = {p: str(n) for n, p in enumerate(PRIORITIES, 1)}  # priority name -> id, site-wide
        self.me = self.add_user(EMAIL, "Workmode Bot")
        self.oauth_tokens: dict[str, str] = {OAUTH_TOKEN: EMAIL}  # Cloud Bearer access token -> whose
        self.add_project("OPS", "Operations")

    # ------------------------------------------------------------ create screens and the search index
    def add_project(self, key: str, name: str, *, types: tuple[str, ...] = tuple(ISSUE_TYPES),
                    screen: tuple[str, ...] = tuple(CREATE_SCREEN),
                    required: tuple[str, ...] = tuple(CREATE_REQUIRED),
                    priorities: tuple[str, ...] = tuple(PRIORITIES),
                    default_priority: Optional[str] = "Medium") -> dict:
        """A project whose issue types (any names) all have the create screen `screen` (field ids;
        a custom field is named customfield_NNNNN), of which `required` must be given; its priority
        scheme offers `priorities`, `default_priority` (None: no default) when a create names none."""
        with self.lock:
            for t in types:
                self.type_ids.setdefault(t, str(10001 + len(self.type_ids)))
            for prio in priorities:
                self.priority_ids.setdefault(prio, str(1 + len(self.priority_ids)))
            project = {"id": str(10000 + len(self.projects)), "key": key, "name": name,
                       "types": {t: {"id": self.type_ids[t], "screen": list(screen), "required": list(required)}
                                 for t in types},
                       "priorities": list(priorities), "default_priority": default_priority}
            self.projects[key] = project
            return project

    def set_screen(self, project: str, issue_type: str, screen: list[str],
                   required: Optional[list[str]] = None) -> None:
        with self.lock:
            t = self.projects[project]["types"][issue_type]
            t["screen"], t["required"] = list(screen), list(required if required is not None else CREATE_REQUIRED)

    def catch_up(self) -> None:
        """The search index catches up with every write."""
        with self.lock:
            for issue in self.issues.values():
                self._index(issue)

    def _index(self, issue: FakeIssue) -> None:
        self.index[issue.key] = copy.deepcopy(issue)

    def _written(self, issue: FakeIssue) -> None:
        """A write through the API: search sees it now, or (lagging) only after catch_up()."""
        if not self.search_lag:
            self._index(issue)

    # ------------------------------------------------------------ world
    def add_user(self, email: str, name: str, *, hide_email: bool = False) -> dict:
        with self.lock:
            self._ids += 1
            user = {"displayName": name, "active": True, "emailAddress": email}
            if self.cloud:
                user.update(accountId=f"5b10ac8d82e05b22cc7d{self._ids}", accountType="atlassian")
            else:
                user.update(name=email.split("@")[0], key=f"JIRAUSER{self._ids}")
            if hide_email:
                user["_hidden_email"] = user.pop("emailAddress")
            self.users[email.lower()] = user
            return user

    def add_issue(self, project: str, summary: str, *, reporter: str = EMAIL, age: timedelta = timedelta(0),
                  indexed: bool = True, **fields: Any) -> FakeIssue:
        """An issue someone made; search sees it unless `indexed` is False (made just now, while
        the index lags)."""
        with self.lock:
            issue = self._new_issue(project, summary, reporter=reporter, age=age, **fields)
            if indexed:
                self._index(issue)
            return issue

    def _new_issue(self, project: str, summary: str, *, reporter: str = EMAIL, age: timedelta = timedelta(0),
                   **fields: Any) -> FakeIssue:
        with self.lock:
            p = self.projects[project]
            p["counter"] = number = p.get("counter", 0) + 1  # Jira's per-project counter: keys are never reused
            self._ids += 1
            created = datetime.now(UTC) - age
            issue = FakeIssue(id=str(self._ids), key=f"{project}-{number}", project_key=p["key"], number=number,
                              summary=summary, reporter=reporter.lower(), created=created, updated=created, **fields)
            self.issues[issue.key] = issue
            return issue

    def add_comment(self, key: str, author: str, body: str, properties: Optional[dict] = None) -> dict:
        """A comment that has been there a while (search sees it)."""
        with self.lock:
            c = self._new_comment(key, author, body, properties)
            self._index(self.issues[key])
            return c

    def _new_comment(self, key: str, author: str, body: str, properties: Optional[dict] = None) -> dict:
        self._ids += 1
        c = {"id": str(self._ids), "author": author.lower(), "body": body,
             "created": datetime.now(UTC), "properties": dict(properties or {})}
        self.issues[key].comments.append(c)
        return c

    def fail(self, status: int, path: str = "", *, method: Optional[str] = None, times: int = 1,
             retry_after: Optional[str] = None, body: Any = None, delay_s: float = 0.0,
             headers: Optional[dict[str, str]] = None, apply: bool = False) -> None:
        """The next `times` matching requests answer `status` (after `delay_s`). With `apply`, the
        request is carried out first and its real answer comes only after `delay_s`: a write that
        reached Jira while the client gave up waiting."""
        headers = {**(headers or {}), **({"Retry-After": retry_after} if retry_after is not None else {})}
        with self.lock:
            self.faults.append(Fault(status, path, method, times, headers, body, delay_s, apply))

    def calls(self, method: str, path_part: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["method"] == method and path_part in r["path"]]

    # ------------------------------------------------------------ lifecycle (LocalServer)
    def handler(self):
        return _handler(self)

    # ------------------------------------------------------------ representations
    def user_json(self, email: Optional[str]) -> Optional[dict]:
        if not email:
            return None
        user = self.users.get(email.lower())
        if user is None:
            return {"displayName": email, "emailAddress": email, "active": False}
        return self._public(user)

    def _public(self, user: dict) -> dict:
        ref = f"accountId={user['accountId']}" if self.cloud else f"username={user['name']}"
        return {"self": f"{self.url}/rest/api/2/user?{ref}", **{k: v for k, v in user.items() if not k.startswith("_")}}

    def project_json(self, key: str) -> dict:
        p = self.projects[key]
        return {"id": p["id"], "key": p["key"], "name": p["name"]}

    def comment_json(self, key: str, c: dict, expand: str = "") -> dict:
        out = {"id": c["id"], "self": f"{self.url}/rest/api/2/issue/{key}/comment/{c['id']}",
               "author": self.user_json(c["author"]), "body": c["body"],
               "created": _jira_time(c["created"]), "updated": _jira_time(c["created"])}
        if "properties" in expand:
            out["properties"] = [{"key": k, "value": v} for k, v in c["properties"].items()]
        return out

    def issue_json(self, i: FakeIssue, fields: list[str], properties: list[str] = ()) -> dict:
        every = {
            "summary": i.summary, "description": i.description or None,
            "status": {"name": i.status, "id": STATUS_IDS[i.status]}, "issuetype": {"name": i.issue_type},
            "priority": {"name": i.priority} if i.priority else None, "assignee": self.user_json(i.assignee),
            "reporter": self.user_json(i.reporter), "labels": list(i.labels), "created": _jira_time(i.created),
            "updated": _jira_time(i.updated), "project": self.project_json(i.project_key),
            "comment": {"comments": [self.comment_json(i.key, c) for c in i.comments], "startAt": 0,
                        "maxResults": len(i.comments), "total": len(i.comments)},
            "resolution": {"name": i.resolution} if i.resolution else None,
        }
        wanted = set(FIELD_NAMES) if not fields or "*all" in fields else set(fields)
        out = {"id": i.id, "key": i.key, "self": f"{self.url}/rest/api/2/issue/{i.id}",
               "fields": {k: v for k, v in every.items() if k in wanted}}
        if properties:
            out["properties"] = {k: i.properties[k] for k in properties if k in i.properties}
        return out

    def transitions_for(self, i: FakeIssue, expand: str = "") -> list[dict]:
        out = []
        for tid, name, sources, to in WORKFLOW:
            if sources is not None and i.status not in sources:
                continue
            screen = self.transition_screens.get(tid) or {}
            t: dict[str, Any] = {"id": tid, "name": name, "to": {"name": to, "id": STATUS_IDS[to]},
                                 "hasScreen": bool(screen)}
            if "transitions.fields" in expand:
                t["fields"] = {fid: {"key": fid, "operations": ["set"], "schema": {"type": fid, "system": fid},
                                     "hasDefaultValue": False, **copy.deepcopy(meta)} for fid, meta in screen.items()}
            out.append(t)
        return out

    def screen_fields(self, project: dict, type_name: str) -> list[dict]:
        """createmeta's field list for one project and issue type."""
        t = project["types"][type_name]
        out = []
        for fid in t["screen"]:
            meta: dict[str, Any] = {"fieldId": fid, "key": fid, "name": SCREEN_NAMES.get(fid, fid.title()),
                                    "required": fid in t["required"], "hasDefaultValue": fid == "priority",
                                    "operations": ["set"], "schema": {"type": fid, "system": fid}}
            if fid == "priority":  # the project's priority scheme
                meta["allowedValues"] = [{"name": p, "id": self.priority_ids[p]} for p in project["priorities"]]
                default = project["default_priority"]
                meta["hasDefaultValue"] = default is not None
                if default is not None:
                    meta["defaultValue"] = {"name": default, "id": self.priority_ids[default]}
            if fid == "issuetype":
                meta["allowedValues"] = [{"id": t["id"], "name": type_name, "subtask": False}]
            out.append(meta)
        return out

    # ------------------------------------------------------------ routes
    def route(self, method: str, path: str, q: dict[str, list[str]], body: Any, who: str) -> tuple[int, Any]:
        m = re.fullmatch(r"/rest/api/(?:2|3|latest)/(.+)", path)
        if not m:
            raise ApiError(404, [f"no route {path}"])
        rest = m.group(1)
        one = lambda name, default=None: (q.get(name) or [default])[0]  # noqa: E731  (a one-line query reader local to this handler)
        if rest == "serverInfo" and method == "GET":
            return 200, self.server_info()
        if rest == "myself":
            return 200, self.user_json(who)
        if rest == "field":
            return 200, [{"id": f, "key": f, "name": f.title(), "custom": False, "clauseNames": [f]}
                         for f in FIELD_NAMES]
        if rest == "search":
            if self.cloud:
                raise ApiError(410, ["The requested API has been removed. Please migrate to /rest/api/3/search/jql."])
            params = body if method == "POST" else {k: v[0] if len(v) == 1 else v for k, v in q.items()}
            return 200, self.search_dc(params, who)
        if rest == "search/jql" and self.cloud:
            return 200, self.search_cloud(q if method == "GET" else {k: [v] for k, v in (body or {}).items()}, who)
        if rest == "user/search" and method == "GET":
            return 200, self.user_search(one("query") if self.cloud else one("username"),
                                         int(one("startAt", 0)), int(one("maxResults", 50)))
        if rest == "issue" and method == "POST":
            return 201, self.create_issue(body or {}, who)
        m = re.fullmatch(r"issue/createmeta/([^/]+)/issuetypes(?:/([^/]+))?", rest)
        if m and method == "GET":
            return 200, self.createmeta(m.group(1), m.group(2), int(one("startAt", 0)), int(one("maxResults", 50)))
        if rest == "comment/list" and method == "POST":
            return 200, self.comments_by_id((body or {}).get("ids") or [], one("expand", "") or "")
        m = re.fullmatch(r"comment/([^/]+)/properties(?:/([^/]+))?", rest)
        if m and method == "GET":
            return 200, self.comment_property(m.group(1), m.group(2))
        m = re.fullmatch(r"issue/([^/]+)(?:/(comment|transitions|assignee|properties)(?:/([^/]+))?)?", rest)
        if not m:
            raise ApiError(404, [f"no route {path}"])
        issue = self.find_issue(m.group(1))
        sub, arg = m.group(2), m.group(3)
        if sub is None and method == "GET":
            fields = [f for v in q.get("fields", []) for f in v.split(",") if f]
            props = [p for v in q.get("properties", []) for p in v.split(",") if p]
            return 200, self.issue_json(issue, fields, props)
        if sub == "comment" and method == "GET":
            # Documented expand here: renderedBody only; `properties` is not offered and is ignored.
            return 200, self.list_comments(issue, int(one("startAt", 0)), int(one("maxResults", 50)))
        if sub == "comment" and method == "POST":
            return 201, self.post_comment(issue, body or {}, who)
        if sub == "transitions" and method == "GET":
            return 200, {"expand": "transitions", "transitions": self.transitions_for(issue, one("expand", "") or "")}
        if sub == "transitions" and method == "POST":
            self.do_transition(issue, body or {})
            return 204, None
        if sub == "assignee" and method == "PUT":
            self.assign(issue, body or {})
            return 204, None
        if sub == "properties" and arg and method == "GET":
            if arg not in issue.properties:
                raise ApiError(404, [f"The property with key '{arg}' does not exist."])
            return 200, {"key": arg, "value": issue.properties[arg]}
        raise ApiError(405, [f"{method} {path} is not supported"])

    def server_info(self) -> dict:
        if self.cloud:
            return {"baseUrl": self.url, "version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0],
                    "deploymentType": "Cloud", "buildNumber": 100280, "serverTitle": "Jira"}
        return {"baseUrl": self.url, "version": "9.12.2", "versionNumbers": [9, 12, 2], "deploymentType": "Server",
                "buildNumber": 9120002, "serverTitle": "Jira"}

    def find_issue(self, ref: str) -> FakeIssue:
        issue = self.issues.get(ref.upper()) or next((i for i in self.issues.values() if i.id == ref), None)
        if issue is None:
            raise ApiError(404, ["Issue does not exist or you do not have permission to see it."])
        return issue

    def find_project(self, ref: str) -> Optional[dict]:
        return self.projects.get(str(ref).upper()) or next(
            (x for x in self.projects.values() if x["id"] == str(ref)), None)

    def _match(self, jql: str, who: str) -> list[FakeIssue]:
        try:
            match, order = compile_jql(jql, who, datetime.now(UTC), "UTC")
        except ToolError as exc:
            raise ApiError(400, [f"Error in the JQL Query: {exc.message}"]) from None
        hits = [i for i in self.index.values()  # the index, not the issues: it may lag behind
                if match(i, " ".join([i.summary, i.description, *(c["body"] for c in i.comments)]).lower())]
        hits.sort(key=lambda i: i.created, reverse=True)
        for fld, desc in reversed(order):
            hits.sort(key=sort_key(fld), reverse=desc)
        return hits

    def search_dc(self, params: dict, who: str) -> dict:
        start, size = int(params.get("startAt") or 0), min(int(params.get("maxResults") or 50), 100)
        fields, props = (_csv(params.get(k)) for k in ("fields", "properties"))
        hits = self._match(params.get("jql") or "", who)
        return {"expand": "names,schema", "startAt": start, "maxResults": size, "total": len(hits),
                "issues": [self.issue_json(i, fields, props) for i in hits[start:start + size]]}

    def search_cloud(self, q: dict[str, list[str]], who: str) -> dict:
        jql = (q.get("jql") or [""])[0]
        if not jql.strip() or jql.strip().upper().startswith("ORDER BY"):
            raise ApiError(400, ["Unbounded JQL queries are not allowed here. Please add a search restriction "
                                 "to your query."])
        size = min(int((q.get("maxResults") or [50])[0]), 100)
        token = (q.get("nextPageToken") or [None])[0]
        start = int(base64.b64decode(token).decode().split(":")[1]) if token else 0
        fields, props = (_csv(q.get(k)) for k in ("fields", "properties"))
        hits = self._match(jql, who)
        page = hits[start:start + size]
        out: dict[str, Any] = {"issues": [self.issue_json(i, fields, props) for i in page],
                               "isLast": start + size >= len(hits)}
        if not out["isLast"]:
            out["nextPageToken"] = base64.b64encode(f"offset:{start + size}".encode()).decode()
        return out

    def user_search(self, text: Optional[str], start: int, size: int) -> list[dict]:
        if not text:
            raise ApiError(400, ["The query parameter 'query' or 'username' is required."])
        t = text.lower()
        found = [u for email, u in self.users.items()
                 if t in email or t in u["displayName"].lower() or t == u.get("name", "").lower()]
        return [self._public(u) for u in found[start:start + size]]

    def user_by_ref(self, ref: dict) -> Optional[str]:
        """Email of the user a request body names (accountId on Cloud, name on Data Center)."""
        key = "accountId" if self.cloud else "name"
        if key not in ref:
            raise ApiError(400, errors={"assignee": f"{key} is required"})
        if ref[key] is None:
            return None
        for email, u in self.users.items():
            if u.get(key) == ref[key]:
                return email
        raise ApiError(400, errors={"assignee": f"User '{ref[key]}' does not exist."})

    def createmeta(self, project_ref: str, type_id: Optional[str], start: int, size: int) -> dict:
        """Cloud pages issue types under "issueTypes" and fields under "fields"; Data Center 8.4+
        pages both under "values" (with isLast)."""
        project = self.find_project(project_ref)
        if project is None:
            raise ApiError(404, [f"No project could be found with key '{project_ref}'."])
        if type_id is None:
            items = [{"id": t["id"], "name": name, "subtask": False, "description": f"A {name.lower()}."}
                     for name, t in project["types"].items()]
            list_key = "issueTypes" if self.cloud else "values"
        else:
            name = next((n for n, t in project["types"].items() if t["id"] == type_id), None)
            if name is None:
                raise ApiError(404, [f"Issue type with id '{type_id}' does not exist in project {project['key']}."])
            items = self.screen_fields(project, name)
            list_key = "fields" if self.cloud else "values"
        page = items[start:start + size]
        out = {list_key: page, "startAt": start, "maxResults": size, "total": len(items)}
        if not self.cloud:
            out["isLast"] = start + size >= len(items)
        return out

    def create_issue(self, body: dict, who: str) -> dict:
        f = body.get("fields") or {}
        p = f.get("project") or {}
        project = self.find_project(p.get("key") or p.get("id") or "")
        if project is None:
            raise ApiError(400, errors={"project": "valid project is required"})
        it = f.get("issuetype") or {}
        type_name = next((n for n, t in project["types"].items() if it.get("id") == t["id"] or it.get("name") == n),
                         None)
        if type_name is None:
            raise ApiError(400, errors={"issuetype": "Specify a valid issue type"})
        screen = project["types"][type_name]
        errors = {k: f"Field '{k}' cannot be set. It is not on the appropriate screen, or unknown."
                  for k in f if k not in screen["screen"]}
        for k in screen["required"]:  # Jira fills a required priority left out with the scheme's default
            if k not in errors and not f.get(k) and not (k == "priority" and project["default_priority"]):
                errors[k] = ("You must specify a summary of the issue." if k == "summary" else
                             f"{SCREEN_NAMES.get(k, k)} is required.")
        priority = project["default_priority"]
        if "priority" in f and "priority" not in errors:
            asked = f["priority"] or {}
            priority = next((p for p in project["priorities"]
                             if asked.get("name") == p or asked.get("id") == self.priority_ids[p]), None)
            if priority is None:
                errors["priority"] = "Specify a valid 'id' or 'name' for Priority"
        labels = f.get("labels") or []
        if any(" " in x for x in labels):
            errors["labels"] = "The label must not contain spaces."
        if errors:
            raise ApiError(400, errors=errors)
        assignee = self.user_by_ref(f["assignee"]) if f.get("assignee") else None
        issue = self._new_issue(project["key"], f["summary"], reporter=who, description=f.get("description") or "",
                                issue_type=type_name, priority=priority,
                                assignee=assignee, labels=list(labels))
        for prop in body.get("properties") or []:
            issue.properties[prop["key"]] = prop["value"]
        self._written(issue)
        return {"id": issue.id, "key": issue.key, "self": f"{self.url}/rest/api/2/issue/{issue.id}"}

    def list_comments(self, issue: FakeIssue, start: int, size: int) -> dict:
        page = issue.comments[start:start + size]
        return {"startAt": start, "maxResults": size, "total": len(issue.comments),
                "comments": [self.comment_json(issue.key, c) for c in page]}

    def _comment(self, comment_id: str) -> tuple[FakeIssue, dict]:
        for issue in self.issues.values():
            for c in issue.comments:
                if c["id"] == str(comment_id):
                    return issue, c
        raise ApiError(404, [f"Can not find a comment for the id: {comment_id}."])

    def comments_by_id(self, ids: list, expand: str) -> dict:
        """POST /comment/list: at most 1000 ids; unknown ids are left out."""
        if len(ids) > 1000:
            raise ApiError(400, ["The number of comment IDs must be 1000 or less."])
        found = []
        for cid in ids:
            try:
                found.append(self._comment(str(cid)))
            except ApiError:
                continue
        return {"startAt": 0, "maxResults": 1000, "total": len(found), "isLast": True,
                "values": [self.comment_json(i.key, c, expand) for i, c in found]}

    def comment_property(self, comment_id: str, key: Optional[str]) -> dict:
        _, c = self._comment(comment_id)
        if key is None:
            return {"keys": [{"key": k, "self": f"{self.url}/rest/api/2/comment/{comment_id}/properties/{k}"}
                             for k in c["properties"]]}
        if key not in c["properties"]:
            raise ApiError(404, [f"The property with key '{key}' does not exist."])
        return {"key": key, "value": c["properties"][key]}

    def post_comment(self, issue: FakeIssue, body: dict, who: str) -> dict:
        if not body.get("body"):
            raise ApiError(400, errors={"comment": "Comment body can not be empty!"})
        props = {p["key"]: p["value"] for p in body.get("properties") or []}
        c = self._new_comment(issue.key, who, body["body"], props)
        issue.updated = c["created"]
        self._written(issue)
        return self.comment_json(issue.key, c)

    def do_transition(self, issue: FakeIssue, body: dict) -> None:
        tid = str((body.get("transition") or {}).get("id"))
        chosen = next((t for t in self.transitions_for(issue) if t["id"] == tid), None)
        if chosen is None:
            raise ApiError(400, [f"Transition id '{tid}' is not valid for this issue."])
        screen = self.transition_screens.get(tid) or {}
        given = body.get("fields") or {}
        errors = {k: f"Field '{k}' cannot be set. It is not on the appropriate screen, or unknown."
                  for k in given if k not in screen}
        for k, meta in screen.items():
            if meta.get("required") and k not in errors and not given.get(k):
                errors[k] = f"{meta.get('name', k)} is required."
        if "resolution" in given and "resolution" not in errors and \
                (given["resolution"] or {}).get("name") not in [r["name"] for r in RESOLUTIONS] and \
                (given["resolution"] or {}).get("id") not in [r["id"] for r in RESOLUTIONS]:
            errors["resolution"] = "Could not find valid 'id' or 'name' in resolution object."
        if errors:
            raise ApiError(400, errors=errors)
        if "resolution" in given:
            r = given["resolution"]
            issue.resolution = r.get("name") or next(x["name"] for x in RESOLUTIONS if x["id"] == r.get("id"))
        issue.status, issue.updated = chosen["to"]["name"], datetime.now(UTC)
        for prop in body.get("properties") or []:
            issue.properties[prop["key"]] = prop["value"]
        self._written(issue)

    def assign(self, issue: FakeIssue, body: dict) -> None:
        issue.assignee, issue.updated = self.user_by_ref(body), datetime.now(UTC)
        self._written(issue)

    # ------------------------------------------------------------ auth and faults
    def authenticate(self, header: str) -> Optional[str]:
        if self.cloud and header.startswith("Basic "):
            email, _, token = base64.b64decode(header[6:]).decode().partition(":")
            return EMAIL if (email, token) == (EMAIL, API_TOKEN) else None
        if header.startswith("Bearer "):
            token = header[7:]
            return self.oauth_tokens.get(token) if self.cloud else EMAIL if token == PAT else None
        return None

    def take_fault(self, method: str, path: str) -> Optional[Fault]:
        with self.lock:
            for f in self.faults:
                if f.path in path and (f.method is None or f.method == method):
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
        return None


def _handler(fake: FakeJira):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            q = parse_qs(parts.query, keep_blank_values=True)
            with fake.lock:
                fake.requests.append({"method": method, "path": parts.path, "query": q, "body": body,
                                      "auth": self.headers.get("Authorization", "")})
            fault = fake.take_fault(method, parts.path)
            if fault is not None and fault.apply:
                status, out = self._route(method, parts, q, body)
                time.sleep(fault.delay_s)
                try:
                    return self._send(status, out)
                except OSError:  # the client gave up waiting: the work was done, the answer lost
                    return None
            if fault is not None:
                if fault.delay_s:
                    time.sleep(fault.delay_s)
                try:
                    return self._send(fault.status, fault.body if fault.body is not None else
                                      {"errorMessages": [f"injected {fault.status}"], "errors": {}}, fault.headers)
                except OSError:  # a stalled answer: the client gave up waiting, as intended
                    return None
            self._send(*self._route(method, parts, q, body))

        def _route(self, method: str, parts: Any, q: dict, body: Any) -> tuple[int, Any]:
            who = fake.authenticate(self.headers.get("Authorization", ""))
            if who is None:
                return 401, {"errorMessages": ["You are not authenticated. Authentication required to perform this "
                                               "operation."], "errors": {}}
            try:
                with fake.lock:
                    return fake.route(method, parts.path, q, body, who)
            except ApiError as exc:
                return exc.status, exc.body

        def _send(self, status: int, body: Any, headers: Optional[dict] = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

    return Handler


@pytest.fixture
def fake_jira():
    with FakeJira(cloud=True) as jira:
        yield jira


@pytest.fixture
def fake_jira_dc():
    with FakeJira(cloud=False) as jira:
        yield jira
