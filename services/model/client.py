"""The model client: OpenAI chat completions against vLLM (or any compatible server).

`ModelClient.complete()` sends one request and returns a `ModelTurn`. It:
- with `WORKMODE_MODEL_FAMILY=mistral` (the default; `auto` when the model name is a Mistral
  model) merges system messages into one (Mistral accepts only one) and gives every returned tool
  call a fresh 9-character alphanumeric id (Mistral's format); `generic` sends system messages as
  they are and keeps the server's tool-call ids;
- speaks native tool calls (`tool_mode=native`) or the JSON mode of `jsonmode.py`
  (`tool_mode=json`, for servers without tool calling, e.g. the local SmolLM2 demo);
- retries 429 (honouring Retry-After), 5xx, timeouts and connection errors with capped
  exponential backoff and jitter, then raises ModelUnavailable; 4xx raise ModelError at once;
- holds one slot of the global concurrency limit (limiter.py) only while a request is in flight.
The API key never appears in logs or exception messages.
"""
from __future__ import annotations

import email.utils
import json
import logging
import random
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

import openai
from openai import OpenAI

from services import metrics
from services.config import Settings, get_settings
from services.model import jsonmode
from services.model.errors import ModelError, ModelUnavailable
from services.model.limiter import Limiter, get_limiter

log = logging.getLogger(__name__)

__all__ = ["ModelClient", "ModelError", "ModelTurn", "ModelUnavailable", "ToolCall", "new_tool_call_id"]

_ID_ALPHABET = string.ascii_letters + string.digits
_RETRYABLE_STATUS = {408, 409, 425, 429}


