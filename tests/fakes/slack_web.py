"""A local Slack Web API for tests of the Slack *connector* (tests/fakes/slack_api.py is the Slack
app's). Point `WebClient(base_url=fake.url)` at it, the way bolt-python's own tests do.

    with FakeSlack() as slack:                     # or the `fake_slack` fixture
        dana = slack.add_user("dana@northwind.example", "Dana Kim")
        eng = slack.add_channel("eng")
        slack.add_message(eng, dana, "deploy at 5?")

Methods, shaped after the documented responses: auth.test, conversations.list / info / history /
replies (cursor pagination through response_metadata.next_cursor; oldest/latest; message metadata
only with include_all_metadata), conversations.open / join, users.info, users.lookupByEmail,
team.info (`add_team`; a channel `shared_with` other teams is a Slack Connect channel),
chat.postMessage (JSON or form body; `metadata` as an object or a JSON string). Arguments come
from the query string, a form body or a JSON body; the token from the Authorization header.
`fail(...)` makes the next calls of a method answer an HTTP status (429 with Retry-After, 500)
or an `ok: false` error, or stall past the client's timeout.

As strict as Slack where Workmode depends on it:
- Scopes: every method checks the bot token's scopes — by default exactly what the app's
  manifest requests (tests/fakes/slack_scopes.py has the method → scope table from Slack's method
  reference) — and answers `missing_scope` with `needed` and `provided`. `FakeSlack(scopes=...)`
  installs the app with other scopes.
- Membership: with chat:write.public the bot posts in a public channel without joining it, and
  posting does not make it a member; reading history or a thread still needs membership
  (`not_in_channel`); conversations.join adds it.
- Private channels the bot is not in do not exist for its token (`channel_not_found`), and
  conversations.list leaves them out.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.local_server import LocalServer
from tests.fakes.slack_scopes import IM, POST_WITHOUT_JOINING, PRIVATE, PUBLIC, TYPE_KIND, manifest_scopes, required

BOT_TOKEN = "xoxb-test-bot-token"
BOT_USER, BOT_ID = "UBOT00001", "BBOT00001"
TEAM = "T0NORTHWIND"  # the app's own workspace


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any):
        super().__init__(error)
        self.error, self.extra = error, extra


@dataclass
class Fault:
    method: str
    status: int = 200
    error: Optional[str] = None
    retry_after: Optional[str] = None
    times: int = 1
    delay_s: float = 0.0


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: Optional[str]) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().split(":")[1])
    except (ValueError, IndexError):
        raise SlackError("invalid_cursor") from None


class FakeSlack(LocalServer):
    url_path = "/api/"

    def __init__(self, scopes: Optional[Iterable[str]] = None) -> None:
        self.scopes: set[str] = set(manifest_scopes() if scopes is None else scopes)  # the bot token's
        self.users: dict[str, dict] = {}
        self.teams: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.messages: dict[str, list[dict]] = {}
        self.calls: list[dict] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._n = 0
        self._last_ts = 0.0
        self.add_team("Northwind", "northwind", "northwind.example", team_id=TEAM)
        self.add_user("workmode-bot@northwind.example", "Workmode", user_id=BOT_USER, bot=True)

    # ------------------------------------------------------------ world
    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n:08d}"

    def next_ts(self) -> str:
        with self.lock:
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            return f"{self._last_ts:.6f}"

    def add_user(self, email: str, name: str, *, tz: str = "Europe/London", user_id: Optional[str] = None,
                 bot: bool = False) -> str:
        with self.lock:
            uid = user_id or self._id("U")
            self.users[uid] = {"id": uid, "team_id": TEAM, "name": email.split("@")[0], "real_name": name,
                               "tz": tz, "is_bot": bot, "deleted": False,
                               "profile": {"email": email, "real_name": name, "display_name": name}}
            return uid

    def add_team(self, name: str, domain: str, email_domain: str = "", *, team_id: Optional[str] = None) -> str:
        """A workspace, as team.info describes it (`email_domain`: comma separated when several,
        empty when none is set)."""
        with self.lock:
            tid = team_id or self._id("T")
            self.teams[tid] = {"id": tid, "name": name, "domain": domain, "email_domain": email_domain}
            return tid

    def add_channel(self, name: str, *, private: bool = False, member: bool = True,
                    shared_with: Iterable[str] = (), pending_with: Iterable[str] = ()) -> str:
        """`shared_with`: other teams connected to it (Slack Connect); `pending_with`: teams invited
        that have not accepted yet. The conversation object then says so the way Slack does
        (https://docs.slack.dev/reference/objects/conversation-object): `is_shared` and
        `is_ext_shared` true, `connected_team_ids` and `shared_team_ids` naming every team in it,
        ours included; `is_pending_ext_shared` and `pending_connected_team_ids` for invitations."""
        with self.lock:
            cid = self._id("G" if private else "C")
            teams, pending = [TEAM, *shared_with], list(pending_with)
            self.channels[cid] = {"id": cid, "name": name, "is_channel": not private, "is_group": private,
                                  "is_im": False, "is_private": private, "is_archived": False,
                                  "is_shared": len(teams) > 1, "is_ext_shared": len(teams) > 1,
                                  "is_org_shared": False, "is_pending_ext_shared": bool(pending),
                                  "context_team_id": TEAM, "shared_team_ids": teams, "connected_team_ids": teams,
                                  "pending_connected_team_ids": pending, "pending_shared": pending,
                                  "members": {BOT_USER} if member else set()}
            self.messages[cid] = []
            return cid

    def add_message(self, channel: str, user: str, text: str, *, thread_ts: Optional[str] = None,
                    metadata: Optional[dict] = None) -> str:
        with self.lock:
            ts = self.next_ts()
            msg: dict[str, Any] = {"type": "message", "ts": ts, "user": user, "text": text}
            if user == BOT_USER:
                msg["bot_id"] = BOT_ID
            if thread_ts:
                parent = self._message(channel, thread_ts)
                msg["thread_ts"] = thread_ts
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = ts
            if metadata:
                msg["metadata"] = metadata
            self.messages[channel].append(msg)
            return ts

    def posted(self, action_id: Optional[str] = None) -> list[dict]:
        """Messages the bot posted (with this action's metadata, if given), with their channel."""
        with self.lock:
            return [{**m, "channel": c} for c, msgs in self.messages.items() for m in msgs
                    if m.get("user") == BOT_USER and (action_id is None or
                    (m.get("metadata") or {}).get("event_payload", {}).get("action_id") == action_id)]

    def fail(self, method: str, *, status: int = 200, error: Optional[str] = None, retry_after: Optional[str] = None,
             times: int = 1, delay_s: float = 0.0) -> None:
        with self.lock:
            self.faults.append(Fault(method, status, error, retry_after, times, delay_s))

    def called(self, method: str) -> list[dict]:
        with self.lock:
            return [c["args"] for c in self.calls if c["method"] == method]

    # ------------------------------------------------------------ lifecycle (LocalServer)
    def handler(self):
        return _handler(self)

    # ------------------------------------------------------------ methods
    def _need(self, method: str, kind: Optional[str] = None) -> None:
        """Slack checks the token's scopes first: `missing_scope` names the one needed and the ones
        granted (https://docs.slack.dev/reference/methods/<method>, "Scopes")."""
        needed = required(method, kind)
        if needed is not None and needed not in self.scopes:
            raise SlackError("missing_scope", needed=needed, provided=",".join(sorted(self.scopes)))

    @staticmethod
    def _kind(ch: dict) -> str:
        return IM if ch["is_im"] else PRIVATE if ch["is_private"] else PUBLIC

    def _channel(self, ref: Optional[str]) -> dict:
        """A conversation the bot's token can see. A private channel exists for a token only once its
        app is a member: groups:read is "View basic information about private channels that your
        Slack app has been added to" (https://docs.slack.dev/reference/scopes/groups.read), private
        membership "is only listed when the calling user, bot user, or app shares membership"
        (https://docs.slack.dev/reference/methods/users.conversations); any other id answers
        channel_not_found ("Value passed for channel was invalid")."""
        ref = (ref or "").lstrip("#")
        ch = self.channels.get(ref) or next((c for c in self.channels.values() if c["name"] == ref), None)
        if ch is None or (ch["is_private"] and BOT_USER not in ch["members"]):
            raise SlackError("channel_not_found")
        return ch

    def _readable(self, method: str, ref: Optional[str]) -> dict:
        """conversations.history / replies: channels:history "View messages and other content in
        public channels that your Slack app has been added to" — a member, or `not_in_channel`."""
        ch = self._channel(ref)
        self._need(method, self._kind(ch))
        if BOT_USER not in ch["members"]:
            raise SlackError("not_in_channel")
        return ch

    def _message(self, channel: str, ts: str) -> dict:
        for m in self.messages[channel]:
            if m["ts"] == ts:
                return m
        raise SlackError("thread_not_found")

    def _user(self, uid: Optional[str]) -> dict:
        if uid not in self.users:
            raise SlackError("user_not_found")
        return self.users[uid]

    @staticmethod
    def _show(m: dict, metadata: bool) -> dict:
        return {k: v for k, v in m.items() if metadata or k != "metadata"}

    @staticmethod
    def _conversation(ch: dict) -> dict:
        return {k: v for k, v in ch.items() if k != "members"} | {"is_member": BOT_USER in ch["members"]}

    @staticmethod
    def _window(msgs: list[dict], a: dict) -> list[dict]:
        oldest, latest = float(a.get("oldest") or 0), float(a.get("latest") or 9e12)
        return [m for m in msgs if oldest < float(m["ts"]) < latest]

    def call(self, method: str, a: dict) -> dict:
        flag = lambda name: str(a.get(name, "")).lower() in ("1", "true")  # noqa: E731  (one-line argument readers local to this handler)
        limit = lambda default, most: max(1, min(int(a.get("limit") or default), most))  # noqa: E731  (one-line argument readers local to this handler)
        if method == "auth.test":
            return {"url": "https://northwind.slack.com/", "team": "Northwind", "user": "workmode",
                    "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID}
        if method == "conversations.list":
            types = str(a.get("types") or "public_channel").split(",")
            for t in types:  # each type asked for needs its scope (channels:read, groups:read, …):
                # "required scopes depend on the type of channel-like object you're working with"
                self._need(method, TYPE_KIND.get(t, PUBLIC))
            chans = [c for c in self.channels.values() if not c["is_im"] and
                     ("private_channel" if c["is_private"] else "public_channel") in types and
                     (not c["is_private"] or BOT_USER in c["members"])]
            start, size = _offset(a.get("cursor")), limit(100, 1000)
            more = start + size < len(chans)
            return {"channels": [self._conversation(c) for c in chans[start:start + size]],
                    "response_metadata": {"next_cursor": _cursor(start + size) if more else ""}}
        if method == "conversations.info":
            ch = self._channel(a.get("channel"))
            self._need(method, self._kind(ch))
            return {"channel": self._conversation(ch)}
        if method == "conversations.history":
            ch = self._readable(method, a.get("channel"))
            top = [m for m in self.messages[ch["id"]] if m.get("thread_ts", m["ts"]) == m["ts"]]
            top = list(reversed(self._window(top, a)))
            start, size = _offset(a.get("cursor")), limit(100, 999)
            more = start + size < len(top)
            return {"messages": [self._show(m, flag("include_all_metadata")) for m in top[start:start + size]],
                    "has_more": more, "pin_count": 0,
                    "response_metadata": {"next_cursor": _cursor(start + size) if more else ""}}
        if method == "conversations.replies":
            ch = self._readable(method, a.get("channel"))
            parent = self._message(ch["id"], str(a.get("ts")))
            thread = [parent] + [m for m in self.messages[ch["id"]]
                                 if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]]
            thread = [parent, *self._window(thread[1:], a)] if a.get("oldest") else thread
            start, size = _offset(a.get("cursor")), limit(1000, 1000)
            more = start + size < len(thread)
            return {"messages": [self._show(m, flag("include_all_metadata")) for m in thread[start:start + size]],
                    "has_more": more, "response_metadata": {"next_cursor": _cursor(start + size) if more else ""}}
        if method == "conversations.join":
            self._need(method)
            ch = self._channel(a.get("channel"))
            if ch["is_private"] or ch["is_im"]:  # only public channels can be joined (channels:join)
                raise SlackError("method_not_supported_for_channel_type")
            ch["members"].add(BOT_USER)
            return {"channel": self._conversation(ch)}
        if method == "conversations.open":
            self._need(method)
            uid = str(a.get("users") or "").split(",")[0]
            self._user(uid)
            ch = next((c for c in self.channels.values() if c["is_im"] and c.get("user") == uid), None)
            if ch is None:
                cid = self._id("D")
                ch = self.channels[cid] = {"id": cid, "is_im": True, "is_private": True, "user": uid,
                                           "members": {BOT_USER, uid}, "name": None}
                self.messages[cid] = []
            return {"channel": {"id": ch["id"]}}
        if method == "users.info":
            self._need(method)
            return {"user": self._user(a.get("user"))}
        if method == "users.lookupByEmail":
            self._need(method)
            email = str(a.get("email") or "").lower()
            user = next((u for u in self.users.values() if u["profile"]["email"] == email), None)
            if user is None:
                raise SlackError("users_not_found")
            return {"user": user}
        if method == "team.info":
            # "Team to get info about; if omitted, will return information about the current team";
            # an unknown one answers team_not_found (https://docs.slack.dev/reference/methods/team.info).
            self._need(method)
            team = self.teams.get(str(a.get("team") or TEAM))
            if team is None:
                raise SlackError("team_not_found")
            return {"team": dict(team)}
        if method == "chat.postMessage":
            return self.post_message(a)
        raise SlackError("unknown_method", req_method=method)

    def post_message(self, a: dict) -> dict:
        self._need("chat.postMessage")
        ch = self._channel(a.get("channel"))
        # chat:write.public posts in a public channel without joining it (the bot stays a
        # non-member; https://docs.slack.dev/reference/scopes/chat.write.public: "Send messages to
        # channels your Slack app isn't a member of"); without it, or anywhere else, the bot must be
        # in the conversation: not_in_channel, "Cannot post user messages to a channel they are not in".
        public = not (ch["is_private"] or ch["is_im"])
        if BOT_USER not in ch["members"] and not (public and POST_WITHOUT_JOINING in self.scopes):
            raise SlackError("not_in_channel")
        if not a.get("text") and not a.get("blocks"):
            raise SlackError("no_text")
        metadata = a.get("metadata")
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError:
                raise SlackError("invalid_metadata_format") from None
        if metadata is not None and not (isinstance(metadata, dict) and metadata.get("event_type")
                                         and isinstance(metadata.get("event_payload"), dict)):
            raise SlackError("invalid_metadata_schema")
        thread_ts = a.get("thread_ts") or None
        if thread_ts:
            self._message(ch["id"], thread_ts)
        ts = self.add_message(ch["id"], BOT_USER, a["text"], thread_ts=thread_ts, metadata=metadata)
        return {"channel": ch["id"], "ts": ts, "message": self._show(self._message(ch["id"], ts), False)}

    def take_fault(self, method: str) -> Optional[Fault]:
        with self.lock:
            for f in self.faults:
                if f.method == method:
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
        return None


def _handler(fake: FakeSlack):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._serve(self.rfile.read(length) if length else b"")

        def _serve(self, raw: bytes) -> None:
            parts = urlsplit(self.path)
            method = parts.path.rsplit("/", 1)[-1]
            args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            ctype = self.headers.get("Content-Type", "")
            if raw and "json" in ctype:
                args.update(json.loads(raw))
            elif raw:
                args.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
            token = self.headers.get("Authorization", "").removeprefix("Bearer ") or args.pop("token", "")
            with fake.lock:
                fake.calls.append({"method": method, "args": dict(args)})
            fault = fake.take_fault(method)
            if fault is not None:
                if fault.delay_s:
                    time.sleep(fault.delay_s)
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                if fault.error:
                    return self._send(fault.status, {"ok": False, "error": fault.error}, headers)
                return self._send(fault.status, {"ok": False, "error": "ratelimited" if fault.status == 429
                                                 else "internal_error"}, headers)
            if token != BOT_TOKEN:
                return self._send(200, {"ok": False, "error": "invalid_auth"})
            try:
                with fake.lock:
                    body = {"ok": True, **fake.call(method, args)}
            except SlackError as exc:
                body = {"ok": False, "error": exc.error, **exc.extra}
            self._send(200, body)

        def _send(self, status: int, body: dict, headers: Optional[dict] = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def fake_slack():
    with FakeSlack() as slack:
        yield slack
