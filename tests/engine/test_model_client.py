"""The model client against the scripted OpenAI-compatible server (real HTTP), and the limiter."""
from __future__ import annotations

import json
import re
import threading
import time

import pytest
import redis

from services.config import get_settings, reset_settings
from services.model import jsonmode
from services.model.client import ModelClient, ModelTurn
from services.model.errors import ModelError, ModelUnavailable
from services.model.limiter import REDIS_KEY, get_limiter, reset_limiters
from tests.fakes.model_server import (
    ScriptedModel,
    delay,
    error,
    raw,
    text,
    tool_calls,
)

ID_RE = re.compile(r"^[A-Za-z0-9]{9}$")
SECRET = "sk-test-very-secret-key-123456"

SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search_email",
        "description": "Search the requester's mailbox.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["query"],
            "additionalProperties": False,
        },
    },
}
PLAN_TOOL = {
    "type": "function",
    "function": {
        "name": "update_plan",
        "description": "Update the checklist.",
        "parameters": {
            "type": "object",
            "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/Item"}}},
            "required": ["items"],
            "$defs": {"Item": {"type": "object", "properties": {"title": {"type": "string"}}}},
        },
    },
}
MESSAGES = [
    {"role": "system", "content": "You are Workmode."},
    {"role": "system", "content": "Today is Monday."},
    {"role": "user", "content": "Find the invoice from ACME."},
]


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("WORKMODE_MODEL_BACKOFF_BASE_S", "0.01")
    monkeypatch.setenv("WORKMODE_MODEL_BACKOFF_MAX_S", "0.05")
    monkeypatch.setenv("WORKMODE_MODEL_MAX_RETRIES", "3")
    monkeypatch.setenv("WORKMODE_MODEL_TIMEOUT_S", "5")
    reset_settings()
    reset_limiters()
    yield
    reset_limiters()


def _env(monkeypatch, **values):
    for key, value in values.items():
        monkeypatch.setenv(f"WORKMODE_{key.upper()}", str(value))
    reset_settings()


# -- native tool calls ------------------------------------------------------------------------------

def test_native_tool_calls_are_parsed_and_reidentified(scripted_model):
    scripted_model.push(tool_calls(("search_email", {"query": "ACME invoice"}),
                                   ("update_plan", '{"items": [')))
    turn = ModelClient().complete(MESSAGES, [SEARCH_TOOL, PLAN_TOOL])
    assert isinstance(turn, ModelTurn)
    assert [c.name for c in turn.tool_calls] == ["search_email", "update_plan"]
    assert json.loads(turn.tool_calls[0].arguments) == {"query": "ACME invoice"}
    assert turn.tool_calls[1].arguments == '{"items": ['  # broken arguments passed through raw
    for call in turn.tool_calls:
        assert ID_RE.match(call.id), call.id
    assert turn.tool_calls[0].id != turn.tool_calls[1].id
    assert turn.finish_reason == "tool_calls"
    assert turn.prompt_tokens > 0 and turn.completion_tokens == 20

    body = scripted_model.requests[0]
    assert body["tools"] == [SEARCH_TOOL, PLAN_TOOL]
    assert body["tool_choice"] == "auto"
    assert "response_format" not in body
    assert body["max_tokens"] == get_settings().model_max_output_tokens
    assert body["model"] == get_settings().model_name


