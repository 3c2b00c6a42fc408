"""A local HTTP server that speaks the Slack Web API methods Workmode calls, for tests.

    with FakeSlack() as slack:                 # or the `slack_api` fixture
        WebClient(token="xoxb-test", base_url=slack.api_url)   # what WORKMODE_SLACK_API_URL points at
        slack.calls("chat.postMessage")        # recorded calls, arguments as sent
        slack.message(channel, ts)             # a message as it looks now (after chat.update)
        slack.rate_limit("chat.update", times=1, retry_after=1)

Responses follow Slack's documented shapes (`{"ok": true, "channel": ..., "ts": ...}`, errors as
`{"ok": false, "error": "channel_not_found"}`, 429 with `Retry-After` for rate limits); every
method checks the bot token's scopes against Slack's table (tests/fakes/slack_scopes.py), granted
as the manifest requests them. Response
URLs (`/response/<id>`) accept the JSON a `respond()` sends. Users are the sandbox's people.
"""
from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

import pytest

from tests.fakes.slack_scopes import manifest_scopes, missing_scope, required

TEAM = "T0NORTH"
BOT_USER = "U0BOT"
BOT_ID = "B0BOT"
PEOPLE = {  # Slack users: id -> (email, name, tz)
    "U0ALEX": ("alex@northwind.example", "alex", "Europe/London"),
    "U0DANA": ("dana@northwind.example", "dana", "America/New_York"),
    "U0PRIYA": ("priya@northwind.example", "priya", "Europe/London"),
    "U0SAM": ("sam@northwind.example", "sam", "America/New_York"),
    "U0STRANGER": ("stranger@elsewhere.example", "stranger", "UTC"),
}


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class SlackMessage:
    channel: str
    ts: str
    text: str = ""
    blocks: list = field(default_factory=list)
    thread_ts: str | None = None
    updates: int = 0