def new_tool_call_id() -> str:
    """A fresh tool-call id: 9 alphanumeric characters (what Mistral requires)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(9))


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # raw JSON text of the arguments, as the model produced it


@dataclass
class ModelTurn:
    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    reasoning: str | None = None


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _parse_retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000.0)
    except (TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def merge_system_messages(messages: list[dict]) -> list[dict]:
    """All system messages merged, in order, into one system message at the start."""
    system_parts: list[str] = []
    rest: list[dict] = []
    for msg in messages:
        if msg.get("role") == "system":
            text = jsonmode.content_text(msg.get("content"))
            if text:
                system_parts.append(text)
        else:
            rest.append(msg)
    if not system_parts:
        return rest
    return [{"role": "system", "content": "\n\n".join(system_parts)}, *rest]


def add_to_system_message(messages: list[dict], text: str) -> list[dict]:
    """`text` appended to the first message when it is a system message, else a system message
    put first."""
    if messages and messages[0].get("role") == "system":
        first = jsonmode.content_text(messages[0].get("content"))
        joined = f"{first}\n\n{text}" if first else text
        return [{"role": "system", "content": joined}, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]


class ModelClient:
    def __init__(self, settings: Settings | None = None, *, limiter: Limiter | None = None):
        self.settings = settings or get_settings()
        s = self.settings
        self._api_key = s.model_api_key.get_secret_value()
        self._client = OpenAI(
            base_url=s.model_base_url or "http://127.0.0.1:9/unset-model-base-url/v1",
            api_key=self._api_key,
            max_retries=0,
            timeout=s.model_timeout_s,
        )
        self._limiter = limiter or get_limiter(s)

    # -- public -------------------------------------------------------------------------------

    def complete(self, messages: list[dict], tools: list[dict], *, reasoning_effort: str = "high",
                 response_format: dict | None = None, force_tool: str | None = None,
                 avoid_tools: tuple[str, ...] = ()) -> ModelTurn:
        """One chat completion. `force_tool` makes the model call that tool this turn (named
        tool_choice natively; a schema with only that tool in JSON mode); the prompt, including
        the tool list, stays the same, so the prefix cache still hits."""
        s = self.settings
        if not s.model_base_url:
            raise ModelError("WORKMODE_MODEL_BASE_URL is not set: point it at an OpenAI-compatible server "
                             "(vLLM), or run the demo, which starts the local SmolLM2 model")
        json_mode = response_format is None and s.tool_mode == "json"
        request = self._build_request(messages, tools or [], reasoning_effort, response_format, json_mode)
        if (force_tool or avoid_tools) and json_mode:
            # JSON mode can narrow one turn's choices in the schema alone (`avoid_tools` has no
            # native equivalent in tool_choice, so native mode ignores it).
            request["response_format"] = jsonmode.response_format(tools or [], only=force_tool, exclude=avoid_tools)
        elif force_tool and "tools" in request:
            request["tool_choice"] = {"type": "function", "function": {"name": force_tool}}
        attempts = max(0, s.model_max_retries) + 1
        last_reason = ""
        suggested = s.model_backoff_base_s
        for attempt in range(attempts):
            try:
                response = self._send(request)
                turn = self._parse(response, json_mode)
                metrics.count_tokens(turn.prompt_tokens, turn.completion_tokens)
                return turn
            except _Retryable as exc:
                last_reason = exc.reason
                delay = self._backoff(attempt, exc.retry_after)
                suggested = delay
                if attempt + 1 >= attempts:
                    break
                log.warning("model request failed (%s); retry %d/%d in %.2f s",
                            exc.reason, attempt + 1, attempts - 1, delay)
                time.sleep(delay)
        raise ModelUnavailable(
            self._scrub(f"model service unavailable after {attempts} attempt(s): {last_reason}; "
                        f"retry in about {suggested:.1f} s"),
            retry_after=suggested,
        )

    # -- request ------------------------------------------------------------------------------

    def _build_request(self, messages: list[dict], tools: list[dict], reasoning_effort: str,
                       response_format: dict | None, json_mode: bool) -> dict:
        s = self.settings
        msgs = [dict(m) for m in messages]
        send_tools = response_format is None and not json_mode and bool(tools)
        if not send_tools and any(m.get("tool_calls") or m.get("role") == "tool" for m in msgs):
            # No tools in the request: tool-call history must be plain chat.
            msgs = jsonmode.transcript_to_text(msgs)
        if s.mistral_rules:
            msgs = merge_system_messages(msgs)
        if json_mode:
            # Appended to the first system message (the only one, under Mistral's rules).
            msgs = add_to_system_message(msgs, jsonmode.system_prompt_addition(tools))

        request: dict[str, Any] = {
            "model": s.model_name,
            "messages": msgs,
            "max_tokens": s.model_max_output_tokens,
            "reasoning_effort": reasoning_effort,
        }
        if response_format is not None:
            request["response_format"] = response_format
        elif json_mode:
            request["response_format"] = jsonmode.response_format(tools)
        elif send_tools:
            request["tools"] = tools
            request["tool_choice"] = "auto"
        return request

    def _send(self, request: dict):
        try:
            with self._limiter.slot(), metrics.model_request():
                return self._client.chat.completions.create(**request)
        except openai.APITimeoutError:
            raise _Retryable(f"timed out after {self.settings.model_timeout_s:g} s") from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc.__context__
            detail = type(cause).__name__ if cause else "connection error"
            raise _Retryable(f"cannot connect to {self.settings.model_base_url} ({detail})") from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            detail = self._error_detail(exc)
            if status in _RETRYABLE_STATUS or status >= 500:
                headers = exc.response.headers if exc.response is not None else None
                raise _Retryable(f"HTTP {status}: {detail}", _parse_retry_after(headers)) from None
            raise ModelError(self._scrub(self._explain(status, detail)), status_code=status) from None
        except openai.APIResponseValidationError as exc:
            raise ModelError(self._scrub(f"the model server sent an invalid response: {exc.message}")) from None
        except openai.OpenAIError as exc:
            raise ModelError(self._scrub(f"model request failed: {type(exc).__name__}: {exc}")) from None

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        s = self.settings
        cap = s.model_backoff_max_s
        if retry_after is not None:
            return min(cap, retry_after)
        base = min(cap, s.model_backoff_base_s * (2 ** attempt))
        return min(cap, base * (0.5 + random.random() / 2))

    # -- errors -------------------------------------------------------------------------------

    @staticmethod
    def _error_detail(exc: openai.APIStatusError) -> str:
        body = exc.body
        if isinstance(body, dict):
            err = body.get("error", body)
            if isinstance(err, dict) and err.get("message"):
                return str(err["message"])[:500]
            if isinstance(err, str):
                return err[:500]
        if isinstance(body, str) and body:
            return body[:500]
        return (exc.message or "")[:500]

    def _explain(self, status: int, detail: str) -> str:
        s = self.settings
        where = f"model {s.model_name!r} at {s.model_base_url}"
        if status in (401, 403):
            hint = "check WORKMODE_MODEL_API_KEY"
        elif status == 404:
            hint = "check WORKMODE_MODEL_NAME and WORKMODE_MODEL_BASE_URL (the server does not serve this model/path)"
        elif status == 413:
            hint = "the request is too large: shorten the transcript or lower WORKMODE_MODEL_MAX_OUTPUT_TOKENS"
        else:
            hint = ("the server rejected the request; check the model's context length, tool schemas and "
                    "WORKMODE_TOOL_MODE (use 'json' for servers without tool calling)")
        return f"model request rejected with HTTP {status} by {where}: {detail} ({hint})"

    def _scrub(self, text: str) -> str:
        key = self._api_key
        if key and len(key) >= 4 and key in text:
            text = text.replace(key, "***")
        return text

    # -- response -----------------------------------------------------------------------------

    def _call_id(self, server_id: str | None, earlier: list[ToolCall]) -> str:
        """The id a returned native tool call gets: a fresh one under Mistral's rules; otherwise
        the server's, unless it gave none or repeated one within the turn."""
        if self.settings.mistral_rules or not server_id or any(c.id == server_id for c in earlier):
            return new_tool_call_id()
        return server_id

    def _parse(self, response: Any, json_mode: bool) -> ModelTurn:
        if not getattr(response, "choices", None):
            raise _Retryable("the model server returned no choices")
        choice = response.choices[0]
        message = choice.message
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0) if usage else 0
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0) if usage else 0
        finish_reason = choice.finish_reason or "stop"
        reasoning = _reasoning_of(message)
        content = message.content or ""

        if json_mode:
            try:
                name, arguments = jsonmode.parse_turn(content)
            except jsonmode.InvalidTurn:
                return ModelTurn(content=content, tool_calls=[], prompt_tokens=prompt_tokens,
                                 completion_tokens=completion_tokens, finish_reason="invalid_json",
                                 reasoning=reasoning)
            if name == jsonmode.FINAL_ANSWER:
                return ModelTurn(content=arguments["answer"], tool_calls=[], prompt_tokens=prompt_tokens,
                                 completion_tokens=completion_tokens, finish_reason=finish_reason,
                                 reasoning=reasoning)
            call = ToolCall(id=new_tool_call_id(), name=name,
                            arguments=json.dumps(arguments, ensure_ascii=False))
            return ModelTurn(content="", tool_calls=[call], prompt_tokens=prompt_tokens,
                             completion_tokens=completion_tokens, finish_reason="tool_calls",
                             reasoning=reasoning)

        calls: list[ToolCall] = []
        for tc in message.tool_calls or []:
            fn = getattr(tc, "function", None)
            if fn is None:
                continue
            calls.append(ToolCall(id=self._call_id(getattr(tc, "id", None), calls), name=fn.name or "",
                                  arguments=fn.arguments or ""))
        return ModelTurn(content=content, tool_calls=calls, prompt_tokens=prompt_tokens,
                         completion_tokens=completion_tokens, finish_reason=finish_reason,
                         reasoning=reasoning)


def _reasoning_of(message: Any) -> str | None:
    for name in ("reasoning_content", "reasoning"):
        value = getattr(message, name, None)
        if value is None:
            extra = getattr(message, "model_extra", None) or {}
            value = extra.get(name)
        if isinstance(value, str) and value:
            return value
    return None