def test_system_messages_merged_and_reasoning_effort_sent(scripted_model):
    scripted_model.push(text("hello", reasoning="thinking hard"))
    messages = [
        *MESSAGES,
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "Ab3dE6gH9", "type": "function",
             "function": {"name": "search_email", "arguments": '{"query": "x"}'}}]},
        {"role": "tool", "tool_call_id": "Ab3dE6gH9", "content": "no results"},
        {"role": "system", "content": "Late system note."},
    ]
    turn = ModelClient().complete(messages, [SEARCH_TOOL], reasoning_effort="none")
    assert turn.content == "hello" and turn.tool_calls == []
    assert turn.reasoning == "thinking hard"
    body = scripted_model.requests[0]
    assert body["reasoning_effort"] == "none"
    roles = [m["role"] for m in body["messages"]]
    assert roles.count("system") == 1 and roles[0] == "system"
    assert body["messages"][0]["content"] == "You are Workmode.\n\nToday is Monday.\n\nLate system note."
    # Native transcript kept as is (ids already ours).
    assert body["messages"][2]["tool_calls"][0]["id"] == "Ab3dE6gH9"
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "Ab3dE6gH9", "content": "no results"}

    scripted_model.push(text("again"))
    ModelClient().complete(MESSAGES, [SEARCH_TOOL])
    assert scripted_model.requests[1]["reasoning_effort"] == "high"


def test_no_tools_sent_when_tool_list_empty(scripted_model):
    scripted_model.push(text("done"))
    ModelClient().complete(MESSAGES, [])
    body = scripted_model.requests[0]
    assert "tools" not in body and "tool_choice" not in body


# -- JSON mode --------------------------------------------------------------------------------------

def test_json_mode_schema_and_tool_call(scripted_model, monkeypatch):
    _env(monkeypatch, tool_mode="json")
    scripted_model.push(tool_calls(("search_email", {"query": "ACME", "limit": 3})))
    turn = ModelClient().complete(MESSAGES, [SEARCH_TOOL, PLAN_TOOL])
    assert len(turn.tool_calls) == 1
    call = turn.tool_calls[0]
    assert call.name == "search_email" and ID_RE.match(call.id)
    assert json.loads(call.arguments) == {"query": "ACME", "limit": 3}
    assert turn.content == ""

    body = scripted_model.requests[0]
    assert "tools" not in body and "tool_choice" not in body
    rf = body["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["name"] == "agent_turn"
    assert rf["json_schema"]["strict"] is True
    schema = rf["json_schema"]["schema"]
    consts = [o["properties"]["tool"]["const"] for o in schema["anyOf"]]
    assert consts == ["search_email", "update_plan", jsonmode.FINAL_ANSWER]
    assert schema["anyOf"][0]["properties"]["arguments"] == SEARCH_TOOL["function"]["parameters"]
    # Tool-local $defs hoisted to the root, refs rewritten.
    plan_items = schema["anyOf"][1]["properties"]["arguments"]["properties"]["items"]["items"]
    assert plan_items == {"$ref": "#/$defs/update_plan__Item"}
    assert "update_plan__Item" in schema["$defs"]
    # Tools and format described in the single system message.
    system = [m for m in body["messages"] if m["role"] == "system"]
    assert len(system) == 1 and body["messages"][0]["role"] == "system"
    assert system[0]["content"].startswith("You are Workmode.")
    assert "search_email(query: string, limit?: integer): Search the requester's mailbox." in system[0]["content"]
    assert '"tool": "final_answer"' in system[0]["content"]


def test_json_mode_final_answer_and_transcript(scripted_model, monkeypatch):
    _env(monkeypatch, tool_mode="json")
    scripted_model.push(text("The invoice is #42."))
    messages = [
        *MESSAGES,
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "Ab3dE6gH9", "type": "function",
             "function": {"name": "search_email", "arguments": '{"query": "x"}'}}]},
        {"role": "tool", "tool_call_id": "Ab3dE6gH9", "content": "invoice #42"},
    ]
    turn = ModelClient().complete(messages, [SEARCH_TOOL])
    assert turn.content == "The invoice is #42." and turn.tool_calls == []
    sent = scripted_model.requests[0]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert jsonmode.parse_turn(sent[2]["content"]) == ("search_email", {"query": "x"})
    assert "search_email" in sent[3]["content"] and "invoice #42" in sent[3]["content"]
    assert all("tool_calls" not in m for m in sent)


