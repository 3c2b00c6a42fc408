"""A local HTTP server that speaks the parts of Google's APIs the Gmail and Calendar connectors use,
shaped from the public reference (Gmail API v1, Calendar API v3, OAuth 2.0 for web servers):

- OAuth: GET /o/oauth2/v2/auth (consents at once and redirects with code + state), POST /token
  (authorization_code with PKCE S256 check, refresh_token), POST /revoke.
- Gmail: users.getProfile, messages.list/get/send, messages.attachments.get, threads.get/modify,
  drafts.create/list, labels.list/get/create, history.list (404 for an expired startHistoryId).
- Calendar: events.list/get/insert/patch/delete, freebusy.query.

(PYTEST_DONT_REWRITE: test modules import it before it is registered as a plugin.)

Strict where Google is (each rule cites the documentation where it is enforced):
- every request needs an access token whose granted scopes allow the method (403
  insufficientPermissions otherwise, in Google's error shape);
- messages.send replaces the client's Message-ID with Gmail's own, sends From the account's
  address, and keeps a message in the requested thread only when References/In-Reply-To point
  into it and the Subject matches the thread's;
- events.patch merges objects but replaces arrays, and `null` clears a field; an event time with
  both `date` and `dateTime` is refused;
- freebusy.query expands a Google Group into its members (`groups`), never into a busy list of
  its own.

Tests drive it through the real google-api-python-client and google-auth. Knobs: `fail(...)` makes
the next matching requests fail (status, headers), `expire_access_tokens()`, `revoke(...)`,
`expire_history(...)`, `groups` (Google Groups and their members), and `requests` records what
arrived.
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest

# The scopes Workmode asks for (connectors/google/config.py), granted by default.
FULL_SCOPES = ["openid", "email", "https://www.googleapis.com/auth/gmail.modify",
               "https://www.googleapis.com/auth/calendar.events", "https://www.googleapis.com/auth/calendar.freebusy"]
_G, _C = "https://www.googleapis.com/auth/gmail.", "https://www.googleapis.com/auth/calendar"
_MAIL = "https://mail.google.com/"
# Which granted scope allows which method: the "Authorization scopes" section of each method's
# reference page (Gmail API v1 users.*, Calendar API v3 events.* and freebusy.query).
SCOPES_FOR = {
    "gmail.read": {_MAIL, _G + "modify", _G + "readonly", _G + "metadata"},
    "gmail.send": {_MAIL, _G + "modify", _G + "compose", _G + "send"},
    "gmail.draft": {_MAIL, _G + "modify", _G + "compose"},
    "gmail.modify": {_MAIL, _G + "modify"},
    "gmail.labels": {_MAIL, _G + "modify", _G + "labels"},
    "calendar.read": {_C, _C + ".readonly", _C + ".events", _C + ".events.readonly"},
    "calendar.write": {_C, _C + ".events"},
    "calendar.freebusy": {_C, _C + ".readonly", _C + ".freebusy", _C + ".events.freebusy"},
}
SYSTEM_LABELS = ["INBOX", "SENT", "DRAFT", "UNREAD", "STARRED", "IMPORTANT", "SPAM", "TRASH",
                 "CATEGORY_PERSONAL", "CATEGORY_UPDATES"]
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _dt(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class ApiError(Exception):
    def __init__(self, status: int, message: str, reason: str = "", headers: Optional[dict] = None,
                 status_text: str = ""):
        super().__init__(message)
        self.status, self.message, self.reason, self.headers = status, message, reason, headers or {}
        self.status_text = status_text

    def body(self) -> dict:
        errors = [{"message": self.message, "domain": "global", "reason": self.reason}] if self.reason else []
        return {"error": {"code": self.status, "message": self.message, "errors": errors,
                          "status": self.status_text or {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                                                         404: "NOT_FOUND", 409: "ALREADY_EXISTS",
                                                         429: "RESOURCE_EXHAUSTED"}.get(self.status, "UNKNOWN")}}


class ScopeError(ApiError):
    """403 for an access token whose granted scopes do not allow the method."""

    def __init__(self, allowed: list[str]):
        super().__init__(403, "Request had insufficient authentication scopes.", "insufficientPermissions", {
            "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope", '
                                f'scope="{" ".join(allowed)}"'})

    def body(self) -> dict:
        out = super().body()
        out["error"]["errors"][0]["message"] = "Insufficient Permission"
        out["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                    "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com"}]
        return out


# ---------------------------------------------------------------- Gmail state
@dataclass
class GMsg:
    id: str
    thread_id: str
    raw: bytes
    labels: list[str]
    internal_date: int  # ms
    history_id: int

    @cached_property
    def parsed(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


@dataclass
class Mailbox:
    email: str
    messages: dict[str, GMsg] = field(default_factory=dict)
    labels: dict[str, dict] = field(default_factory=dict)
    drafts: dict[str, str] = field(default_factory=dict)  # draft id -> message id
    attachments: dict[str, bytes] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    history_id: int = 1000
    min_history_id: int = 0  # startHistoryId below this → 404
    unindexed: set[str] = field(default_factory=set)  # ids search does not find yet (index lag)
    watch: Optional[dict] = None  # users.watch: {"topicName", "labelIds", "expiration"} until users.stop


@dataclass
class Calendar:
    email: str
    time_zone: str = "UTC"
    events: dict[str, dict] = field(default_factory=dict)  # events this calendar organises
    readable_by: set[str] = field(default_factory=set)  # who may list its events besides the owner


@dataclass
class Grant:
    email: str
    scopes: list[str]
    refresh_token: str
    revoked: bool = False


@dataclass
class Failure:
    method: str
    path: re.Pattern
    status: int
    times: int
    headers: dict
    reason: str


class FakeGoogle:
    def __init__(self, client_id: str = "test-client.apps.googleusercontent.com", client_secret: str = "test-secret"):
        self.client_id, self.client_secret = client_id, client_secret
        self.lock = threading.RLock()
        self.mailboxes: dict[str, Mailbox] = {}
        self.calendars: dict[str, Calendar] = {}
        self.grants: dict[str, Grant] = {}  # refresh token -> grant
        self.access: dict[str, tuple[str, float]] = {}  # access token -> (email, expires at)
        self.token_scopes: dict[str, list[str]] = {}  # access token -> the scopes granted with it
        self.groups: dict[str, list[str]] = {}  # Google Group address -> member addresses
        self.codes: dict[str, dict] = {}
        self.failures: list[Failure] = []
        self.slow_paths: dict[str, float] = {}  # path regex -> seconds to wait before answering
        self.page_cap = 500  # most items one list page returns, whatever maxResults asks
        self.requests: list[dict] = []
        self.clock_ms = int(time.time() * 1000)  # Google's clock: internalDate of what arrives
        self._ids = itertools.count(1)
        self.server: Optional[ThreadingHTTPServer] = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> FakeGoogle:
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    # ------------------------------------------------------------ test knobs
    def add_user(self, email: str, time_zone: str = "UTC") -> None:
        with self.lock:
            box = self.mailboxes.setdefault(email, Mailbox(email))
            for name in SYSTEM_LABELS:
                box.labels.setdefault(name, {"id": name, "name": name, "type": "system",
                                             "messageListVisibility": "show", "labelListVisibility": "labelShow"})
            self.calendars.setdefault(email, Calendar(email, time_zone))

    def grant(self, email: str, scopes: Optional[list[str]] = None) -> str:
        """A refresh token for `email`, as if they had consented (skips the browser)."""
        token = "1//refresh-" + secrets.token_urlsafe(12)
        self.grants[token] = Grant(email, list(FULL_SCOPES if scopes is None else scopes), token)
        return token

    def revoke(self, refresh_token: str) -> None:
        self.grants[refresh_token].revoked = True
        self.expire_access_tokens()

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access = {t: (e, 0.0) for t, (e, _) in self.access.items()}

    def fail(self, method: str, path: str, status: int, *, times: int = 1, headers: Optional[dict] = None,
             reason: str = "") -> None:
        """The next `times` requests matching method and path (a regex searched in the path) fail."""
        self.failures.append(Failure(method.upper(), re.compile(path), status, times, headers or {}, reason))

    def expire_history(self, box: str) -> None:
        """Forget all history so far: any stored startHistoryId now gets 404."""
        with self.lock:
            mb = self.mailboxes[box]
            mb.min_history_id = mb.history_id + 1
            mb.history.clear()

    def tick(self, minutes: int = 1) -> int:
        self.clock_ms += minutes * 60_000
        return self.clock_ms

    def now_ms(self) -> int:
        """The internalDate of a message arriving now: the wall clock, strictly increasing."""
        self.clock_ms = max(self.clock_ms + 1000, int(time.time() * 1000))
        return self.clock_ms

    def calls(self, method: str, path_part: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and path_part in r["path"]]

    # ------------------------------------------------------------ Gmail helpers
    def _next_history(self, box: Mailbox, record: dict) -> int:
        box.history_id += 7  # increasing, not contiguous
        box.history.append({"id": str(box.history_id), **record})
        return box.history_id

    def _thread_for(self, box: Mailbox, msg: EmailMessage, thread_id: Optional[str]) -> str:
        refs = set((msg.get("References", "") + " " + msg.get("In-Reply-To", "")).split())
        subject = _base_subject(msg.get("Subject", ""))
        if thread_id:
            in_thread = [m for m in box.messages.values() if m.thread_id == thread_id]
            if not in_thread:
                raise ApiError(404, "Requested entity was not found.", "notFound")
            # Gmail API guide "Manage threads" (adding drafts and messages to threads): the threadId
            # on the request, References and In-Reply-To set per RFC 2822, and "the Subject headers
            # must match". Otherwise the message starts a thread of its own.
            if any(m.parsed.get("Message-ID", "").strip() in refs for m in in_thread) \
                    and subject == _base_subject(in_thread[0].parsed.get("Subject", "")):
                return thread_id
            return f"t{next(self._ids):05x}"
        for m in box.messages.values():
            if m.parsed.get("Message-ID", "").strip() in refs and subject == _base_subject(m.parsed.get("Subject", "")):
                return m.thread_id
        return f"t{next(self._ids):05x}"

    def insert(self, box_email: str, raw: bytes, labels: list[str], thread_id: Optional[str] = None,
               internal_date: Optional[int] = None) -> GMsg:
        with self.lock:
            box = self.mailboxes[box_email]
            parsed = message_from_bytes(raw, policy=policy.default)
            tid = self._thread_for(box, parsed, thread_id)
            mid = f"m{next(self._ids):05x}"
            msg = GMsg(mid, tid, raw, list(labels), internal_date or self.now_ms(), 0)
            box.messages[mid] = msg
            msg.history_id = self._next_history(box, {"messages": [{"id": mid, "threadId": tid}], "messagesAdded": [
                {"message": {"id": mid, "threadId": tid, "labelIds": list(labels)}}]})
            return msg

    def deliver(self, to: str, msg: EmailMessage, labels: tuple[str, ...] = ("INBOX", "UNREAD")) -> GMsg:
        """Mail arriving in `to`'s mailbox (from anyone)."""
        if "Message-ID" not in msg:
            msg["Message-ID"] = f"<{secrets.token_hex(8)}@mail.example>"
        return self.insert(to, msg.as_bytes(), list(labels))

    def message(self, box: str, mid: str) -> GMsg:
        return self.mailboxes[box].messages[mid]

    # ------------------------------------------------------------ Calendar helpers
    def add_event(self, organizer: str, *, summary: str, start: str, end: str, attendees: tuple[str, ...] = (),
                  event_id: Optional[str] = None, time_zone: Optional[str] = None, all_day: bool = False,
                  **extra: Any) -> dict:
        """An event `organizer` organises; `all_day` events take dates (end exclusive)."""
        with self.lock:
            cal = self.calendars[organizer]
            eid = event_id or f"ev{next(self._ids):06d}"
            zone = time_zone or cal.time_zone
            ev = {"kind": "calendar#event", "id": eid, "status": "confirmed", "summary": summary,
                  "start": {"date": start} if all_day else {"dateTime": start, "timeZone": zone},
                  "end": {"date": end} if all_day else {"dateTime": end, "timeZone": zone},
                  "organizer": {"email": organizer}, "creator": {"email": organizer},
                  "attendees": [{"email": a, "responseStatus": "needsAction"} for a in attendees],
                  "htmlLink": f"https://calendar.example/event?eid={eid}", "iCalUID": f"{eid}@google.com",
                  "sequence": 0, "created": "2025-03-01T00:00:00Z", "updated": "2025-03-01T00:00:00Z", **extra}
            cal.events[eid] = ev
            return ev

    def event(self, eid: str) -> Optional[dict]:
        for cal in self.calendars.values():
            if eid in cal.events:
                return cal.events[eid]
        return None