class FakeSlack:
    def __init__(self) -> None:
        self.calls_made: list[Call] = []
        self.responses: list[tuple[str, dict]] = []  # (response_url id, body)
        self.messages: dict[tuple[str, str], SlackMessage] = {}
        self.users = dict(PEOPLE)
        self.not_in: set[str] = set()  # channels where chat.postMessage answers not_in_channel
        self.scopes = set(manifest_scopes())  # the bot token's: what infra/slack/manifest.yml requests
        self.url = ""
        self._limits: dict[str, list] = {}
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ test API
    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.url}/response/{name}"

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls_made if method is None or c.method == method]

    def message(self, channel: str, ts: str) -> SlackMessage:
        with self._lock:
            return self.messages[(channel, ts)]

    def thread(self, channel: str, ts: str) -> list[SlackMessage]:
        """Replies in the thread under (channel, ts), oldest first."""
        with self._lock:
            return sorted((m for m in self.messages.values() if m.channel == channel and m.thread_ts == ts),
                          key=lambda m: float(m.ts))

    def in_channel(self, channel: str) -> list[SlackMessage]:
        with self._lock:
            return sorted((m for m in self.messages.values() if m.channel == channel), key=lambda m: float(m.ts))

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` get 429 with Retry-After."""
        with self._lock:
            self._limits[method] = [times, retry_after]

    def responded(self) -> list[dict]:
        with self._lock:
            return [body for _name, body in self.responses]

    # ------------------------------------------------------------------ server
    def __enter__(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                self._handle()

            def do_POST(self):
                self._handle()

            def _handle(self):
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                args: dict[str, Any] = dict(parse_qsl(url.query))
                ctype = self.headers.get("Content-Type", "")
                if raw and "json" in ctype:
                    args.update(json.loads(raw))
                elif raw:
                    args.update(dict(parse_qsl(raw)))
                if url.path.startswith("/response/"):
                    with fake._lock:
                        fake.responses.append((url.path.rsplit("/", 1)[-1], args))
                    return self._send(200, "ok", "text/plain")
                if not url.path.startswith("/api/"):
                    return self._send(404, {"ok": False, "error": "unknown_method"})
                method = url.path[len("/api/"):]
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ") or args.pop("token", None)
                status, body, headers = fake._dispatch(method, args, token)
                self._send(status, body, headers=headers)

            def _send(self, status, body, ctype="application/json", headers=None):
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------------ Web API methods
    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _dispatch(self, method: str, args: dict, token: str | None) -> tuple[int, dict, dict]:
        with self._lock:
            self.calls_made.append(Call(method, dict(args), token))
            limit = self._limits.get(method)
            if limit and limit[0] > 0:
                limit[0] -= 1
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(limit[1])}
            if not token:
                return 200, {"ok": False, "error": "not_authed"}, {}
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                return 200, {"ok": False, "error": "unknown_method"}, {}
            needed = required(method)  # the app's methods need one scope whatever the conversation
            if needed is not None and needed not in self.scopes:
                return 200, missing_scope(needed, self.scopes), {}
            return 200, handler(args), {}

    @staticmethod
    def _json_arg(value):
        return json.loads(value) if isinstance(value, str) else (value or [])

    def _m_auth_test(self, args):
        return {"ok": True, "url": "https://northwind.slack.com/", "team": "Northwind Labs", "user": "workmode",
                "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _m_chat_postMessage(self, args):
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.not_in:
            return {"ok": False, "error": "not_in_channel"}
        if not (args.get("text") or args.get("blocks")):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        msg = SlackMessage(channel, ts, args.get("text", ""), self._json_arg(args.get("blocks")), args.get("thread_ts"))
        self.messages[(channel, ts)] = msg
        return {"ok": True, "channel": channel, "ts": ts,
                "message": {"type": "message", "text": msg.text, "ts": ts, "bot_id": BOT_ID, "user": BOT_USER}}

    def _m_chat_update(self, args):
        key = (args.get("channel"), args.get("ts"))
        msg = self.messages.get(key)
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        msg.text = args.get("text", msg.text)
        if "blocks" in args:
            msg.blocks = self._json_arg(args["blocks"])
        msg.updates += 1
        return {"ok": True, "channel": msg.channel, "ts": msg.ts, "text": msg.text}

    def _m_chat_postEphemeral(self, args):
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "channel_not_found" if not args.get("channel") else "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_conversations_open(self, args):
        users = args.get("users", "")
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        first = users.split(",")[0]
        if first not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": "D" + first[1:]}}

    def _m_users_info(self, args):
        user = args.get("user")
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        email, name, tz = self.users[user]
        return {"ok": True, "user": {"id": user, "team_id": TEAM, "name": name, "real_name": name.title(), "tz": tz,
                                     "is_bot": False, "profile": {"email": email, "real_name": name.title()}}}

    def _m_users_lookupByEmail(self, args):
        for user, (email, _name, _tz) in self.users.items():
            if email == args.get("email"):
                return self._m_users_info({"user": user})
        return {"ok": False, "error": "users_not_found"}

    def _view(self, args, kind: str):
        view = self._json_arg(args.get("view")) or {}
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            return {"ok": False, "error": "invalid_arguments"}
        if len(view.get("blocks", [])) > 100:
            return {"ok": False, "error": "invalid_blocks"}
        view = dict(view, id="V" + self._next_ts().replace(".", ""))
        return {"ok": True, "view": view}

    def _m_views_open(self, args):
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return self._view(args, "modal")

    def _m_views_update(self, args):
        return self._view(args, "modal")

    def _m_views_publish(self, args):
        if not args.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return self._view(args, "home")


# ---------------------------------------------------------------------- Slack's side of requests
class SlackSender:
    """Sends requests to Workmode's /slack/events exactly as Slack does: form or JSON bodies,
    signed with HMAC-SHA256 over `v0:{timestamp}:{body}` with the signing secret."""

    def __init__(self, http, secret: str, fake: FakeSlack, path: str = "/slack/events"):
        self.http, self.secret, self.fake, self.path = http, secret, fake, path
        self._ids = itertools.count(1)

    def sign(self, body: str, ts: str) -> str:
        import hashlib
        import hmac

        return "v0=" + hmac.new(self.secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()

    def post(self, body: str, content_type: str, *, ts: int | None = None, signature: str | None = None,
             headers: dict | None = None):
        import time

        stamp = str(int(time.time()) if ts is None else ts)
        sent = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": signature or self.sign(body, stamp), **(headers or {})}
        return self.http.post(self.path, content=body.encode(), headers=sent)

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}"

    # ------------------------------------------------------------------ bodies
    def command_body(self, text: str, *, user: str = "U0ALEX", channel: str = "C0GENERAL",
                     trigger_id: str | None = None) -> str:
        from urllib.parse import urlencode

        return urlencode({
            "token": "legacy-verification-token", "team_id": TEAM, "team_domain": "northwind",
            "channel_id": channel, "channel_name": "general",
            "user_id": user, "user_name": PEOPLE.get(user, ("", "x"))[1],
            "command": "/work", "text": text, "api_app_id": "A0WORK", "is_enterprise_install": "false",
            "response_url": self.fake.response_url(self.next_id("cmd")),
            "trigger_id": trigger_id or self.next_id("trig."),
        })

    def command(self, text: str, **kw):
        return self.post(self.command_body(text, **kw), "application/x-www-form-urlencoded")

    def interaction(self, payload: dict, **kw):
        from urllib.parse import urlencode

        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **kw)

    def click(self, action_id: str, value: str, *, user: str, message: SlackMessage | None = None,
              home: bool = False, trigger_id: str | None = None):
        payload: dict[str, Any] = {
            "type": "block_actions", "user": {"id": user, "username": PEOPLE.get(user, ("", "x"))[1], "team_id": TEAM},
            "api_app_id": "A0WORK", "token": "legacy-verification-token", "team": {"id": TEAM, "domain": "northwind"},
            "trigger_id": trigger_id or self.next_id("trig."),
            "actions": [{"action_id": action_id, "block_id": "wm_approval", "type": "button", "value": value,
                         "text": {"type": "plain_text", "text": action_id}, "action_ts": "1700000001.000001"}],
        }
        if home:
            payload.update(container={"type": "view", "view_id": "VHOME"}, view={"id": "VHOME", "type": "home"})
        else:
            payload.update(
                container={"type": "message", "message_ts": message.ts, "channel_id": message.channel,
                           "is_ephemeral": False},
                channel={"id": message.channel, "name": "general"},
                message={"type": "message", "ts": message.ts, "thread_ts": message.thread_ts, "text": message.text,
                         "blocks": message.blocks},
                response_url=self.fake.response_url(self.next_id("act")))
        return self.interaction(payload)

    def submit(self, view: dict, *, user: str, values: dict):
        payload = {
            "type": "view_submission", "team": {"id": TEAM, "domain": "northwind"},
            "user": {"id": user, "username": PEOPLE.get(user, ("", "x"))[1], "team_id": TEAM},
            "api_app_id": "A0WORK", "token": "legacy-verification-token", "trigger_id": self.next_id("trig."),
            "view": {**view, "team_id": TEAM, "state": {"values": values}, "hash": "1700000002.abc"},
            "response_urls": [],
        }
        return self.interaction(payload)

    def event(self, event: dict, *, event_id: str | None = None, retry: int | None = None):
        envelope = {"token": "legacy-verification-token", "team_id": TEAM, "api_app_id": "A0WORK", "event": event,
                    "type": "event_callback", "event_id": event_id or self.next_id("Ev"), "event_time": 1700000000,
                    "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}]}
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return self.post(json.dumps(envelope), "application/json", headers=headers)


def form_values(view: dict, **overrides: Any) -> dict:
    """The `state.values` Slack would send for a modal left as shown, with some fields changed
    (by block id suffix, e.g. body="new text"; a list for multi-line list fields)."""
    values: dict = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element, name = block["element"], block["block_id"].split(":", 1)[-1]
        kind = element["type"]
        if kind == "static_select":
            chosen = overrides.get(name)
            option = ({"text": {"type": "plain_text", "text": str(chosen)}, "value": str(chosen)} if chosen is not None
                      else element.get("initial_option"))
            values[block["block_id"]] = {element["action_id"]: {"type": kind, "selected_option": option}}
            continue
        value = overrides.get(name, element.get("initial_value"))
        if isinstance(value, list):
            value = "\n".join(value)
        values[block["block_id"]] = {element["action_id"]: {"type": kind, "value": value if value != "" else None}}
    return values


SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-0000-test-token"


@dataclass
class SlackWorld:
    fake: FakeSlack
    send: SlackSender
    http: Any


@pytest.fixture
def slack_api():
    with FakeSlack() as fake:
        yield fake
