"""Local OpenAI-compatible servers that behave like the model engines Workmode meets, each with
one documented quirk switched on, for `workmode model check` (services/model/check.py).

    with EngineServer.healthy() as engine:          # vLLM serving Mistral Medium 3.5 as the preset does
        EndpointCheck(engine.url, engine.model, engine.api_key, ...).run()

The "model" follows instructions mechanically: asked to call tools ("- `name` with arguments
{...}" lines), it calls them; asked for a schema, it answers one; asked a sum, it answers it.
What each switch imitates, and whose documentation says so:
- `api_key`: vLLM started with --api-key (or VLLM_API_KEY) answers 401 {"error": "Unauthorized"}
  to /v1 requests without `Authorization: Bearer <key>` (docs.vllm.ai, OpenAI-compatible server).
- `/v1/models` lists `max_model_len` per model, as vLLM does; `list_context=False` lists none
  (most other servers), so the check must probe.
- `max_model_len`: vLLM refuses prompt + max_tokens beyond it with HTTP 400 "This model's maximum
  context length is N tokens. However, you requested M tokens ...".
- `reasoning_effort=False`: a server that validates request bodies strictly and refuses fields it
  does not know with 400 ("extra inputs are not permitted"; Mistral's API is strict with
  unrecognized parameters, per LibreChat's notes on its Mistral endpoint).
- `tool_parser=False`: no tool-call parser (vLLM without --tool-call-parser mistral, or a GGUF
  whose template has no tools): Mistral's raw `[TOOL_CALLS]name[ARGS]{...}` stays in the content.
- `reasoning_parser=False`: no --reasoning-parser: `[THINK]…[/THINK]` stays in the content
  (vLLM's recipe for Mistral Medium 3.5: the parser moves it to `reasoning_content`).
- `json_schema=False`: `response_format` is ignored and the answer is prose.
- `mistral_ids=True`: Mistral's tokenizer (vLLM --tokenizer-mode mistral) refuses tool-call ids
  that are not 9 letters and digits: "Tool call id was … but must be a-z, A-Z, 0-9, with a length of 9".
- `plain_chat`: how a plain request (no tools, schema or reasoning_effort) is answered: "ok";
  "error", HTTP 500 as an engine whose request failed inside ({"object": "error", "type":
  "InternalServerError"}, vLLM's error body); "empty", no content (a chat template that renders the
  conversation wrongly ends the answer at once); "garbage", text unrelated to the prompt (weights
  decoded with the wrong tokenizer, e.g. a Mistral-format checkpoint without --tokenizer-mode mistral).
- `parallel_calls`: how two calls asked for in one reply come back: "all"; "first", only the first
  (a chat template or tool parser that emits one call per turn); "mangled", the later calls keep
  Mistral's raw `[TOOL_CALLS]name[ARGS]{...}` in their arguments (the unparseable arguments vLLM PR
  #37081 describes for Mistral's tool parser).
- `metrics`: "vllm" exposes vllm:prefix_cache_queries_total / vllm:prefix_cache_hits_total (counted
  in tokens; hits only when `prefix_cache`), "sglang" exposes sglang:cache_hit_rate and
  sglang:cached_tokens_total, None serves no /metrics (hosted APIs, Ollama).
"""
from __future__ import annotations

import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.local_server import LocalServer

MEDIUM = "mistralai/Mistral-Medium-3.5-128B"
_PROBE_LINE = re.compile(r"- `([\w.-]+)` with arguments (\{.*\})")
_MISTRAL_ID = re.compile(r"^[A-Za-z0-9]{9}$")


