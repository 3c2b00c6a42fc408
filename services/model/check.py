"""`workmode model check`: does an OpenAI-compatible endpoint work for Workmode, and what to change.

`EndpointCheck(...).run()` sends a handful of small requests (raw HTTP, so quirks stay visible:
tool calls left in the text, `[THINK]` in the answer, a schema ignored) and returns a `Report`:
one `Result` per check (pass, fail, skip or info) with what to change for each failure, a few
measurements, and the tool mode to use. `cheap()` is the part `/readyz` runs: reachable and
authenticated, and the model served.

Where a check reads something engine-specific it says whose documentation it follows:
- vLLM: `GET /v1/models` lists `max_model_len`; `/metrics` has `vllm:prefix_cache_queries` and
  `vllm:prefix_cache_hits` counters (https://docs.vllm.ai/en/stable/usage/metrics/).
- SGLang: `/metrics` (with `--enable-metrics`) has `sglang:cache_hit_rate` and
  `sglang:cached_tokens_total` (https://docs.sglang.io/docs/references/production_metrics).
- Mistral's tokenizer (vLLM `--tokenizer-mode mistral`) accepts only tool-call ids of 9 letters
  and digits; Workmode's client gives every call such an id under Mistral's rules (client.py).
The API key is sent, never shown: error texts are scrubbed of it.
"""
from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import jsonschema

from services.model import jsonmode
from services.model.client import new_tool_call_id

PASS, FAIL, SKIP, INFO = "pass", "fail", "skip", "info"
MISTRAL_ID = re.compile(r"^[A-Za-z0-9]{9}$")
_CONTEXT_ERROR = re.compile(r"context|maximum|too long|too many tokens|max_model_len|length", re.I)


