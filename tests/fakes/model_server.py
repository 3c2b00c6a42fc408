"""A scripted OpenAI-compatible model server for tests (real HTTP, so worker processes can call it).

    with ScriptedModel() as model:                  # or the `scripted_model` pytest fixture
        model.push(tool_calls(("search", {"q": "x"})), text("the answer"))
        ...                                         # point WORKMODE_MODEL_BASE_URL at model.url

Replies are served in order, one per POST /v1/chat/completions. A script must say how it ends:
a request after the last reply is an overrun, answered with HTTP 400 and recorded, and the
`scripted_model` fixture (or leaving `with ScriptedModel()`) fails the test for it. A test that
means "this answer from now on" says so with `set_default`.

When the request uses the JSON-mode turn format (`response_format` json_schema named
"agent_turn", see services/model/jsonmode.py), `tool_calls`/`text` replies are encoded as that
JSON content; otherwise they are native `tool_calls` (with OpenAI-style ids like
"call_ab12cd34ef", which the client must replace) / `content`. JSON mode asks for one call per
reply: several calls in one JSON-mode reply are written as a model that ignores this writes them
on a server that does not enforce the schema, one JSON object per line; `content` given with
calls comes first, as prose.

Replies can also be cut at the output limit (`length`), leave out `usage` (`no_usage`), carry
no choices (`empty_choices`) or never come (`dropped`: the connection closes unanswered).
"""
from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from services.model import jsonmode

MODEL_ID = "scripted-model"


@dataclass
class Reply:
    kind: str  # "tool_calls" | "text" | "raw" | "error" | "delay" | "dynamic" | "empty_choices" | "dropped"
    calls: list[tuple[str, Any]] = field(default_factory=list)
    content: str = ""
    status: int = 200
    retry_after: float | str | None = None
    body: Any = None
    seconds: float = 0.0
    inner: Reply | None = None
    fn: Callable[[dict], Reply] | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning: str | None = None
    finish_reason: str | None = None
    usage: bool = True  # False: the completion has no `usage` object


# -- reply builders -------------------------------------------------------------------------------

def tool_calls(*calls: tuple[str, Any], prompt_tokens: int | None = None,
               completion_tokens: int | None = None, reasoning: str | None = None, content: str = "") -> Reply:
    """One turn with one or more tool calls: (name, arguments dict or raw JSON string) tuples,
    with `content` (text the model wrote besides the calls) if given."""
    if not calls:
        raise ValueError("tool_calls() needs at least one (name, arguments) tuple")
    return Reply("tool_calls", calls=[(n, a) for n, a in calls], prompt_tokens=prompt_tokens,
                 completion_tokens=completion_tokens, reasoning=reasoning, content=content)


def text(content: str, *, prompt_tokens: int | None = None, completion_tokens: int | None = None,
         reasoning: str | None = None) -> Reply:
    """A final answer."""
    return Reply("text", content=content, prompt_tokens=prompt_tokens,
                 completion_tokens=completion_tokens, reasoning=reasoning)


def raw(content: str, *, prompt_tokens: int | None = None, completion_tokens: int | None = None,
        finish_reason: str = "stop") -> Reply:
    """Assistant content verbatim, in any mode (e.g. broken JSON in JSON mode)."""
    return Reply("raw", content=content, prompt_tokens=prompt_tokens,
                 completion_tokens=completion_tokens, finish_reason=finish_reason)


def error(status: int, retry_after: float | str | None = None, body: Any = None) -> Reply:
    """An HTTP error (429 with a Retry-After header, 500, 400 ...)."""
    return Reply("error", status=status, retry_after=retry_after, body=body)


def delay(seconds: float, reply: Reply) -> Reply:
    """Sleep, then answer `reply` (to trigger client timeouts)."""
    return Reply("delay", seconds=seconds, inner=reply)


def dynamic(fn: Callable[[dict], Reply]) -> Reply:
    """Compute the reply from the request body (a dict) at request time."""
    return Reply("dynamic", fn=fn)


