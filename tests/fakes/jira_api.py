"""A local Jira REST server for tests, speaking the routes the `jira` package calls.

    with FakeJira(cloud=True) as jira:          # or the `fake_jira` / `fake_jira_dc` fixtures
        jira.add_user("dana@northwind.example", "Dana Kim")
        jira.add_issue("OPS", "Printer on fire", reporter="dana@northwind.example")
        ...                                      # point JiraConfig(url=jira.url, ...) at it

Shapes follow the Jira REST API v2 (Cloud and Data Center): serverInfo, field, search (Data
Center: startAt/maxResults/total; Cloud: /search/jql with nextPageToken and isLast, and the old
/search answers 410 as on Cloud today), issue create/get (with `fields` and `properties`
selection), comments (paged, `expand=properties`, properties set on create), transitions (list
and do by id, with properties), assignee (accountId on Cloud, name on Data Center), issue
properties, user search (Cloud `query`, Data Center `username`). Authentication is checked
(Cloud: basic email + API token or a Bearer OAuth token; Data Center: Bearer PAT).
`fail(...)` makes the next matching requests answer an error status (401/403/404/429 with
Retry-After/5xx) or stall past the client's timeout.
"""
from __future__ import annotations

import base64
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
FIELD_NAMES = ["summary", "status", "issuetype", "priority", "assignee", "reporter", "labels", "created", "updated",
               "project", "description", "comment"]


@dataclass
class Fault:
    status: int
    path: str = ""  # substring of the path
    method: Optional[str] = None
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay_s: float = 0.0


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
    priority: str = "Medium"
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


