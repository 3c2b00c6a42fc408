"""WORKMODE_MODEL_FAMILY: Mistral's request rules (one system message, 9-character tool-call ids)
apply to Mistral models only; "auto" tells them by the model name."""
from __future__ import annotations

import re

import pytest

from services.config import Settings, reset_settings
from services.model.client import ModelClient
from tests.fakes.model_server import text, tool_calls

ID_RE = re.compile(r"^[A-Za-z0-9]{9}$")
TOOL = {"type": "function", "function": {"name": "search_email", "description": "Search mail.",
                                         "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}
MESSAGES = [
    {"role": "system", "content": "You are Workmode."},
    {"role": "user", "content": "Find the invoice."},
    {"role": "system", "content": "Late system note."},
]


def _env(monkeypatch, **values):
    for key, value in values.items():
        monkeypatch.setenv(f"WORKMODE_{key.upper()}", str(value))
    reset_settings()


@pytest.mark.parametrize(("family", "name", "mistral"), [
    ("mistral", "Qwen/Qwen3-32B", True),
    ("generic", "mistralai/Mistral-Medium-3.5-128B", False),
    ("auto", "mistralai/Mistral-Medium-3.5-128B", True),
    ("auto", "mistralai/Magistral-Small-2509", True),
    ("auto", "Qwen/Qwen3-32B", False),
    ("auto", "HuggingFaceTB/SmolLM2-135M-Instruct", False),
])
def test_family_decides_the_rules(family, name, mistral):
    assert Settings(model_family=family, model_name=name).mistral_rules is mistral


def test_the_default_follows_mistral_rules():
    assert Settings().model_family == "mistral" and Settings().mistral_rules


def test_mistral_merges_system_messages_and_renames_tool_calls(scripted_model, monkeypatch):
    _env(monkeypatch, model_family="mistral")
    scripted_model.push(tool_calls(("search_email", {"query": "invoice"})))
    turn = ModelClient().complete(MESSAGES, [TOOL])
    assert ID_RE.match(turn.tool_calls[0].id)
    sent = scripted_model.requests[0]["messages"]
    assert [m["role"] for m in sent] == ["system", "user"]
    assert sent[0]["content"] == "You are Workmode.\n\nLate system note."


def test_generic_sends_system_messages_as_they_are_and_keeps_the_servers_ids(scripted_model, monkeypatch):
    _env(monkeypatch, model_family="generic")
    scripted_model.push(tool_calls(("search_email", {"query": "a"}), ("search_email", {"query": "b"})))
    turn = ModelClient().complete(MESSAGES, [TOOL])
    ids = [c.id for c in turn.tool_calls]
    assert all(i.startswith("call_") for i in ids) and len(set(ids)) == 2  # the scripted server's ids
    assert scripted_model.requests[0]["messages"] == MESSAGES


def test_auto_with_a_non_mistral_model_is_generic(scripted_model, monkeypatch):
    _env(monkeypatch, model_family="auto", model_name="Qwen/Qwen3-32B")
    scripted_model.push(tool_calls(("search_email", {"query": "a"})))
    turn = ModelClient().complete(MESSAGES, [TOOL])
    assert turn.tool_calls[0].id.startswith("call_")
    assert [m["role"] for m in scripted_model.requests[0]["messages"]] == ["system", "user", "system"]


def test_generic_json_mode_adds_the_format_to_the_first_system_message(scripted_model, monkeypatch):
    _env(monkeypatch, model_family="generic", tool_mode="json")
    scripted_model.push(text("Done."))
    ModelClient().complete(MESSAGES, [TOOL])
    sent = scripted_model.requests[0]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "system"]
    assert sent[0]["content"].startswith("You are Workmode.\n\n") and '"tool": "final_answer"' in sent[0]["content"]
    assert sent[2] == {"role": "system", "content": "Late system note."}