def test_json_mode_invalid_json_is_reported(scripted_model, monkeypatch):
    _env(monkeypatch, tool_mode="json")
    scripted_model.push(raw('{"tool": "search_email", "arguments": {"query": '))
    turn = ModelClient().complete(MESSAGES, [SEARCH_TOOL])
    assert turn.finish_reason == "invalid_json"
    assert turn.tool_calls == []
    assert turn.content == '{"tool": "search_email", "arguments": {"query": '


def test_explicit_response_format_sent_as_is(scripted_model):
    fmt = {"type": "json_schema", "json_schema": {"name": "triage", "schema": {
        "type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}}}
    scripted_model.push(raw('{"label": "urgent"}'))
    turn = ModelClient().complete(MESSAGES, [SEARCH_TOOL], reasoning_effort="none", response_format=fmt)
    assert json.loads(turn.content) == {"label": "urgent"}
    body = scripted_model.requests[0]
    assert body["response_format"] == fmt
    assert "tools" not in body


def test_jsonmode_roundtrip():
    assert jsonmode.parse_turn(jsonmode.encode_turn("a", {"x": 1})) == ("a", {"x": 1})
    assert jsonmode.parse_turn(jsonmode.encode_final("hi")) == (jsonmode.FINAL_ANSWER, {"answer": "hi"})
    assert jsonmode.parse_turn('```json\n{"tool": "a", "arguments": {}}\n```') == ("a", {})
    for bad in ("", "nope", "[1]", '{"arguments": {}}', '{"tool": "a", "arguments": 3}'):
        with pytest.raises(jsonmode.InvalidTurn):
            jsonmode.parse_turn(bad)
    only_final = jsonmode.build_schema([])
    assert only_final["properties"]["tool"]["const"] == jsonmode.FINAL_ANSWER


# -- retries ----------------------------------------------------------------------------------------

def test_429_retry_after_honoured(scripted_model, monkeypatch):
    _env(monkeypatch, model_backoff_max_s=5)
    scripted_model.push(error(429, retry_after=0.4), text("ok"))
    t0 = time.monotonic()
    turn = ModelClient().complete(MESSAGES, [])
    elapsed = time.monotonic() - t0
    assert turn.content == "ok"
    assert len(scripted_model.requests) == 2
    assert elapsed >= 0.4


def test_retry_after_capped_by_backoff_max(scripted_model, monkeypatch):
    _env(monkeypatch, model_backoff_max_s=0.1)
    scripted_model.push(error(429, retry_after=30), text("ok"))
    t0 = time.monotonic()
    assert ModelClient().complete(MESSAGES, []).content == "ok"
    assert time.monotonic() - t0 < 5


def test_500_twice_then_success(scripted_model):
    scripted_model.push(error(500), error(503), text("ok"))
    assert ModelClient().complete(MESSAGES, []).content == "ok"
    assert len(scripted_model.requests) == 3


def test_timeout_then_success(scripted_model, monkeypatch):
    _env(monkeypatch, model_timeout_s=0.3)
    scripted_model.push(delay(1.5, text("late")), text("ok"))
    turn = ModelClient().complete(MESSAGES, [])
    assert turn.content == "ok"
    assert len(scripted_model.requests) == 2


def test_connection_error_exhausts_retries(monkeypatch):
    _env(monkeypatch, model_base_url="http://127.0.0.1:9/v1", model_max_retries=2)
    with pytest.raises(ModelUnavailable) as info:
        ModelClient().complete(MESSAGES, [])
    assert "cannot connect" in str(info.value)


def test_retries_exhausted_raise_model_unavailable(scripted_model, monkeypatch):
    _env(monkeypatch, model_api_key=SECRET, model_max_retries=2)
    scripted_model.set_default(error(503, body={"error": {"message": f"overloaded, key {SECRET}"}}))
    with pytest.raises(ModelUnavailable) as info:
        ModelClient().complete(MESSAGES, [])
    assert len(scripted_model.requests) == 3  # 1 + 2 retries
    assert info.value.retry_after > 0
    assert "503" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert info.value.__cause__ is None


def test_400_is_model_error_without_retry(scripted_model):
    scripted_model.push(error(400, body={"error": {"message": "context length exceeded"}}), text("never"))
    with pytest.raises(ModelError) as info:
        ModelClient().complete(MESSAGES, [])
    assert len(scripted_model.requests) == 1
    assert "400" in str(info.value) and "context length exceeded" in str(info.value)


def test_404_model_not_found_explains(scripted_model):
    scripted_model.push(error(404, body={"error": {"message": "The model `x` does not exist."}}))
    with pytest.raises(ModelError) as info:
        ModelClient().complete(MESSAGES, [])
    assert "WORKMODE_MODEL_NAME" in str(info.value)
    assert len(scripted_model.requests) == 1


def test_api_key_never_in_error_text(scripted_model, monkeypatch, caplog):
    _env(monkeypatch, model_api_key=SECRET)
    scripted_model.push(error(401, body={"error": {"message": f"Incorrect API key provided: {SECRET}"}}))
    with caplog.at_level("DEBUG"), pytest.raises(ModelError) as info:
        ModelClient().complete(MESSAGES, [])
    assert "WORKMODE_MODEL_API_KEY" in str(info.value)
    assert SECRET not in str(info.value)
    assert SECRET not in caplog.text
    # The key was really sent to the server.
    assert len(scripted_model.requests) == 1


# -- concurrency limit ------------------------------------------------------------------------------

def test_redis_limiter_caps_concurrency(scripted_model, monkeypatch, redis_url):
    _env(monkeypatch, broker_url=redis_url, model_max_concurrency=2, model_slot_wait_s=30)
    scripted_model.set_default(delay(0.3, text("ok")))
    results: list[str] = []
    errors: list[BaseException] = []

    def work():
        try:
            results.append(ModelClient().complete(MESSAGES, []).content)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert results == ["ok"] * 6
    assert scripted_model.max_in_flight == 2
    assert redis.Redis.from_url(redis_url).zcard(REDIS_KEY) == 0  # every slot released


def test_redis_limiter_recovers_leaked_slot(scripted_model, monkeypatch, redis_url):
    _env(monkeypatch, broker_url=redis_url, model_max_concurrency=1, model_slot_wait_s=0.5,
         model_timeout_s=2)
    r = redis.Redis.from_url(redis_url)
    now = r.time()
    now_s = now[0] + now[1] / 1e6
    # A live holder blocks the only slot ...
    r.zadd(REDIS_KEY, {"live-holder": now_s})
    with pytest.raises(ModelUnavailable):
        ModelClient().complete(MESSAGES, [])
    assert scripted_model.requests == []
    # ... a holder that died longer ago than the lease (timeout + 30 s) does not.
    r.zadd(REDIS_KEY, {"live-holder": now_s - 100})
    scripted_model.push(text("done"))
    assert ModelClient().complete(MESSAGES, []).content == "done"
    assert r.zrange(REDIS_KEY, 0, -1) == []


def test_local_limiter_without_redis(scripted_model, monkeypatch):
    _env(monkeypatch, model_max_concurrency=1)
    limiter = get_limiter()
    assert type(limiter).__name__ == "LocalLimiter"
    scripted_model.set_default(delay(0.2, text("ok")))
    threads = [threading.Thread(target=lambda: ModelClient().complete(MESSAGES, [])) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(scripted_model.requests) == 3
    assert scripted_model.max_in_flight == 1


# -- the scripted server itself ---------------------------------------------------------------------

def test_scripted_server_endpoints():
    import httpx

    with ScriptedModel() as model:
        assert httpx.get(model.url + "/models").json()["data"][0]["id"]
        assert httpx.get(model.url.rsplit("/v1", 1)[0] + "/health").json() == {"status": "ok"}