@dataclass
class Result:
    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Probe:
    """A tool call the check asks the model to make, with arguments valid for Workmode's spec."""
    name: str
    arguments: dict[str, Any]


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    recommended_tool_mode: str | None = None
    measurements: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(r.status == FAIL for r in self.results)

    def get(self, name: str) -> Result | None:
        return next((r for r in self.results if r.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "recommended_tool_mode": self.recommended_tool_mode,
                "measurements": self.measurements, "results": [asdict(r) for r in self.results]}


class _Failed(Exception):
    def __init__(self, detail: str, status: int | None = None, body: str = ""):
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.body = body


def api_root(base_url: str) -> str:
    """The server's root (where vLLM and SGLang serve /metrics): the base URL without its /v1."""
    base = base_url.rstrip("/")
    return base[:-3] if base.endswith("/v1") else base


class EndpointCheck:
    def __init__(self, base_url: str, model: str, api_key: str = "", *, tools: Sequence[dict] = (),
                 system_prompt: str = "You are a helpful assistant.", probes: Sequence[Probe] = (),
                 family: str = "mistral", thread_tokens: int = 24000, max_output_tokens: int = 2048,
                 samples: int = 3, timeout: float = 120.0, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._key = api_key
        self.tools = list(tools)
        self.system_prompt = system_prompt
        self.probes = list(probes)
        self.family = family
        self.thread_tokens = thread_tokens
        self.max_output_tokens = max_output_tokens
        self.samples = max(1, samples)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(headers=headers, timeout=timeout, transport=transport)
        self.report = Report()
        self._prompt_tokens = 0
        self._served: dict[str, Any] = {}

    # -- plumbing -----------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        if self._key and len(self._key) >= 4:
            text = text.replace(self._key, "***")
        return text[:300]

    def _add(self, name: str, status: str, detail: str, fix: str = "") -> Result:
        result = Result(name, status, self._scrub(detail), fix)
        self.report.results.append(result)
        return result

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            r = self._http.post(f"{self.base_url}/chat/completions", json={"model": self.model, **body})
        except httpx.HTTPError as exc:
            raise _Failed(f"request failed: {type(exc).__name__}: {exc}") from None
        if r.status_code != 200:
            raise _Failed(f"HTTP {r.status_code}: {_error_text(r)}", r.status_code, r.text)
        try:
            data = r.json()
            data["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise _Failed("the answer is not a chat completion") from None
        return data

    def _messages(self, user: str) -> list[dict[str, Any]]:
        return [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": user}]

    # -- the checks ---------------------------------------------------------------------------

    def run(self) -> Report:
        try:
            if not self.check_reachable() or not self.check_model_served():
                for name in ("plain chat", "native tool calls", "parallel tool calls", "tool-call ids",
                             "reasoning_effort", "reasoning separated", "JSON schema", "context length",
                             "prefix caching", "speed"):
                    self._add(name, SKIP, "needs a reachable endpoint that serves the model")
                return self.report
            self.check_plain_chat()
            calls = self.check_tools()
            self.check_tool_ids(calls)
            self.check_reasoning()
            self.check_json_schema()
            self.check_context()
            before = self._metrics()
            self.check_speed()
            self.check_prefix_cache(before, self._metrics())
            self.recommend()
            return self.report
        finally:
            self._http.close()

    def check_reachable(self) -> bool:
        try:
            r = self._http.get(f"{self.base_url}/models")
        except httpx.HTTPError as exc:
            self._add("reachable", FAIL, f"cannot connect to {self.base_url}: {type(exc).__name__}",
                      "check WORKMODE_MODEL_BASE_URL (it ends in /v1) and that the server is up")
            return False
        if r.status_code in (401, 403):
            self._add("reachable", FAIL, f"HTTP {r.status_code}: the key was refused",
                      "set WORKMODE_MODEL_API_KEY to the server's key (vLLM: VLLM_API_KEY / --api-key)")
            return False
        if r.status_code != 200:
            self._add("reachable", FAIL, f"GET /models answered HTTP {r.status_code}",
                      "WORKMODE_MODEL_BASE_URL must be the OpenAI-compatible base, ending in /v1")
            return False
        try:
            entries = r.json().get("data") or []
            self._served = {str(m.get("id")): m for m in entries if isinstance(m, dict)}
        except (ValueError, AttributeError):
            self._add("reachable", FAIL, "GET /models did not answer an OpenAI model list",
                      "point WORKMODE_MODEL_BASE_URL at an OpenAI-compatible server")
            return False
        self._add("reachable", PASS, f"{self.base_url} answered and accepted the key")
        return True

    def check_model_served(self) -> bool:
        if self.model in self._served:
            self._add("model served", PASS, f"{self.model} is listed")
            return True
        names = ", ".join(sorted(self._served)[:8]) or "none"
        self._add("model served", FAIL, f"{self.model!r} is not among the served models ({names})",
                  "set WORKMODE_MODEL_NAME to a listed id, or start the server with --served-model-name "
                  f"{self.model}")
        return False

    def check_plain_chat(self) -> None:
        try:
            data = self._post({"messages": self._messages("Reply with the single word: ready"), "max_tokens": 64})
        except _Failed as exc:
            self._add("plain chat", FAIL, exc.detail, "the server cannot answer a plain chat request: see its log")
            return
        text = (data["choices"][0]["message"].get("content") or "").strip()
        if not text:
            self._add("plain chat", FAIL, "the answer was empty", "check the model's chat template and max tokens")
        elif "ready" not in text.lower():
            self._add("plain chat", FAIL, f"asked for the word 'ready', the answer was {text[:60]!r}",
                      "the server does not decode this model right: serve it with its own tokenizer and chat "
                      "template (vLLM, Mistral checkpoints: --tokenizer-mode mistral --config-format mistral "
                      "--load-format mistral) and check that the weights are the model named")
        else:
            self._add("plain chat", PASS, f"answered {text[:40]!r}")

    def _probe_prompt(self) -> str:
        lines = [f"- `{p.name}` with arguments {json.dumps(p.arguments)}" for p in self.probes]
        return ("Connectivity check. Call these tools now, all of them in this one reply, with exactly these "
                "arguments, and write no text:\n" + "\n".join(lines))

    def check_tools(self) -> list[dict[str, Any]]:
        if not self.tools or not self.probes:
            self._add("native tool calls", SKIP, "no tool specs or probes given")
            self._add("parallel tool calls", SKIP, "no tool specs or probes given")
            return []
        body = {"messages": self._messages(self._probe_prompt()), "tools": self.tools, "tool_choice": "auto",
                "max_tokens": 512}
        as_text_fix = ("vLLM: start it with --enable-auto-tool-choice --tool-call-parser mistral (SGLang: "
                       "--tool-call-parser mistral); otherwise set WORKMODE_TOOL_MODE=json")
        try:
            data = self._post(body)
        except _Failed as exc:
            self._add("native tool calls", FAIL, f"a request with tools was refused: {exc.detail}", as_text_fix)
            self._add("parallel tool calls", SKIP, "needs native tool calls")
            return []
        self._prompt_tokens = int((data.get("usage") or {}).get("prompt_tokens") or 0)
        message = data["choices"][0]["message"]
        calls = message.get("tool_calls") or []
        if not calls:
            content = message.get("content") or ""
            if "[TOOL_CALLS]" in content or any(p.name in content for p in self.probes):
                detail = f"the tool calls came back as text: {content[:80]!r}"
            else:
                detail = "the model answered without calling a tool"
            self._add("native tool calls", FAIL, detail, as_text_fix)
            self._add("parallel tool calls", SKIP, "needs native tool calls")
            return []
        specs = {t["function"]["name"]: t["function"].get("parameters") or {} for t in self.tools}
        valid: list[dict[str, Any]] = []
        problems: list[str] = []
        for call in calls:
            fn = call.get("function") or {}
            name = fn.get("name")
            if name not in specs:
                problems.append(f"unknown tool {name!r}")
                continue
            try:
                args = json.loads(fn.get("arguments") or "{}")
                jsonschema.validate(args, specs[name])
            except (ValueError, jsonschema.ValidationError) as exc:
                problems.append(f"{name}: arguments invalid ({str(exc).splitlines()[0][:80]})")
                continue
            valid.append(call)
        if not valid:
            self._add("native tool calls", FAIL, "; ".join(problems),
                      "the server's tool parser mangles calls: use --tool-call-parser mistral, "
                      "or WORKMODE_TOOL_MODE=json")
            self._add("parallel tool calls", SKIP, "needs a valid native tool call")
            return []
        self._add("native tool calls", PASS, f"{len(valid)} valid call(s) for Workmode's tool specs")
        self.check_parallel(valid, problems)
        return valid

    def check_parallel(self, valid: list[dict[str, Any]], problems: list[str]) -> None:
        """The probe asks for two calls in one reply: both must come back, and both valid."""
        names = {c["function"]["name"] for c in valid}
        wanted = {p.name for p in self.probes}
        if len(wanted) < 2:
            self._add("parallel tool calls", SKIP, "needs two probes")
        elif problems:
            self._add("parallel tool calls", FAIL,
                      f"asked for {len(wanted)} calls in one turn: {len(valid)} valid, the rest mangled "
                      f"({'; '.join(problems)})",
                      "the tool parser breaks calls made together (jobs then lose a step to each broken call): "
                      "--tool-call-parser mistral on an engine version that parses parallel calls, or "
                      "WORKMODE_TOOL_MODE=json (one call per turn)")
        elif wanted <= names:
            self._add("parallel tool calls", PASS, f"{len(valid)} calls in one turn")
        else:
            self._add("parallel tool calls", FAIL,
                      f"asked for {len(wanted)} calls in one turn, got {len(valid)} ({', '.join(sorted(names))})",
                      "the server returns one call per turn (its chat template or tool parser drops the rest): "
                      "Workmode still works, but jobs take more steps; check the tool parser "
                      "(--tool-call-parser mistral for Mistral models)")

    def check_tool_ids(self, calls: list[dict[str, Any]]) -> None:
        if not calls:
            self._add("tool-call ids", SKIP, "needs native tool calls")
            return
        server_ids = [str(c.get("id") or "") for c in calls]
        mistral = self.family == "mistral"
        ids = [new_tool_call_id() for _ in calls] if mistral else [i or new_tool_call_id() for i in server_ids]
        history = [{"id": i, "type": "function", "function": c["function"]} for i, c in zip(ids, calls, strict=True)]
        messages = [*self._messages(self._probe_prompt()),
                    {"role": "assistant", "content": "", "tool_calls": history},
                    *({"role": "tool", "tool_call_id": i, "content": '{"ok": true}'} for i in ids)]
        form = "9 letters and digits (Mistral)" if mistral else "the server's own"
        try:
            self._post({"messages": messages, "tools": self.tools, "max_tokens": 64})
        except _Failed as exc:
            fix = ("this server does not take Mistral-style ids: set WORKMODE_MODEL_FAMILY=generic" if mistral
                   else "the server wants Mistral-style ids: set WORKMODE_MODEL_FAMILY=mistral")
            self._add("tool-call ids", FAIL, f"a follow-up with ids in {form} form was refused: {exc.detail}", fix)
            return
        seen = "Mistral-style" if all(MISTRAL_ID.match(i) for i in server_ids) else f"like {server_ids[0][:16]!r}"
        self._add("tool-call ids", PASS, f"follow-up with {form} ids accepted (the server's ids are {seen})")

    def check_reasoning(self) -> None:
        answers: dict[str, dict[str, Any]] = {}
        for effort in ("none", "high"):
            try:
                answers[effort] = self._post({"messages": self._messages("What is 17 + 25? Answer with the number."),
                                              "reasoning_effort": effort, "max_tokens": 1024})
            except _Failed as exc:
                self._add("reasoning_effort", FAIL, f"reasoning_effort={effort!r} was refused: {exc.detail}",
                          "Workmode sends reasoning_effort none/high on every request: serve a model and server "
                          "that accept it (vLLM with --reasoning-parser mistral for Mistral Medium 3.5)")
                self._add("reasoning separated", SKIP, "needs reasoning_effort")
                return
        self._add("reasoning_effort", PASS, "none and high accepted")
        message = answers["high"]["choices"][0]["message"]
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        content = message.get("content") or ""
        if "[THINK]" in content or "<think>" in content:
            self._add("reasoning separated", FAIL, "the reasoning came back inside the answer",
                      "vLLM/SGLang: add --reasoning-parser mistral")
        elif reasoning:
            self._add("reasoning separated", PASS, "reasoning returned apart from the answer")
        else:
            self._add("reasoning separated", INFO, "no reasoning returned (no reasoning parser, or the model did "
                      "not think); answers stay clean")

    def check_json_schema(self) -> None:
        fmt = jsonmode.response_format(self.tools)
        schema = fmt["json_schema"]["schema"]
        prompt = 'Give your final answer, which is the word "ready".'
        fix = ("the server does not enforce a JSON schema: keep WORKMODE_TOOL_MODE=native (json tool mode needs "
               "structured outputs, as vLLM and SGLang have)")
        try:
            data = self._post({"messages": self._messages(prompt), "response_format": fmt, "max_tokens": 256})
        except _Failed as exc:
            self._add("JSON schema", FAIL, f"response_format json_schema was refused: {exc.detail}", fix)
            return
        content = data["choices"][0]["message"].get("content") or ""
        try:
            jsonschema.validate(json.loads(content), schema)
        except (ValueError, jsonschema.ValidationError):
            self._add("JSON schema", FAIL, f"the answer does not follow the schema: {content[:60]!r}", fix)
            return
        self._add("JSON schema", PASS, "the answer followed Workmode's turn schema (json tool mode works)")

    def _reported_context(self) -> int | None:
        entry = self._served.get(self.model) or {}
        for key in ("max_model_len", "context_length", "max_context_length"):
            value = entry.get(key)
            if isinstance(value, int) and value > 0:
                return value
        return None

    def check_context(self) -> None:
        base = self._prompt_tokens or len(json.dumps([self.system_prompt, self.tools])) // 4
        needed = base + self.thread_tokens + self.max_output_tokens
        self.report.measurements["context_needed_tokens"] = needed
        fix = (f"raise the server's context to at least {needed} tokens (vLLM --max-model-len, "
               "WORKMODE_VLLM_MAX_MODEL_LEN; or the mistral-medium-8gpu preset), "
               "or lower WORKMODE_MODEL_MAX_OUTPUT_TOKENS")
        reported = self._reported_context()
        if reported is not None:
            self.report.measurements["context_tokens"] = reported
            if reported >= needed:
                self._add("context length", PASS, f"{reported} tokens ≥ {needed} needed (prompt {base} + thread "
                          f"{self.thread_tokens} + answer {self.max_output_tokens})")
            else:
                self._add("context length", FAIL, f"{reported} tokens < {needed} needed", fix)
            return
        # Not listed: send a prompt that long and see whether it is taken (about 1 token per word).
        filler = " ".join(["note"] * (needed - self.max_output_tokens - base))
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": filler},
                    {"role": "user", "content": "Reply with: ok"}]
        try:
            self._post({"messages": messages, "tools": self.tools, "max_tokens": self.max_output_tokens})
        except _Failed as exc:
            if exc.status is not None and 400 <= exc.status < 500 and _CONTEXT_ERROR.search(exc.body or exc.detail):
                self._add("context length", FAIL, f"a {needed}-token request was refused: {exc.detail}", fix)
            else:
                self._add("context length", FAIL, f"a long request failed: {exc.detail}", fix)
            return
        self._add("context length", PASS, f"a request of about {needed} tokens was taken")

    def _metrics(self) -> dict[str, float] | None:
        try:
            r = self._http.get(f"{api_root(self.base_url)}/metrics")
        except httpx.HTTPError:
            return None
        if r.status_code != 200:
            return None
        totals: dict[str, float] = {}
        for line in r.text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            match = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)", line)
            if not match:
                continue
            name = match.group(1).removesuffix("_total")
            try:
                totals[name] = totals.get(name, 0.0) + float(match.group(2))
            except ValueError:
                continue
        return totals

    def check_prefix_cache(self, before: dict[str, float] | None, after: dict[str, float] | None) -> None:
        if after is None or before is None:
            self._add("prefix caching", SKIP, "no /metrics (hosted APIs and Ollama manage caching themselves)")
            return
        if "vllm:prefix_cache_queries" in after:
            queries = after["vllm:prefix_cache_queries"] - before.get("vllm:prefix_cache_queries", 0.0)
            hits = after.get("vllm:prefix_cache_hits", 0.0) - before.get("vllm:prefix_cache_hits", 0.0)
            rate = hits / queries if queries > 0 else 0.0
            fix = "start vLLM with --enable-prefix-caching"
        elif "sglang:cache_hit_rate" in after or "sglang:cached_tokens" in after:
            hits = after.get("sglang:cached_tokens", 0.0) - before.get("sglang:cached_tokens", 0.0)
            rate = after.get("sglang:cache_hit_rate", 0.0)
            hits = max(hits, rate)
            fix = "do not start SGLang with --disable-radix-cache"
        else:
            self._add("prefix caching", SKIP, "/metrics has no vLLM or SGLang prefix-cache counters")
            return
        self.report.measurements["prefix_cache_hit_rate"] = round(rate, 3)
        if hits > 0:
            self._add("prefix caching", PASS, f"repeated prompts hit the cache (hit rate {rate:.0%})")
        else:
            self._add("prefix caching", FAIL, "repeated prompts did not hit the prefix cache", fix)

    def _stream_step(self) -> tuple[float, float, int]:
        """One typical step, streamed: (time to first token, total time, completion tokens)."""
        prompt = "Plan the work: list three short steps to answer an email about a meeting."
        body = {"model": self.model, "messages": self._messages(prompt),
                "max_tokens": 256, "stream": True, "stream_options": {"include_usage": True}}
        if self.tools:
            body["tools"] = self.tools
        start = time.monotonic()
        first: float | None = None
        tokens = 0
        chunks = 0
        with self._http.stream("POST", f"{self.base_url}/chat/completions", json=body) as r:
            if r.status_code != 200:
                r.read()
                raise _Failed(f"HTTP {r.status_code}: {_error_text(r)}")
            for line in r.iter_lines():
                if not line.startswith("data:") or line.strip() == "data: [DONE]":
                    continue
                data = json.loads(line[5:])
                for choice in data.get("choices") or []:
                    delta = choice.get("delta") or {}
                    if delta.get("content") or delta.get("tool_calls") or delta.get("reasoning_content"):
                        chunks += 1
                        if first is None:
                            first = time.monotonic() - start
                usage = data.get("usage") or {}
                tokens = int(usage.get("completion_tokens") or tokens)
        total = time.monotonic() - start
        return (first if first is not None else total), total, tokens or chunks

    def check_speed(self) -> None:
        ttfts, totals, rates = [], [], []
        try:
            for _ in range(self.samples):
                ttft, total, tokens = self._stream_step()
                ttfts.append(ttft)
                totals.append(total)
                if total > ttft:
                    rates.append(tokens / (total - ttft))
        except (_Failed, httpx.HTTPError, ValueError) as exc:
            detail = exc.detail if isinstance(exc, _Failed) else f"{type(exc).__name__}: {exc}"
            self._add("speed", FAIL, f"a streamed step failed: {detail}", "the server must support stream=true")
            return
        m = self.report.measurements
        m["ttft_s"] = round(statistics.median(ttfts), 3)
        m["step_p50_s"] = round(statistics.median(totals), 3)
        m["tokens_per_s"] = round(statistics.median(rates), 1) if rates else 0.0
        self._add("speed", INFO, f"time to first token {m['ttft_s']} s, {m['tokens_per_s']} tokens/s, "
                  f"step p50 {m['step_p50_s']} s ({self.samples} typical steps)")

    def recommend(self) -> None:
        native = self.report.get("native tool calls")
        schema = self.report.get("JSON schema")
        if native is not None and native.status == PASS:
            mode, detail = "native", "native tool calls work: WORKMODE_TOOL_MODE=native"
        elif schema is not None and schema.status == PASS:
            mode, detail = "json", "native tool calls do not work but JSON schema does: WORKMODE_TOOL_MODE=json"
        else:
            self.report.recommended_tool_mode = None
            self._add("tool mode", FAIL, "neither native tool calls nor JSON schema work",
                      "Workmode cannot drive jobs on this endpoint: fix one of the two above")
            return
        self.report.recommended_tool_mode = mode
        self._add("tool mode", PASS, detail)


def _error_text(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:200]
    err = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(err, dict):
        return str(err.get("message") or err.get("detail") or err)[:200]
    return str(err)[:200]


def cheap(base_url: str, model: str, api_key: str = "", timeout: float = 5.0) -> list[Result]:
    """Reachable and authenticated, and the model served: two requests' worth, for /readyz."""
    checker = EndpointCheck(base_url, model, api_key, timeout=timeout)
    try:
        if checker.check_reachable():
            checker.check_model_served()
    finally:
        checker._http.close()
    return checker.report.results


def format_table(report: Report) -> str:
    rows = [("check", "result", "detail", "what to change")]
    rows += [(r.name, r.status.upper(), r.detail, r.fix) for r in report.results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip()
             for row in rows]
    lines.insert(1, "-" * min(160, sum(widths) + 20))
    mode = report.recommended_tool_mode
    lines.append("")
    lines.append(f"recommended tool mode: {mode}" if mode else "recommended tool mode: none works")
    lines.append("all checks passed" if report.ok else
                 f"{sum(r.status == FAIL for r in report.results)} check(s) failed")
    return "\n".join(lines)