# ---------------------------------------------------------------- Gmail: payloads and search
def _payload(part: EmailMessage, part_id: str, box: Mailbox, mid: str) -> dict:
    headers = [{"name": k, "value": str(v)} for k, v in part.items()]
    mime = part.get_content_type()
    out: dict[str, Any] = {"partId": part_id, "mimeType": mime, "filename": part.get_filename() or "",
                           "headers": headers}
    if part.is_multipart():
        out["body"] = {"size": 0}
        out["parts"] = [_payload(child, f"{part_id + '.' if part_id else ''}{i}", box, mid)
                        for i, child in enumerate(part.iter_parts())]
        return out
    data = part.get_payload(decode=True) or b""
    if part.get_filename() or not mime.startswith("text/"):
        aid = "ANGjdJ" + hashlib.sha1(f"{mid}/{part_id}".encode()).hexdigest()
        box.attachments[aid] = data
        out["body"] = {"size": len(data), "attachmentId": aid}
    else:
        out["body"] = {"size": len(data), "data": b64url(data)}
    return out


def _base_subject(subject: str) -> str:
    """A subject as Gmail compares it for threading: without reply/forward prefixes."""
    return re.sub(r"^(\s*(re|fwd?|aw)\s*:)+", "", str(subject), flags=re.I).strip().lower()