def length(reply: Reply) -> Reply:
    """`reply` cut off at the output token limit, as a server stops at `max_tokens`:
    `finish_reason: "length"`, and the text the model was writing (its answer, its JSON turn, or
    the arguments of its last tool call) ends halfway."""
    if reply.kind not in ("text", "tool_calls"):
        raise ValueError("length() cuts a text() or tool_calls() reply")
    return Reply(reply.kind, calls=list(reply.calls), content=reply.content, prompt_tokens=reply.prompt_tokens,
                 completion_tokens=reply.completion_tokens, reasoning=reply.reasoning, finish_reason="length",
                 usage=reply.usage)


def no_usage(reply: Reply) -> Reply:
    """`reply` without the `usage` object (some servers leave it out)."""
    return Reply(reply.kind, calls=list(reply.calls), content=reply.content, reasoning=reply.reasoning,
                 finish_reason=reply.finish_reason, usage=False)


def empty_choices() -> Reply:
    """HTTP 200 with `"choices": []` (a server that produced nothing)."""
    return Reply("empty_choices")


def dropped() -> Reply:
    """The connection closes after the request is read, with no response at all."""
    return Reply("dropped")


def _cut(text: str) -> str:
    return text[: max(1, len(text) // 2)]


# -- server ---------------------------------------------------------------------------------------

def _native_id() -> str:
    return "call_" + secrets.token_hex(6)


class ScriptedModel:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.url = ""
        self.in_flight = 0
        self.max_in_flight = 0
        self._script: list[Reply] = []
        self._default: Reply | None = None
        self.overruns: list[dict] = []  # requests that came after the script's last reply
        self.script_errors: list[str] = []  # replies that contradicted the request
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # script
    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def set_default(self, reply: Reply) -> None:
        with self._lock:
            self._default = reply

    @property
    def pending(self) -> int:
        """Scripted replies not yet served."""
        with self._lock:
            return len(self._script)

    def _next(self, body: dict) -> Reply | None:
        """The next reply; None (recorded) when the script has run out and there is no default."""
        with self._lock:
            if self._script:
                return self._script.pop(0)
            if self._default is None:
                self.overruns.append(body)
            return self._default

    def _script_error(self, message: str) -> None:
        with self._lock:
            self.script_errors.append(message)

    def problems(self) -> list[str]:
        """What was wrong with the script: overruns and replies that contradicted a request."""
        with self._lock:
            out = list(self.script_errors)
            if self.overruns:
                out.append(f"the script ran out: {len(self.overruns)} request(s) came after its last reply "
                           "(push the replies the test expects, ending with text(...), or set_default)")
            return out

    def _record(self, body: dict) -> None:
        with self._lock:
            self.requests.append(body)

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    # lifecycle
    def start(self) -> ScriptedModel:
        if self._server is not None:
            return self
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each keep-alive reply stalls ~40 ms (delayed ACK)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0].rstrip("/")
                if path in ("/health", "/v1/health"):
                    self._json(200, {"status": "ok"})
                elif path == "/v1/models":
                    # Also the production name (vLLM's --served-model-name in the presets), which
                    # the settings ask for by default; /readyz checks that the model is served.
                    self._json(200, {"object": "list", "data": [
                        {"id": name, "object": "model", "created": 0, "owned_by": "tests"}
                        for name in (MODEL_ID, "mistralai/Mistral-Medium-3.5-128B")]})
                else:
                    self._json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw_body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0].rstrip("/")
                if path != "/v1/chat/completions":
                    self._json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
                    return
                try:
                    body = json.loads(raw_body or b"{}")
                except ValueError:
                    self._json(400, {"error": {"message": "invalid JSON body", "type": "invalid_request"}})
                    return
                model._record(body)
                model._enter()
                try:
                    reply = model._next(body)
                    while reply is not None and reply.kind in ("delay", "dynamic"):
                        if reply.kind == "delay":
                            time.sleep(reply.seconds)
                            reply = reply.inner or model._next(body)
                        else:
                            assert reply.fn is not None  # dynamic() always sets it
                            reply = reply.fn(body)
                    if reply is None:
                        # Not retryable (400), so the job fails at once and says why.
                        self._json(400, {"error": {"message": "scripted model: the script ran out",
                                                   "type": "script_overrun"}})
                    elif reply.kind == "dropped":
                        self._drop()
                    else:
                        self._answer(body, reply)
                finally:
                    model._leave()

            def _drop(self) -> None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

            def _answer(self, body: dict, reply: Reply) -> None:
                if reply.kind == "error":
                    payload = reply.body if reply.body is not None else {
                        "error": {"message": f"scripted error {reply.status}", "type": "scripted",
                                  "code": reply.status}}
                    headers = {}
                    if reply.retry_after is not None:
                        headers["Retry-After"] = str(reply.retry_after)
                    self._json(reply.status, payload, headers)
                    return
                forced = ((body.get("tool_choice") or {}) if isinstance(body.get("tool_choice"), dict) else {})
                forced_name = (forced.get("function") or {}).get("name")
                answers = reply.kind in ("tool_calls", "text", "raw")  # not a broken reply (empty_choices)
                if forced_name and answers and not (reply.kind == "tool_calls" and reply.calls[0][0] == forced_name):
                    # A real server would have forced this tool: a script that says otherwise is wrong.
                    model._script_error(f"a reply contradicts tool_choice={forced_name}")
                    self._json(500, {"error": {"message": f"script contradicts tool_choice={forced_name}",
                                               "type": "script_error"}})
                    return
                self._json(200, model._completion(body, reply))

            def _json(self, status: int, payload: Any, headers: dict | None = None) -> None:
                data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, name="scripted-model",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> ScriptedModel:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
        if exc[0] is None and self.problems():
            raise AssertionError("scripted model: " + "; ".join(self.problems()))

    # response bodies
    def _completion(self, body: dict, reply: Reply) -> dict:
        json_mode = jsonmode.is_turn_format(body.get("response_format"))
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = "stop"
        cut = reply.finish_reason == "length"
        if reply.kind == "empty_choices":
            choices: list[dict] = []
        elif reply.kind == "tool_calls":
            if json_mode:
                turns = [jsonmode.encode_turn(name, args) for name, args in reply.calls]
                content = "\n".join([reply.content, *turns] if reply.content else turns)
                message["content"] = _cut(content) if cut else content
            else:
                calls = [{"id": _native_id(), "type": "function",
                          "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
                         for name, args in reply.calls]
                if cut:  # the model was writing the last call's arguments when the limit came
                    calls[-1]["function"]["arguments"] = _cut(calls[-1]["function"]["arguments"])
                message["tool_calls"] = calls
                message["content"] = reply.content or None
                finish = "tool_calls"
        elif reply.kind == "text":
            content = jsonmode.encode_final(reply.content) if json_mode else reply.content
            message["content"] = _cut(content) if cut else content
        else:  # raw
            message["content"] = reply.content
            finish = reply.finish_reason or "stop"
        if cut:
            finish = "length"
        if reply.reasoning:
            message["reasoning_content"] = reply.reasoning
        prompt = reply.prompt_tokens
        if prompt is None:
            prompt = max(1, len(json.dumps(body.get("messages", []))) // 4)
        completion = 20 if reply.completion_tokens is None else reply.completion_tokens
        if reply.kind != "empty_choices":
            choices = [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}]
        completion_body: dict[str, Any] = {
            "id": "chatcmpl-" + secrets.token_hex(8),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or MODEL_ID,
            "choices": choices,
        }
        if reply.usage:
            completion_body["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion,
                                        "total_tokens": prompt + completion}
        return completion_body


@pytest.fixture
def scripted_model(monkeypatch):
    """A running ScriptedModel; WORKMODE_MODEL_BASE_URL points at it (settings reset). The test
    fails at teardown if its script ran out or contradicted a request."""
    from services.config import reset_settings

    model = ScriptedModel().start()
    monkeypatch.setenv("WORKMODE_MODEL_BASE_URL", model.url)
    reset_settings()
    try:
        yield model
    finally:
        model.stop()
        reset_settings()
    if model.problems():
        pytest.fail("scripted model: " + "; ".join(model.problems()), pytrace=False)