def _jira_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class FakeJira(LocalServer):
    def __init__(self, *, cloud: bool = True) -> None:
        self.cloud = cloud
        self.users: dict[str, dict] = {}  # email -> user
        self.projects = {"OPS": {"id": "10000", "key": "OPS", "name": "Operations"}}
        self.issues: dict[str, FakeIssue] = {}
        self.requests: list[dict] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._ids = 10000
        self.me = self.add_user(EMAIL, "Workmode Bot")
        self.oauth_tokens: dict[str, str] = {OAUTH_TOKEN: EMAIL}  # Cloud Bearer access token -> whose

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
                  **fields: Any) -> FakeIssue:
        with self.lock:
            p = self.projects[project]
            number = 1 + sum(1 for i in self.issues.values() if i.project_key == project)
            self._ids += 1
            created = datetime.now(UTC) - age
            issue = FakeIssue(id=str(self._ids), key=f"{project}-{number}", project_key=p["key"], number=number,
                              summary=summary, reporter=reporter.lower(), created=created, updated=created, **fields)
            self.issues[issue.key] = issue
            return issue

    def add_comment(self, key: str, author: str, body: str, properties: Optional[dict] = None) -> dict:
        with self.lock:
            self._ids += 1
            c = {"id": str(self._ids), "author": author.lower(), "body": body,
                 "created": datetime.now(UTC), "properties": dict(properties or {})}
            self.issues[key].comments.append(c)
            return c

    def fail(self, status: int, path: str = "", *, method: Optional[str] = None, times: int = 1,
             retry_after: Optional[str] = None, body: Any = None, delay_s: float = 0.0,
             headers: Optional[dict[str, str]] = None) -> None:
        headers = {**(headers or {}), **({"Retry-After": retry_after} if retry_after is not None else {})}
        with self.lock:
            self.faults.append(Fault(status, path, method, times, headers, body, delay_s))

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
            "priority": {"name": i.priority}, "assignee": self.user_json(i.assignee),
            "reporter": self.user_json(i.reporter), "labels": list(i.labels), "created": _jira_time(i.created),
            "updated": _jira_time(i.updated), "project": dict(self.projects[i.project_key]),
            "comment": {"comments": [self.comment_json(i.key, c) for c in i.comments], "startAt": 0,
                        "maxResults": len(i.comments), "total": len(i.comments)},
        }
        wanted = set(FIELD_NAMES) if not fields or "*all" in fields else set(fields)
        out = {"id": i.id, "key": i.key, "self": f"{self.url}/rest/api/2/issue/{i.id}",
               "fields": {k: v for k, v in every.items() if k in wanted}}
        if properties:
            out["properties"] = {k: i.properties[k] for k in properties if k in i.properties}
        return out

    def transitions_for(self, i: FakeIssue) -> list[dict]:
        return [{"id": tid, "name": name, "to": {"name": to, "id": STATUS_IDS[to]}, "hasScreen": False}
                for tid, name, sources, to in WORKFLOW if sources is None or i.status in sources]

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
            return 200, self.list_comments(issue, int(one("startAt", 0)), int(one("maxResults", 50)),
                                           one("expand", "") or "")
        if sub == "comment" and method == "POST":
            return 201, self.post_comment(issue, body or {}, who)
        if sub == "transitions" and method == "GET":
            return 200, {"expand": "transitions", "transitions": self.transitions_for(issue)}
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

    def _match(self, jql: str, who: str) -> list[FakeIssue]:
        try:
            match, order = compile_jql(jql, who, datetime.now(UTC), "UTC")
        except ToolError as exc:
            raise ApiError(400, [f"Error in the JQL Query: {exc.message}"]) from None
        hits = [i for i in self.issues.values()
                if match(i, " ".join([i.summary, i.description, *(c["body"] for c in i.comments)]).lower())]
        hits.sort(key=lambda i: i.created, reverse=True)
        for fld, desc in reversed(order):
            hits.sort(key=sort_key(fld), reverse=desc)
        return hits

    def search_dc(self, params: dict, who: str) -> dict:
        start, size = int(params.get("startAt") or 0), min(int(params.get("maxResults") or 50), 100)
        fields = params.get("fields") or []
        fields = [f for v in ([fields] if isinstance(fields, str) else fields) for f in v.split(",")]
        hits = self._match(params.get("jql") or "", who)
        return {"expand": "names,schema", "startAt": start, "maxResults": size, "total": len(hits),
                "issues": [self.issue_json(i, fields) for i in hits[start:start + size]]}

    def search_cloud(self, q: dict[str, list[str]], who: str) -> dict:
        jql = (q.get("jql") or [""])[0]
        if not jql.strip() or jql.strip().upper().startswith("ORDER BY"):
            raise ApiError(400, ["Unbounded JQL queries are not allowed here. Please add a search restriction "
                                 "to your query."])
        size = min(int((q.get("maxResults") or [50])[0]), 100)
        token = (q.get("nextPageToken") or [None])[0]
        start = int(base64.b64decode(token).decode().split(":")[1]) if token else 0
        fields = [f for v in q.get("fields", []) for f in v.split(",") if f]
        hits = self._match(jql, who)
        page = hits[start:start + size]
        out: dict[str, Any] = {"issues": [self.issue_json(i, fields) for i in page],
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

    def create_issue(self, body: dict, who: str) -> dict:
        f = body.get("fields") or {}
        errors = {}
        p = f.get("project") or {}
        project = self.projects.get(str(p.get("key", "")).upper()) or next(
            (x for x in self.projects.values() if x["id"] == str(p.get("id"))), None)
        if project is None:
            errors["project"] = "valid project is required"
        if (f.get("issuetype") or {}).get("name") not in ISSUE_TYPES:
            errors["issuetype"] = "valid issue type is required"
        if not f.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        if "priority" in f and (f["priority"] or {}).get("name") not in PRIORITIES:
            errors["priority"] = "valid priority is required"
        labels = f.get("labels") or []
        if any(" " in x for x in labels):
            errors["labels"] = "The label must not contain spaces."
        if errors:
            raise ApiError(400, errors=errors)
        assignee = self.user_by_ref(f["assignee"]) if f.get("assignee") else None
        issue = self.add_issue(project["key"], f["summary"], reporter=who, description=f.get("description") or "",
                               issue_type=f["issuetype"]["name"],
                               priority=(f.get("priority") or {}).get("name", "Medium"),
                               assignee=assignee, labels=list(labels))
        for prop in body.get("properties") or []:
            issue.properties[prop["key"]] = prop["value"]
        return {"id": issue.id, "key": issue.key, "self": f"{self.url}/rest/api/2/issue/{issue.id}"}

    def list_comments(self, issue: FakeIssue, start: int, size: int, expand: str) -> dict:
        page = issue.comments[start:start + size]
        return {"startAt": start, "maxResults": size, "total": len(issue.comments),
                "comments": [self.comment_json(issue.key, c, expand) for c in page]}

    def post_comment(self, issue: FakeIssue, body: dict, who: str) -> dict:
        if not body.get("body"):
            raise ApiError(400, errors={"comment": "Comment body can not be empty!"})
        props = {p["key"]: p["value"] for p in body.get("properties") or []}
        c = self.add_comment(issue.key, who, body["body"], props)
        issue.updated = c["created"]
        return self.comment_json(issue.key, c, "properties")

    def do_transition(self, issue: FakeIssue, body: dict) -> None:
        tid = str((body.get("transition") or {}).get("id"))
        chosen = next((t for t in self.transitions_for(issue) if t["id"] == tid), None)
        if chosen is None:
            raise ApiError(400, [f"Transition id '{tid}' is not valid for this issue."])
        issue.status, issue.updated = chosen["to"]["name"], datetime.now(UTC)
        for prop in body.get("properties") or []:
            issue.properties[prop["key"]] = prop["value"]

    def assign(self, issue: FakeIssue, body: dict) -> None:
        issue.assignee, issue.updated = self.user_by_ref(body), datetime.now(UTC)

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
            if fault is not None:
                if fault.delay_s:
                    time.sleep(fault.delay_s)
                return self._send(fault.status, fault.body if fault.body is not None else
                                  {"errorMessages": [f"injected {fault.status}"], "errors": {}}, fault.headers)
            who = fake.authenticate(self.headers.get("Authorization", ""))
            if who is None:
                return self._send(401, {"errorMessages": ["You are not authenticated. Authentication required to "
                                                          "perform this operation."], "errors": {}})
            try:
                with fake.lock:
                    status, out = fake.route(method, parts.path, q, body, who)
            except ApiError as exc:
                status, out = exc.status, exc.body
            self._send(status, out)

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