def _tokens(*parts: Any) -> int:
    """About one token per 4 characters (the check only compares orders of magnitude)."""
    return max(1, sum(len(p if isinstance(p, str) else json.dumps(p)) for p in parts) // 4)


class EngineServer(LocalServer):
    url_path = "/v1"

    def __init__(self, *, model: str = MEDIUM, api_key: str = "sk-engine-test-key", max_model_len: int = 65536,
                 list_context: bool = True, reasoning_effort: bool = True, tool_parser: bool = True,
                 reasoning_parser: bool = True, json_schema: bool = True, mistral_ids: bool = True,
                 metrics: str | None = "vllm", prefix_cache: bool = True, plain_chat: str = "ok",
                 parallel_calls: str = "all"):
        self.model = model
        self.api_key = api_key
        self.max_model_len = max_model_len
        self.list_context = list_context
        self.reasoning_effort = reasoning_effort
        self.tool_parser = tool_parser
        self.reasoning_parser = reasoning_parser
        self.json_schema = json_schema
        self.mistral_ids = mistral_ids
        self.metrics = metrics
        self.prefix_cache = prefix_cache
        self.plain_chat = plain_chat
        self.parallel_calls = parallel_calls
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._seen_prefixes: set[str] = set()
        self.cache_queries = 0
        self.cache_hits = 0

    # The engines as the quirks make them ------------------------------------------------------

    @classmethod
    def healthy(cls, **kw: Any) -> EngineServer:
        return cls(**kw)

    @classmethod
    def without_reasoning_effort(cls) -> EngineServer:
        return cls(reasoning_effort=False)

    @classmethod
    def tool_calls_as_text(cls) -> EngineServer:
        return cls(tool_parser=False)

    @classmethod
    def without_json_schema(cls) -> EngineServer:
        return cls(json_schema=False)

    @classmethod
    def short_context(cls) -> EngineServer:
        return cls(max_model_len=8192)

    @classmethod
    def short_context_unlisted(cls) -> EngineServer:
        return cls(max_model_len=8192, list_context=False)

    @classmethod
    def without_reasoning_parser(cls) -> EngineServer:
        return cls(reasoning_parser=False)

    @classmethod
    def without_prefix_cache(cls) -> EngineServer:
        return cls(prefix_cache=False)

    @classmethod
    def plain_chat_error(cls) -> EngineServer:
        return cls(plain_chat="error")

    @classmethod
    def plain_chat_empty(cls) -> EngineServer:
        return cls(plain_chat="empty")

    @classmethod
    def plain_chat_garbage(cls) -> EngineServer:
        return cls(plain_chat="garbage")

    @classmethod
    def one_call_per_turn(cls) -> EngineServer:
        return cls(parallel_calls="first")

    @classmethod
    def parallel_calls_mangled(cls) -> EngineServer:
        return cls(parallel_calls="mangled")

    @classmethod
    def generic_ids(cls) -> EngineServer:
        """A non-Mistral model: any id is fine."""
        return cls(mistral_ids=False)

    # Behaviour ----------------------------------------------------------------------------------

    def _count_cache(self, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        prefix = json.dumps([messages[:1], body.get("tools")])
        total = _tokens(messages, body.get("tools") or [])
        with self._lock:
            self.cache_queries += total
            if self.prefix_cache and prefix in self._seen_prefixes:
                self.cache_hits += _tokens(prefix)
            self._seen_prefixes.add(prefix)

    def metrics_text(self) -> str:
        label = f'{{model_name="{self.model}"}}'
        if self.metrics == "vllm":
            return (f"# TYPE vllm:prefix_cache_queries_total counter\nvllm:prefix_cache_queries_total{label} "
                    f"{float(self.cache_queries)}\n# TYPE vllm:prefix_cache_hits_total counter\n"
                    f"vllm:prefix_cache_hits_total{label} {float(self.cache_hits)}\n")
        rate = self.cache_hits / self.cache_queries if self.cache_queries else 0.0
        return (f"# TYPE sglang:cache_hit_rate gauge\nsglang:cache_hit_rate{label} {rate}\n"
                f"# TYPE sglang:cached_tokens_total counter\n"
                f"sglang:cached_tokens_total{label} {float(self.cache_hits)}\n")

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for one chat-completions request."""
        if body.get("model") != self.model:
            return 404, {"object": "error", "message": f"The model `{body.get('model')}` does not exist.",
                         "type": "NotFoundError", "code": 404}
        if "reasoning_effort" in body and not self.reasoning_effort:
            return 400, {"object": "error", "message": "reasoning_effort: Extra inputs are not permitted",
                         "type": "BadRequestError", "code": 400}
        messages = body.get("messages") or []
        tools = body.get("tools") or []
        wanted = _tokens(messages, tools) + int(body.get("max_tokens") or 16)
        if wanted > self.max_model_len:
            return 400, {"object": "error", "type": "BadRequestError", "code": 400,
                         "message": f"This model's maximum context length is {self.max_model_len} tokens. "
                                    f"However, you requested {wanted} tokens. Please reduce the length."}
        if self.mistral_ids:
            for m in messages:
                ids = [c.get("id", "") for c in m.get("tool_calls") or []]
                if m.get("role") == "tool":
                    ids.append(m.get("tool_call_id", ""))
                for call_id in ids:
                    if not _MISTRAL_ID.match(str(call_id)):
                        return 400, {"object": "error", "type": "BadRequestError", "code": 400,
                                     "message": f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, "
                                                "with a length of 9."}
        plain = (not tools and not body.get("response_format") and "reasoning_effort" not in body
                 and not body.get("stream"))
        if plain and self.plain_chat == "error":
            return 500, {"object": "error", "message": "Internal server error", "type": "InternalServerError",
                         "code": 500}
        self._count_cache(body)
        message, finish = self._reply(body, messages, tools)
        if plain and self.plain_chat == "empty":
            message = {"role": "assistant", "content": ""}
        elif plain and self.plain_chat == "garbage":
            message = {"role": "assistant", "content": "ĠtheĠtheĊ<unk> ▁▁ Ġof Ġof"}
        usage = {"prompt_tokens": _tokens(messages, tools),
                 "completion_tokens": _tokens(message.get("content") or "", message.get("tool_calls") or [])}
        return 200, {"id": f"chatcmpl-{secrets.token_hex(8)}", "object": "chat.completion", "model": self.model,
                     "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}

    def _reply(self, body: dict[str, Any], messages: list[dict[str, Any]],
               tools: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
        last = messages[-1] if messages else {}
        text = last.get("content") or ""
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema" and self.json_schema:
            turn = {"tool": "final_answer", "arguments": {"answer": "ready"}}
            return {"role": "assistant", "content": json.dumps(turn)}, "stop"
        probes = _PROBE_LINE.findall(text) if last.get("role") == "user" else []
        if tools and probes:
            calls = [(name, args) for name, args in probes]
            if not self.tool_parser:
                raw = "".join(f"[TOOL_CALLS]{name}[ARGS]{args}" for name, args in calls)
                return {"role": "assistant", "content": raw}, "stop"
            if self.parallel_calls == "first":
                calls = calls[:1]
            elif self.parallel_calls == "mangled":
                calls = calls[:1] + [(name, f"[TOOL_CALLS]{name}[ARGS]{args}") for name, args in calls[1:]]
            tool_calls = [{"id": f"chatcmpl-tool-{secrets.token_hex(8)}", "type": "function",
                           "function": {"name": name, "arguments": args}} for name, args in calls]
            return {"role": "assistant", "content": None, "tool_calls": tool_calls}, "tool_calls"
        if "17 + 25" in text:
            if body.get("reasoning_effort") == "high":
                if self.reasoning_parser:
                    return {"role": "assistant", "content": "42", "reasoning_content": "17 + 25 = 42"}, "stop"
                return {"role": "assistant", "content": "[THINK]17 + 25 = 42[/THINK]42"}, "stop"
            return {"role": "assistant", "content": "42"}, "stop"
        if last.get("role") == "tool":
            return {"role": "assistant", "content": "Both tools answered."}, "stop"
        if "ready" in text:
            return {"role": "assistant", "content": "ready"}, "stop"
        return {"role": "assistant", "content": "1. Read the email. 2. Check the calendar. 3. Reply."}, "stop"

    # HTTP -----------------------------------------------------------------------------------------

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    self._send(401, {"error": "Unauthorized"})
                    return False
                return True

            def do_GET(self) -> None:
                if self.path == "/metrics" and server.metrics:
                    self._send(200, server.metrics_text(), "text/plain; version=0.0.4")
                elif self.path == "/v1/models":
                    if not self._authorised():
                        return
                    entry: dict[str, Any] = {"id": server.model, "object": "model", "owned_by": "vllm"}
                    if server.list_context:
                        entry["max_model_len"] = server.max_model_len
                    self._send(200, {"object": "list", "data": [entry]})
                else:
                    self._send(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                if self.path != "/v1/chat/completions":
                    self._send(404, {"detail": "Not Found"})
                    return
                if not self._authorised():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._send(400, {"object": "error", "message": "invalid JSON", "code": 400})
                    return
                server.requests.append(body)
                status, answer = server.answer(body)
                if status != 200 or not body.get("stream"):
                    self._send(status, answer)
                    return
                self._stream(answer, bool((body.get("stream_options") or {}).get("include_usage")))

            def _stream(self, answer: dict[str, Any], include_usage: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                message = answer["choices"][0]["message"]
                base = {"id": answer["id"], "object": "chat.completion.chunk", "model": answer["model"]}
                chunks = [{"role": "assistant", "content": ""}]
                chunks += [{"content": word + " "} for word in (message.get("content") or "").split()]
                for delta in chunks:
                    event = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                if include_usage:
                    usage = {**answer["usage"], "completion_tokens": len(chunks) - 1}
                    self.wfile.write(f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        return Handler
