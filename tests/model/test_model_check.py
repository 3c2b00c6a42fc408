"""`workmode model check` against local servers that behave like the engines' documented quirks
(tests/fakes/engine_servers.py): each check fails on the server that lacks the feature and passes
on the healthy one; the command itself runs as a real subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.agent.prompt import SYSTEM_PROMPT
from services.agent.toolbox import job_tools, tool_specs
from services.cli.model import PROBES
from services.model.check import FAIL, PASS, SKIP, EndpointCheck, Probe, Report, cheap
from services.store.models import Organisation
from tests.fakes.engine_servers import EngineServer
from tests.support.paths import repo_root

SPECS = tool_specs(job_tools(Organisation(name="check")))


def run_check(engine: EngineServer, **kw) -> Report:
    return EndpointCheck(engine.url, engine.model, engine.api_key, tools=SPECS, system_prompt=SYSTEM_PROMPT,
                         probes=[Probe(n, a) for n, a in PROBES], samples=2, **kw).run()


def status(report: Report, name: str) -> str:
    result = report.get(name)
    assert result is not None, name
    return result.status


@pytest.fixture(scope="module")
def healthy_report() -> Report:
    with EngineServer.healthy() as engine:
        return run_check(engine)


def test_the_healthy_engine_passes_everything(healthy_report):
    assert healthy_report.ok, [r for r in healthy_report.results if r.status == FAIL]
    for name in ("reachable", "model served", "plain chat", "native tool calls", "parallel tool calls",
                 "tool-call ids", "reasoning_effort", "reasoning separated", "JSON schema", "context length",
                 "prefix caching"):
        assert status(healthy_report, name) == PASS, name
    assert healthy_report.recommended_tool_mode == "native"
    m = healthy_report.measurements
    assert {"ttft_s", "tokens_per_s", "step_p50_s", "prefix_cache_hit_rate", "context_tokens"} <= set(m)


@pytest.mark.parametrize("factory,check,fix", [
    (EngineServer.without_reasoning_effort, "reasoning_effort", "reasoning_effort"),
    (EngineServer.tool_calls_as_text, "native tool calls", "--tool-call-parser mistral"),
    (EngineServer.without_json_schema, "JSON schema", "WORKMODE_TOOL_MODE=native"),
    (EngineServer.short_context, "context length", "--max-model-len"),
    (EngineServer.short_context_unlisted, "context length", "--max-model-len"),
    (EngineServer.without_reasoning_parser, "reasoning separated", "--reasoning-parser mistral"),
    (EngineServer.without_prefix_cache, "prefix caching", "--enable-prefix-caching"),
    (EngineServer.plain_chat_error, "plain chat", "cannot answer a plain chat request"),
    (EngineServer.plain_chat_empty, "plain chat", "chat template and max tokens"),
    (EngineServer.plain_chat_garbage, "plain chat", "--tokenizer-mode mistral"),
    (EngineServer.one_call_per_turn, "parallel tool calls", "returns one call per turn"),
    (EngineServer.parallel_calls_mangled, "parallel tool calls", "breaks calls made together"),
])
def test_each_check_fails_on_the_engine_that_lacks_it(factory, check, fix, healthy_report):
    with factory() as engine:
        report = run_check(engine)
    result = report.get(check)
    assert result is not None and result.status == FAIL, report.results
    assert fix in result.fix
    assert not report.ok
    assert status(healthy_report, check) == PASS
    others = [r.name for r in report.results if r.status == FAIL and r.name != check]
    assert others == [], others  # the quirk breaks its own check only


def test_tool_calls_as_text_recommend_json_mode():
    with EngineServer.tool_calls_as_text() as engine:
        report = run_check(engine)
    assert "came back as text" in report.get("native tool calls").detail
    assert report.recommended_tool_mode == "json"


@pytest.mark.parametrize("factory,detail", [
    (EngineServer.plain_chat_error, "HTTP 500: Internal server error"),
    (EngineServer.plain_chat_empty, "the answer was empty"),
    (EngineServer.plain_chat_garbage, "asked for the word 'ready'"),
])
def test_a_broken_plain_chat_says_what_came_back(factory, detail):
    with factory() as engine:
        report = run_check(engine)
    assert detail in report.get("plain chat").detail
    assert report.recommended_tool_mode == "native"  # tools, schema and the rest still work there


def test_parallel_calls_dropped_or_mangled_keep_native_mode_and_say_which():
    with EngineServer.one_call_per_turn() as engine:
        dropped = run_check(engine)
    assert "asked for 2 calls in one turn, got 1 (gmail_search)" in dropped.get("parallel tool calls").detail
    assert dropped.get("native tool calls").status == PASS and dropped.recommended_tool_mode == "native"
    with EngineServer.parallel_calls_mangled() as engine:
        mangled = run_check(engine)
    result = mangled.get("parallel tool calls")
    assert "1 valid, the rest mangled (calendar_list_events: arguments invalid" in result.detail
    assert "WORKMODE_TOOL_MODE=json" in result.fix
    assert mangled.get("native tool calls").status == PASS


def test_tool_ids_in_the_wrong_form_for_the_model_family_fail():
    with EngineServer.healthy() as engine:  # Mistral's tokenizer: 9 letters and digits only
        report = run_check(engine, family="generic")  # the client would keep the server's ids
    assert status(report, "tool-call ids") == FAIL
    assert "WORKMODE_MODEL_FAMILY=mistral" in report.get("tool-call ids").fix
    with EngineServer.generic_ids() as engine:
        assert status(run_check(engine, family="generic"), "tool-call ids") == PASS


def test_wrong_key_and_wrong_model_say_what_to_set_and_never_show_the_key():
    with EngineServer.healthy() as engine:
        bad = EndpointCheck(engine.url, engine.model, "sk-wrong-key-123").run()
        assert status(bad, "reachable") == FAIL and "WORKMODE_MODEL_API_KEY" in bad.get("reachable").fix
        assert all(r.status == SKIP for r in bad.results[1:])
        other = EndpointCheck(engine.url, "mistral-large", engine.api_key).run()
        assert status(other, "model served") == FAIL
        assert engine.model in other.get("model served").detail
        assert "WORKMODE_MODEL_NAME" in other.get("model served").fix
        assert engine.api_key not in json.dumps(other.as_dict())


def test_unreachable_endpoint_fails_the_first_check():
    report = EndpointCheck("http://127.0.0.1:9/v1", "m", timeout=2).run()
    assert status(report, "reachable") == FAIL and not report.ok


def test_no_metrics_is_skipped_not_failed_and_sglang_metrics_are_read():
    with EngineServer(metrics=None) as engine:
        assert status(run_check(engine), "prefix caching") == SKIP
    with EngineServer(metrics="sglang") as engine:
        assert status(run_check(engine), "prefix caching") == PASS
    with EngineServer(metrics="sglang", prefix_cache=False) as engine:
        assert status(run_check(engine), "prefix caching") == FAIL


def test_cheap_part_is_reachability_and_model_only():
    with EngineServer.healthy() as engine:
        results = cheap(engine.url, engine.model, engine.api_key)
        assert [(r.name, r.status) for r in results] == [("reachable", PASS), ("model served", PASS)]
        assert engine.requests == []  # no completion was asked for
        assert cheap(engine.url, "other", engine.api_key)[-1].status == FAIL


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_")}
    workmode = str(Path(sys.executable).parent / "workmode")
    return subprocess.run([workmode, "model", "check", *args], cwd=repo_root(),
                          capture_output=True, text=True, env={**base, "PYTHONPATH": str(repo_root()), **env},
                          timeout=120)


def test_workmode_model_check_prints_the_table_and_exits_by_the_result(tmp_path):
    with EngineServer.healthy() as good, EngineServer.without_json_schema() as bad:
        env = {"WORKMODE_MODEL_API_KEY": good.api_key}
        ok = cli("--url", good.url, "--model", good.model, "--samples", "1", "--json", str(tmp_path / "r.json"),
                 env=env)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "recommended tool mode: native" in ok.stdout and "all checks passed" in ok.stdout
        assert json.loads((tmp_path / "r.json").read_text())["ok"] is True
        assert good.api_key not in ok.stdout
        failed = cli("--samples", "1", env={**env, "WORKMODE_MODEL_BASE_URL": bad.url,
                                            "WORKMODE_MODEL_NAME": bad.model})
        assert failed.returncode == 1
        assert "JSON schema" in failed.stdout and "FAIL" in failed.stdout and "1 check(s) failed" in failed.stdout


def test_readyz_runs_the_cheap_part(workspace, monkeypatch):
    from fastapi.testclient import TestClient

    from services.api.app import create_app
    from services.config import reset_settings

    with EngineServer.healthy() as engine:
        monkeypatch.setenv("WORKMODE_MODEL_BASE_URL", engine.url)
        monkeypatch.setenv("WORKMODE_MODEL_API_KEY", engine.api_key)
        monkeypatch.setenv("WORKMODE_MODEL_NAME", engine.model)
        reset_settings()
        client = TestClient(create_app(), base_url="http://127.0.0.1")
        ready = client.get("/readyz").json()
        assert ready["checks"]["model"] == {"ok": True, "detail": f"{engine.model} served"}
        monkeypatch.setenv("WORKMODE_MODEL_NAME", "mistral-large")
        reset_settings()
        down = client.get("/readyz")
        assert down.status_code == 503 and "model" in down.json()["failed"]
        assert "not among the served models" in down.json()["checks"]["model"]["detail"]
        assert engine.api_key not in down.text
        assert engine.requests == []  # no completion: only GET /v1/models