def _text_of(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain", "html"))
    return body.get_content() if body is not None else ""


def _resource(box: Mailbox, m: GMsg, fmt: str = "full", headers: Optional[list[str]] = None) -> dict:
    parsed = m.parsed
    text = " ".join(_text_of(parsed).split())
    out = {"id": m.id, "threadId": m.thread_id, "labelIds": list(m.labels), "snippet": text[:100],
           "historyId": str(m.history_id), "internalDate": str(m.internal_date), "sizeEstimate": len(m.raw)}
    if fmt == "minimal":
        return out
    if fmt == "raw":
        return {**out, "raw": b64url(m.raw)}
    payload = _payload(parsed, "", box, m.id)
    if fmt == "metadata":
        wanted = {h.lower() for h in headers or []}
        payload = {"partId": "", "mimeType": payload["mimeType"], "filename": "", "body": {"size": 0},
                   "headers": [h for h in payload["headers"] if not wanted or h["name"].lower() in wanted]}
    return {**out, "payload": payload}


_OPERATORS = {"rfc822msgid", "in", "is", "label", "from", "to", "cc", "subject", "newer_than", "older_than"}
_QTOKEN = re.compile(r'(-?)(?:(\w+):(?:"([^"]*)"|(\S+))|"([^"]*)"|(\S+))')


def _matches(box: Mailbox, m: GMsg, query: str, now_ms: int, spam_trash: bool = False) -> bool:
    parsed = m.parsed
    labels = {x.lower() for x in m.labels} | {box.labels.get(x, {}).get("name", x).lower() for x in m.labels}
    scoped = False
    for neg, key, qval, val, phrase, word in _QTOKEN.findall(query or ""):
        key, value = key.lower(), (qval or val or phrase or word).lower()
        if key == "rfc822msgid":
            ok = parsed.get("Message-ID", "").strip().strip("<>").lower() == value.strip("<>") \
                and m.id not in box.unindexed
            scoped = True
        elif key == "in":
            scoped |= value in ("anywhere", "spam", "trash")
            ok = value == "anywhere" or {"drafts": "draft"}.get(value, value) in labels
        elif key in ("is", "label"):
            ok = (value == "read" and "unread" not in labels) or value.replace("-", " ") in labels or value in labels
        elif key in ("from", "to", "cc", "subject"):
            hay = str(parsed.get(key, "")).lower()
            ok = value in hay
        elif key in ("newer_than", "older_than"):
            n, unit = int(value[:-1]), value[-1]
            age = n * {"d": 86_400_000, "h": 3_600_000, "m": 30 * 86_400_000, "y": 365 * 86_400_000}[unit]
            ok = m.internal_date >= now_ms - age if key == "newer_than" else m.internal_date < now_ms - age
        elif key:
            raise ApiError(400, f"Invalid search operator {key}", "invalidArgument")
        else:
            ok = value in (str(parsed.get("subject", "")) + " " + _text_of(parsed)).lower()
        if bool(neg) == ok:
            return False
    return scoped or spam_trash or not {"SPAM", "TRASH"} & set(m.labels)


def _page(items: list, params: dict, default: int, cap: int = 500) -> tuple[list, Optional[str]]:
    start = int(params.get("pageToken") or 0)
    size = min(int(params.get("maxResults") or default), cap)
    more = start + size < len(items)
    return items[start:start + size], (str(start + size) if more else None)


# ---------------------------------------------------------------- Calendar helpers
def _in_zone(value: dict, tz: Optional[str]) -> dict:
    if "dateTime" not in value or not tz:
        return dict(value)
    return {**value, "dateTime": _dt(value["dateTime"]).astimezone(ZoneInfo(tz)).isoformat()}


def _merge(base: dict, patch: dict) -> dict:
    out = dict(base)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


ATTENDEE_FIELDS = ("email", "displayName", "optional", "resource", "responseStatus", "comment", "additionalGuests")


def _attendees(given: list[dict]) -> list[dict]:
    """An attendee list as written: what was sent, nothing kept from before (responseStatus
    defaults to needsAction for an attendee sent without one)."""
    return [{**{k: a[k] for k in ATTENDEE_FIELDS if k in a}, "email": a["email"].lower(),
             "responseStatus": a.get("responseStatus") or "needsAction"} for a in given]


def _check_times(ev: dict) -> None:
    """Event start/end: each either `date` (all-day) or `dateTime`, never both, of the same kind,
    end after start (Events resource: start.date "if this is an all-day event", start.dateTime
    otherwise)."""
    start, end = ev.get("start") or {}, ev.get("end") or {}
    for name, when in (("start", start), ("end", end)):
        if ("date" in when) == ("dateTime" in when):
            raise ApiError(400, f"Invalid {name} time.", "invalid")
    if ("date" in start) != ("date" in end):
        raise ApiError(400, "Start and end times must either both be date or both be dateTime.", "invalid")
    key = "date" if "date" in start else "dateTime"
    if _dt(end[key]) <= _dt(start[key]):
        raise ApiError(400, "The specified time range is empty.", "timeRangeEmpty")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a client that timed out and left
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGoogle
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    # ------------------------------------------------------------ plumbing
    def _send(self, status: int, body: Any = None, headers: Optional[dict] = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        params = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type", "")
        body: Any = {}
        if raw and "json" in ctype:
            body = json.loads(raw)
        elif raw:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        fake.requests.append({"method": method, "path": parts.path, "params": params, "body": body,
                              "auth": self.headers.get("Authorization", "")})
        for pattern, seconds in list(fake.slow_paths.items()):
            if re.search(pattern, parts.path):
                time.sleep(seconds)
        try:
            for f in fake.failures:
                if f.times > 0 and f.method == method and f.path.search(parts.path):
                    f.times -= 1
                    raise ApiError(f.status, f"injected failure {f.status}", f.reason, f.headers)
            status, out, headers = self._route(method, parts.path, params, body)
        except ApiError as exc:
            self._send(exc.status, exc.body(), exc.headers)
            return
        self._send(status, out, headers)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _user(self) -> str:
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        found = self.fake.access.get(token)
        if found is None or found[1] < time.time():
            raise ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                           "authError", {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        self._token = token
        return found[0]

    def _need(self, kind: str) -> None:
        """403 unless the access token was granted a scope that allows `kind` (SCOPES_FOR). The shape is
        Google's for a token without the scope: reason insufficientPermissions, an ErrorInfo with
        ACCESS_TOKEN_SCOPE_INSUFFICIENT, and `WWW-Authenticate: ... error="insufficient_scope"`
        (Google Cloud API design guide, "Errors"; RFC 6750 section 3.1)."""
        granted = set(self.fake.token_scopes.get(getattr(self, "_token", ""), []))
        if granted & SCOPES_FOR[kind]:
            return
        raise ScopeError(sorted(SCOPES_FOR[kind]))

    def _route(self, method: str, path: str, params: dict, body: Any) -> tuple[int, Any, Optional[dict]]:
        fake = self.fake
        if path == "/o/oauth2/v2/auth" and method == "GET":
            return self._authorize(params)
        if path == "/token" and method == "POST":
            return self._token(body)
        if path == "/revoke" and method == "POST":
            token = body.get("token") or params.get("token", "")
            for g in fake.grants.values():
                if g.refresh_token == token:
                    g.revoked = True
            fake.access.pop(token, None)
            return 200, {}, None
        user = self._user()
        with fake.lock:
            if path.startswith("/gmail/v1/users/"):
                return self._gmail(method, path[len("/gmail/v1/users/"):].split("/"), params, body, user)
            if path.startswith("/calendar/v3/"):
                return self._calendar(method, [unquote(x) for x in path[len("/calendar/v3/"):].split("/")],
                                      params, body, user)
        raise ApiError(404, f"no route {method} {path}")

    # ------------------------------------------------------------ Gmail push (users.watch)
    def _watch(self, box: Mailbox, body: dict) -> dict:
        """users.watch (https://developers.google.com/gmail/api/reference/rest/v1/users/watch):
        `topicName` is required and fully qualified, "projects/<project>/topics/<topic>" (Pub/Sub's v1
        naming); `labelIds` restricts the notifications; the answer is the mailbox's current
        `historyId` and `expiration` as int64 epoch milliseconds in a string. A repeated call
        replaces the watch ("Set up or update"). Google expires a watch after 7 days and asks to
        call watch again before then (https://developers.google.com/gmail/api/guides/push)."""
        topic = body.get("topicName")
        if not isinstance(topic, str) or not re.fullmatch(r"projects/[^/]+/topics/[^/]+", topic):
            raise ApiError(400, "Invalid topicName: must be projects/<project>/topics/<topic>", "invalidArgument")
        labels = body.get("labelIds") or []
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ApiError(400, "Invalid labelIds", "invalidArgument")
        expiration = int(time.time() * 1000) + 7 * 24 * 3600 * 1000
        box.watch = {"topicName": topic, "labelIds": labels, "expiration": expiration}
        return {"historyId": str(box.history_id), "expiration": str(expiration)}

    # ------------------------------------------------------------ OAuth
    def _authorize(self, p: dict) -> tuple[int, Any, Optional[dict]]:
        fake = self.fake
        if p.get("client_id") != fake.client_id or p.get("response_type") != "code":
            raise ApiError(400, "invalid_request")
        if p.get("code_challenge_method") != "S256" or not p.get("code_challenge"):
            raise ApiError(400, "PKCE S256 required")
        email = p.get("login_hint") or next(iter(fake.mailboxes))
        email = getattr(fake, "consent_as", None) or email
        code = "4/" + secrets.token_urlsafe(16)
        fake.codes[code] = {"email": email, "challenge": p["code_challenge"], "redirect_uri": p["redirect_uri"],
                            "scopes": p.get("scope", "").split()}
        location = p["redirect_uri"] + "?" + urlencode({"state": p.get("state", ""), "code": code,
                                                        "scope": p.get("scope", "")})
        return 302, None, {"Location": location}

    def _token_error(self, error: str, description: str, status: int = 400) -> tuple[int, Any, Optional[dict]]:
        return status, {"error": error, "error_description": description}, None

    def _id_token(self, email: str) -> str:
        header = b64url(json.dumps({"alg": "RS256", "kid": "fake", "typ": "JWT"}).encode())
        now = int(time.time())
        claims = {"iss": "https://accounts.google.com", "aud": self.fake.client_id, "sub": "1" + str(abs(hash(email))),
                  "email": email, "email_verified": True, "iat": now, "exp": now + 3600}
        return f"{header}.{b64url(json.dumps(claims).encode())}.{b64url(b'signature')}"

    def _issue(self, email: str, scopes: list[str]) -> dict:
        access = "ya29." + secrets.token_urlsafe(16)
        self.fake.access[access] = (email, time.time() + 3599)
        self.fake.token_scopes[access] = list(scopes)
        out = {"access_token": access, "expires_in": 3599, "token_type": "Bearer", "scope": " ".join(scopes)}
        if "openid" in scopes:
            out["id_token"] = self._id_token(email)
        return out

    def _token(self, f: dict) -> tuple[int, Any, Optional[dict]]:
        fake = self.fake
        if f.get("client_id") != fake.client_id or f.get("client_secret") != fake.client_secret:
            return self._token_error("invalid_client", "The OAuth client was not found.", 401)
        if f.get("grant_type") == "authorization_code":
            grant = fake.codes.pop(f.get("code", ""), None)
            if grant is None:
                return self._token_error("invalid_grant", "Malformed auth code.")
            if f.get("redirect_uri") != grant["redirect_uri"]:
                return self._token_error("redirect_uri_mismatch", "Bad Request")
            verifier = f.get("code_verifier", "")
            if b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
                return self._token_error("invalid_grant", "Invalid code verifier.")
            out = self._issue(grant["email"], grant["scopes"])
            refresh = "1//refresh-" + secrets.token_urlsafe(12)
            fake.grants[refresh] = Grant(grant["email"], grant["scopes"], refresh)
            return 200, {**out, "refresh_token": refresh}, None
        if f.get("grant_type") == "refresh_token":
            grant = fake.grants.get(f.get("refresh_token", ""))
            if grant is None or grant.revoked:
                return self._token_error("invalid_grant", "Token has been expired or revoked.")
            return 200, self._issue(grant.email, grant.scopes), None
        return self._token_error("unsupported_grant_type", "Invalid grant_type")

    # ------------------------------------------------------------ Gmail
    def _gmail(self, method: str, seg: list[str], p: dict, body: Any, user: str) -> tuple[int, Any, Optional[dict]]:
        fake = self.fake
        if seg[0] not in ("me", user):
            raise ApiError(403, "Delegation denied", "forbidden")
        box = fake.mailboxes[user]
        rest = seg[1:]
        key = (method, rest[0] if rest else "", len(rest))
        self._need({"GET": "gmail.read", "send": "gmail.send", "drafts": "gmail.draft", "labels": "gmail.labels",
                    "watch": "gmail.read", "stop": "gmail.read"}.get(
            "GET" if method == "GET" else (rest[1] if key[1] == "messages" and len(rest) > 1 else key[1]),
            "gmail.modify"))
        if key == ("POST", "watch", 1):
            return 200, self._watch(box, body or {}), None
        if key == ("POST", "stop", 1):
            box.watch = None  # users.stop: "Stop receiving push notifications"; empty response body
            return 204, None, None
        if key == ("GET", "profile", 1):
            return 200, {"emailAddress": user, "messagesTotal": len(box.messages),
                         "threadsTotal": len({m.thread_id for m in box.messages.values()}),
                         "historyId": str(box.history_id)}, None
        if key == ("GET", "messages", 1):
            for _, op, *_ in _QTOKEN.findall(p.get("q", "")):
                if op and op.lower() not in _OPERATORS:
                    raise ApiError(400, f"Invalid search operator {op}", "invalidArgument")
            label_ids = p.get("labelIds") or []
            label_ids = [label_ids] if isinstance(label_ids, str) else label_ids
            spam_trash = p.get("includeSpamTrash") == "true"
            hits = [m for m in box.messages.values()
                    if all(lid in m.labels for lid in label_ids)
                    and _matches(box, m, p.get("q", ""), fake.clock_ms, spam_trash)]
            hits.sort(key=lambda m: -m.internal_date)
            page, token = _page(hits, p, 100, fake.page_cap)
            out = {"messages": [{"id": m.id, "threadId": m.thread_id} for m in page], "resultSizeEstimate": len(hits)}
            if token:
                out["nextPageToken"] = token
            if not page:
                out.pop("messages")
            return 200, out, None
        if key == ("GET", "messages", 2):
            m = box.messages.get(rest[1]) or _missing()
            headers = p.get("metadataHeaders")
            headers = [headers] if isinstance(headers, str) else headers
            return 200, _resource(box, m, p.get("format", "full"), headers), None
        if key == ("GET", "messages", 4) and rest[2] == "attachments":
            data = box.attachments.get(rest[3])
            if data is None:
                _missing()
            return 200, {"attachmentId": rest[3], "size": len(data), "data": b64url(data)}, None
        if key == ("POST", "messages", 2) and rest[1] == "send":
            m = fake.insert(user, _as_sent(unb64url(body["raw"]), user), ["SENT"], body.get("threadId"))
            self._deliver_copies(m, user)
            return 200, {"id": m.id, "threadId": m.thread_id, "labelIds": m.labels}, None
        if key == ("POST", "drafts", 1):
            msg = body.get("message", {})
            m = fake.insert(user, unb64url(msg["raw"]), ["DRAFT"], msg.get("threadId"))
            did = f"r{next(fake._ids):06d}"
            box.drafts[did] = m.id
            return 200, {"id": did, "message": {"id": m.id, "threadId": m.thread_id, "labelIds": m.labels}}, None
        if key == ("GET", "drafts", 1):
            refs = [(d, box.messages[mid]) for d, mid in box.drafts.items()
                    if _matches(box, box.messages[mid], p.get("q", ""), fake.clock_ms)]
            page, token = _page(refs, p, 100, fake.page_cap)
            out = {"drafts": [{"id": d, "message": {"id": m.id, "threadId": m.thread_id}} for d, m in page],
                   "resultSizeEstimate": len(refs)}
            if token:
                out["nextPageToken"] = token
            return 200, out, None
        if key == ("GET", "threads", 2):
            msgs = sorted((m for m in box.messages.values() if m.thread_id == rest[1]), key=lambda m: m.internal_date)
            if not msgs:
                _missing()
            headers = p.get("metadataHeaders")
            headers = [headers] if isinstance(headers, str) else headers
            return 200, {"id": rest[1], "historyId": str(max(m.history_id for m in msgs)),
                         "messages": [_resource(box, m, p.get("format", "full"), headers) for m in msgs]}, None
        if key == ("POST", "threads", 3) and rest[2] == "modify":
            msgs = [m for m in box.messages.values() if m.thread_id == rest[1]]
            if not msgs:
                _missing()
            add, remove = body.get("addLabelIds", []), body.get("removeLabelIds", [])
            for lid in add + remove:
                if lid not in box.labels:
                    raise ApiError(400, f"Invalid label: {lid}", "invalidArgument")
            for m in msgs:
                m.labels = [x for x in dict.fromkeys(m.labels + add) if x not in remove]
            fake._next_history(box, {"messages": [{"id": m.id, "threadId": m.thread_id} for m in msgs]})
            return 200, {"id": rest[1], "messages": [{"id": m.id, "threadId": m.thread_id, "labelIds": m.labels}
                                                     for m in msgs]}, None
        if key == ("GET", "labels", 1):
            return 200, {"labels": [dict(lab) for lab in box.labels.values()]}, None
        if key == ("GET", "labels", 2):
            lab = box.labels.get(rest[1]) or _missing()
            tagged = [m for m in box.messages.values() if rest[1] in m.labels]
            unread = [m for m in tagged if "UNREAD" in m.labels]
            return 200, {**lab, "messagesTotal": len(tagged), "messagesUnread": len(unread),
                         "threadsTotal": len({m.thread_id for m in tagged}),
                         "threadsUnread": len({m.thread_id for m in unread})}, None
        if key == ("POST", "labels", 1):
            name = body.get("name", "").strip()
            if any(lab["name"].lower() == name.lower() for lab in box.labels.values()):
                raise ApiError(409, "Label name exists or conflicts", "duplicate")
            lid = f"Label_{next(fake._ids)}"
            box.labels[lid] = {"id": lid, "name": name, "type": "user",
                               "messageListVisibility": body.get("messageListVisibility", "show"),
                               "labelListVisibility": body.get("labelListVisibility", "labelShow")}
            return 200, box.labels[lid], None
        if key == ("GET", "history", 1):
            start = int(p["startHistoryId"])
            if start < box.min_history_id or start > box.history_id:
                raise ApiError(404, "Requested entity was not found.", "notFound")
            types = p.get("historyTypes") or []
            types = [types] if isinstance(types, str) else types
            label = p.get("labelId")
            records = []
            for rec in box.history:
                if int(rec["id"]) <= start:
                    continue
                out = {"id": rec["id"], "messages": rec["messages"]}
                if "messagesAdded" in rec and (not types or "messageAdded" in types):
                    added = [a for a in rec["messagesAdded"] if not label or label in a["message"]["labelIds"]]
                    if added:
                        out["messagesAdded"] = added
                if types and "messagesAdded" not in out:
                    continue
                records.append(out)
            page, token = _page(records, p, 100, fake.page_cap)
            out = {"historyId": str(box.history_id)}
            if page:
                out["history"] = page
            if token:
                out["nextPageToken"] = token
            return 200, out, None
        raise ApiError(404, f"no Gmail route {method} {'/'.join(seg)}")

    def _deliver_copies(self, sent: GMsg, sender: str) -> None:
        parsed = sent.parsed
        fields = [parsed.get("To", ""), parsed.get("Cc", ""), parsed.get("Bcc", "")]
        rcpts = {a.lower() for _, a in getaddresses(fields)}
        for rcpt in rcpts:
            if rcpt in self.fake.mailboxes and rcpt != sender:
                copy = message_from_bytes(sent.raw, policy=policy.default)
                del copy["Bcc"]
                self.fake.insert(rcpt, copy.as_bytes(), ["INBOX", "UNREAD"])

    # ------------------------------------------------------------ Calendar
    def _calendar_id(self, cid: str, user: str) -> str:
        return user if cid == "primary" else cid.lower()

    def _visible(self, cal_email: str, user: str) -> list[dict]:
        fake = self.fake
        cal = fake.calendars.get(cal_email)
        if cal is None or (cal_email != user and user not in cal.readable_by):
            raise ApiError(404, "Not Found", "notFound")
        own = list(cal.events.values())
        invited = [ev for c in fake.calendars.values() if c.email != cal_email for ev in c.events.values()
                   if any(a["email"] == cal_email for a in ev.get("attendees", []))]
        return own + invited

    def _show(self, ev: dict, user: str, tz: Optional[str]) -> dict:
        out = dict(ev, start=_in_zone(ev["start"], tz), end=_in_zone(ev["end"], tz))
        out["organizer"] = {**ev["organizer"], **({"self": True} if ev["organizer"]["email"] == user else {})}
        # Read-only attendee fields Google fills in: `organizer` and `self` (Events resource).
        out["attendees"] = [{**a, **({"organizer": True} if a["email"] == ev["organizer"]["email"] else {}),
                             **({"self": True} if a["email"] == user else {})} for a in ev.get("attendees", [])]
        return out

    def _busy(self, email: str, lo: datetime, hi: datetime) -> list[dict]:
        spans = sorted((max(_dt(ev["start"]["dateTime"]), lo), min(_dt(ev["end"]["dateTime"]), hi))
                       for ev in self._visible(email, email)
                       if ev.get("status") != "cancelled" and ev.get("transparency") != "transparent"
                       and "dateTime" in ev["start"]
                       and _dt(ev["start"]["dateTime"]) < hi and _dt(ev["end"]["dateTime"]) > lo)
        merged: list[list[datetime]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return [{"start": a.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "end": b.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")} for a, b in merged]

    def _freebusy(self, body: dict) -> dict:
        """Freebusy: query. `items` are calendars or groups; a group is expanded into its members'
        calendars and listed under `groups` (FreeBusyGroup: `calendars`, the members' ids, or
        `errors`, e.g. groupTooBig beyond groupExpansionMax, at most 100); a calendar that cannot
        be read has `errors` (notFound) instead of busy times."""
        fake = self.fake
        lo, hi = _dt(body["timeMin"]), _dt(body["timeMax"])
        calendars: dict[str, Any] = {}
        groups: dict[str, Any] = {}
        wanted: list[str] = []
        for item in body.get("items", []):
            gid = item["id"].lower()
            if gid in fake.groups:
                members = fake.groups[gid]
                if len(members) > min(int(body.get("groupExpansionMax") or 100), 100):
                    groups[item["id"]] = {"errors": [{"domain": "global", "reason": "groupTooBig"}]}
                else:
                    groups[item["id"]] = {"calendars": list(members)}
                    wanted.extend(members)
            else:
                wanted.append(item["id"])
        for cid in dict.fromkeys(wanted):
            email = cid.lower()
            if email not in fake.calendars:
                calendars[cid] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
            else:
                calendars[cid] = {"busy": self._busy(email, lo, hi)}
        out = {"kind": "calendar#freeBusy", "timeMin": body["timeMin"], "timeMax": body["timeMax"],
               "calendars": calendars}
        if groups:
            out["groups"] = groups
        return out

    def _event_for(self, user: str, eid: str) -> dict:
        for ev in self._visible(user, user):
            if ev["id"] == eid:
                return ev
        raise ApiError(404, "Not Found", "notFound")

    def _calendar(self, method: str, seg: list[str], p: dict, body: Any, user: str) -> tuple[int, Any, Optional[dict]]:
        fake = self.fake
        if seg == ["freeBusy"] and method == "POST":
            self._need("calendar.freebusy")
            return 200, self._freebusy(body), None
        if len(seg) < 3 or seg[0] != "calendars" or seg[2] != "events":
            raise ApiError(404, f"no Calendar route {method} {'/'.join(seg)}")
        cal_email = self._calendar_id(seg[1], user)
        self._need("calendar.read" if method == "GET" else "calendar.write")
        if len(seg) == 3 and method == "GET":
            events = self._visible(cal_email, user)
            tz = p.get("timeZone") or fake.calendars[cal_email].time_zone
            lo = _dt(p["timeMin"]) if p.get("timeMin") else None
            hi = _dt(p["timeMax"]) if p.get("timeMax") else None
            show_deleted = p.get("showDeleted") == "true"
            hits = [ev for ev in events if (show_deleted or ev.get("status") != "cancelled")
                    and (lo is None or _dt(ev["end"].get("dateTime") or ev["end"]["date"]) > lo)
                    and (hi is None or _dt(ev["start"].get("dateTime") or ev["start"]["date"]) < hi)]
            hits.sort(key=lambda ev: _dt(ev["start"].get("dateTime") or ev["start"]["date"]))
            page, token = _page(hits, p, 250, min(2500, fake.page_cap))
            out = {"kind": "calendar#events", "summary": cal_email, "timeZone": fake.calendars[cal_email].time_zone,
                   "items": [self._show(ev, user, tz) for ev in page]}
            if token:
                out["nextPageToken"] = token
            return 200, out, None
        if cal_email != user:
            raise ApiError(403, "You need to have writer access to this calendar.", "requiredAccessLevel")
        cal = fake.calendars[user]
        if len(seg) == 3 and method == "POST":
            eid = body.get("id") or f"ev{next(fake._ids):06d}"
            if not EVENT_ID.match(eid):
                raise ApiError(400, "Invalid resource id value.", "invalid")
            if fake.event(eid) is not None:
                raise ApiError(409, "The requested identifier already exists.", "duplicate")
            ev = {"kind": "calendar#event", "id": eid, "status": "confirmed", "summary": body.get("summary", ""),
                  "description": body.get("description", ""), "location": body.get("location", ""),
                  "start": body["start"], "end": body["end"], "organizer": {"email": user}, "creator": {"email": user},
                  "attendees": _attendees(body.get("attendees", [])),
                  "htmlLink": f"https://calendar.example/event?eid={eid}", "iCalUID": f"{eid}@google.com",
                  "sequence": 0, "created": "2025-03-01T00:00:00Z", "updated": "2025-03-01T00:00:00Z"}
            if "extendedProperties" in body:
                ev["extendedProperties"] = body["extendedProperties"]
            _check_times(ev)
            cal.events[eid] = ev
            return 200, self._show(ev, user, None), None
        eid = seg[3]
        if method == "GET":
            return 200, self._show(self._event_for(user, eid), user, p.get("timeZone")), None
        ev = self._event_for(user, eid)
        if ev["organizer"]["email"] != user:
            raise ApiError(403, "Forbidden for non-organizer", "forbiddenForNonOrganizer")
        if method == "PATCH":
            if ev["status"] == "cancelled":
                raise ApiError(410, "Resource has been deleted", "deleted")
            # Events: patch — "The field values you specify replace the existing values. Fields that
            # you don't specify in the request remain unchanged. Array fields, if specified,
            # overwrite the existing arrays; this discards any previous array elements." Objects
            # merge field by field; a JSON null clears a field.
            patch = dict(body)
            if "attendees" in patch:
                patch["attendees"] = _attendees(patch["attendees"] or [])
            merged = _merge(ev, patch)
            _check_times(merged)
            merged["sequence"] = ev.get("sequence", 0) + 1
            cal.events[eid] = merged
            return 200, self._show(merged, user, None), None
        if method == "DELETE":
            if ev["status"] == "cancelled":
                raise ApiError(410, "Resource has been deleted", "deleted")
            ev["status"] = "cancelled"
            return 204, None, None
        raise ApiError(404, f"no Calendar route {method} {'/'.join(seg)}")


def _as_sent(raw: bytes, account: str) -> bytes:
    """The message as Gmail sends it: Gmail gives it a Message-ID of its own, whatever the client
    wrote (reported for messages.send; why verify cannot rely on it), and sends it From the
    account's address when the client's From is not one of the account's send-as addresses
    (Gmail API users.settings.sendAs: the addresses an account may send as)."""
    msg = message_from_bytes(raw, policy=policy.default)
    del msg["Message-ID"]
    msg["Message-ID"] = f"<CA+{secrets.token_urlsafe(24)}@mail.gmail.com>"
    if {a.lower() for _, a in getaddresses([str(msg.get("From", ""))])} != {account}:
        del msg["From"]
        msg["From"] = account
    return msg.as_bytes()


def _missing():
    raise ApiError(404, "Requested entity was not found.", "notFound")


def mail(sender: str, to: str, subject: str, body: str = "", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(body)
    return msg


@pytest.fixture
def fake_google(monkeypatch):
    """A started fake Google, with WORKMODE_GOOGLE_* settings pointing at it."""
    from services.config import reset_settings

    fake = FakeGoogle().start()
    monkeypatch.setenv("WORKMODE_GOOGLE_API_BASE_URL", fake.url)
    monkeypatch.setenv("WORKMODE_GOOGLE_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("WORKMODE_GOOGLE_CLIENT_SECRET", fake.client_secret)
    monkeypatch.setenv("WORKMODE_PUBLIC_URL", "http://127.0.0.1:8000")
    reset_settings()
    yield fake
    fake.stop()
    reset_settings()


__all__ = ["FakeGoogle", "fake_google", "mail"]


# ---------------------------------------------------------------- a store with a connected person
ALEX, DANA, LEE = "alex@acme.example", "dana@acme.example", "lee@partner.example"


@dataclass
class GoogleWorld:
    """The fake Google plus a job store holding an organisation, two people and Alex's grant."""

    fake: FakeGoogle
    org_id: str
    principal_id: str
    email: str = ALEX
    time_zone: str = "Europe/London"

    def ctx(self, session, action_id: Optional[str] = None, executing_since: Optional[datetime] = None):
        from services.credentials.access import tool_context

        return tool_context(session=session, principal_id=self.principal_id, principal_email=self.email,
                            org_id=self.org_id, time_zone=self.time_zone, action_id=action_id,
                            executing_since=executing_since)

    def tool(self, name: str):
        from connectors.registry import connectors

        for slug in ("gmail", "gcal"):
            if name in connectors()[slug].tools:
                return connectors()[slug].tools[name]
        raise KeyError(name)

    def call(self, name: str, args: dict, action_id: Optional[str] = None):
        from sqlmodel import Session

        from services.store.db import get_engine

        tool = self.tool(name)
        with Session(get_engine()) as s:
            result = tool.run(self.ctx(s, action_id), tool.parse(args))
            s.commit()
        return result

    def verify(self, name: str, args: dict, action_id: str, since: Optional[datetime] = None):
        """The tool's verify, as the engine asks it for an action approved at `since`."""
        from sqlmodel import Session

        from services.store.db import get_engine

        tool = self.tool(name)
        with Session(get_engine()) as s:
            return tool.verify(self.ctx(s, action_id, since), tool.parse(args), action_id)


def make_world(fake: FakeGoogle, scopes: Optional[list[str]] = None, account: str = ALEX) -> GoogleWorld:
    """Alex (London) and Dana (New York) in one organisation; Alex has connected Google (the
    `account`, granted `scopes`: all Workmode asks for unless given)."""
    from sqlmodel import Session

    from services.credentials import service as credentials
    from services.store.db import get_engine
    from services.store.models import Organisation, Principal

    fake.add_user(ALEX, "Europe/London")
    fake.add_user(DANA, "America/New_York")
    fake.add_user(LEE, "Asia/Tokyo")
    with Session(get_engine()) as s:
        org = Organisation(name="Acme", domains=["acme.example"],
                           policy={"connectors": {"mail": "gmail", "calendar": "gcal"}})
        s.add(org)
        s.flush()
        alex = Principal(org_id=org.id, email=ALEX, name="Alex", time_zone="Europe/London")
        dana = Principal(org_id=org.id, email=DANA, name="Dana", time_zone="America/New_York")
        s.add_all([alex, dana])
        s.flush()
        credentials.save(session=s, principal_id=alex.id, provider="google", secret={
            "refresh_token": fake.grant(account, scopes), "token": None, "expiry": None, "scopes": [],
            "account": account})
        s.commit()
        return GoogleWorld(fake, org.id, alex.id)


@pytest.fixture
def google_world(fake_google, sqlite_url, monkeypatch):
    """The fake Google and a migrated SQLite store with Alex connected."""
    from tests.support.db import use_database

    use_database(sqlite_url, monkeypatch)
    return make_world(fake_google)
