"""`workmode model serve`: the vLLM command line built from a preset, environment and options, and
the process it becomes (a stand-in `vllm` on PATH records what it was started with)."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest
from click.testing import CliRunner

from services.cli import main
from services.model import serve as serve_module
from tests.support.paths import repo_root

ROOT = repo_root()


def serve(*args: str, env: dict | None = None, stdlib_only: bool = False) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_VLLM_")}
    python = [sys.executable, "-S"] if stdlib_only else [sys.executable]
    return subprocess.run([*python, "-m", "services.model.serve", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**base, **(env or {})}, timeout=30)


def dry_run(*args: str, env: dict | None = None) -> list[str]:
    result = serve("--dry-run", *args, env=env)
    assert result.returncode == 0, result.stderr
    return shlex.split(result.stdout)


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_production_preset_serves_mistral_medium_on_four_gpus():
    argv = dry_run()
    assert argv[:3] == ["vllm", "serve", "mistralai/Mistral-Medium-3.5-128B"]
    assert option(argv, "--tensor-parallel-size") == "4"
    assert option(argv, "--max-model-len") == "65536"
    for name in ("--tokenizer-mode", "--config-format", "--load-format", "--tool-call-parser", "--reasoning-parser"):
        assert option(argv, name) == "mistral", name
    assert {"--enable-auto-tool-choice", "--enable-prefix-caching"} <= set(argv)
    assert option(argv, "--served-model-name") == "mistralai/Mistral-Medium-3.5-128B"  # = WORKMODE_MODEL_NAME
    assert "--kv-cache-dtype" not in argv and "--speculative-config" not in argv  # options, off by default


def test_staging_preset_fits_one_gpu_without_a_reasoning_parser():
    argv = dry_run("--preset", "small-1gpu")
    assert option(argv, "--tensor-parallel-size") == "1"
    assert option(argv, "--tool-call-parser") == "mistral"
    assert "--reasoning-parser" not in argv


def test_environment_then_options_override_the_preset():
    env = {"WORKMODE_VLLM_MAX_MODEL_LEN": "32768", "WORKMODE_VLLM_KV_CACHE_FP8": "true",
           "WORKMODE_VLLM_SPECULATIVE": "yes", "WORKMODE_VLLM_NUM_SPECULATIVE_TOKENS": "4",
           "WORKMODE_VLLM_MODEL": "/models/medium", "WORKMODE_VLLM_EXTRA_ARGS": "--max-num-batched-tokens 8192",
           "WORKMODE_VLLM_GPU_MEMORY_UTILIZATION": ""}  # empty: the preset's
    argv = dry_run(env=env)
    assert option(argv, "--max-model-len") == "32768"
    assert option(argv, "--kv-cache-dtype") == "fp8"
    assert json.loads(option(argv, "--speculative-config")) == {
        "method": "eagle", "model": "mistralai/Mistral-Medium-3.5-128B-EAGLE", "num_speculative_tokens": 4}
    assert argv[2] == "/models/medium"
    assert option(argv, "--served-model-name") == "mistralai/Mistral-Medium-3.5-128B"  # the name stays
    assert option(argv, "--gpu-memory-utilization") == "0.9"
    assert argv[-2:] == ["--max-num-batched-tokens", "8192"]
    argv = dry_run("--max-model-len", "16384", "--no-speculative", env=env)
    assert option(argv, "--max-model-len") == "16384" and "--speculative-config" not in argv
    argv = dry_run(env={"WORKMODE_VLLM_PRESET": "small-1gpu"})
    assert option(argv, "--tensor-parallel-size") == "1"


@pytest.mark.parametrize("args,env,message", [
    (["--preset", "huge"], {}, "invalid choice: 'huge'"),
    ([], {"WORKMODE_VLLM_PRESET": "huge"}, "unknown preset 'huge'; choose one of: mistral-medium-4gpu, "
                                           "mistral-medium-8gpu, small-1gpu, sglang-medium-4gpu, ollama-medium"),
    (["--preset", "sglang-medium-4gpu", "--max-model-len", "9000"], {},
     "preset 'sglang-medium-4gpu' (sglang) has no setting max_model_len"),
    ([], {"WORKMODE_VLLM_KV_CACHE_FP8": "maybe"}, "WORKMODE_VLLM_KV_CACHE_FP8='maybe': expected true or false"),
    ([], {"WORKMODE_VLLM_MAX_MODEL_LEN": "64k"}, "WORKMODE_VLLM_MAX_MODEL_LEN='64k': expected a number"),
    (["--preset", "small-1gpu", "--speculative"], {}, "speculative decoding needs a draft model"),
    ([], {"WORKMODE_VLLM_GPU_MEMORY_UTILIZATION": "90"}, "gpu_memory_utilization must be above 0 and at most 1"),
])
def test_bad_settings_are_refused_with_what_to_fix(args, env, message):
    result = serve("--dry-run", *args, env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_it_becomes_vllm_with_exactly_the_dry_run_command(tmp_path):
    record = tmp_path / "argv.json"
    fake = tmp_path / "bin" / "vllm"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                    f"json.dump([os.path.basename(sys.argv[0])] + sys.argv[1:], open({str(record)!r}, 'w'))\n"
                    "sys.exit(7)\n")
    fake.chmod(0o755)
    path = {"PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    result = serve("--preset", "small-1gpu", "--kv-cache-fp8", env=path)
    assert result.returncode == 7, result.stderr  # the exit status is vLLM's own: the process was replaced
    assert json.loads(record.read_text()) == dry_run("--preset", "small-1gpu", "--kv-cache-fp8")


def test_without_vllm_installed_it_says_how_to_get_it(tmp_path):
    result = serve(env={"PATH": str(tmp_path)})
    assert result.returncode == 2
    assert "pip install 'workmode[model]'" in result.stderr and "--profile gpu" in result.stderr


def test_it_needs_only_the_standard_library():
    """The vLLM image has none of Workmode's dependencies: `python -S` loads no site-packages."""
    result = serve("--dry-run", "--preset", "small-1gpu", stdlib_only=True)
    assert result.returncode == 0, result.stderr
    assert shlex.split(result.stdout) == dry_run("--preset", "small-1gpu")


def test_workmode_model_serve_is_the_same_entry_point():
    runner = CliRunner()
    result = runner.invoke(main, ["model", "serve", "--dry-run", "--preset", "small-1gpu"], catch_exceptions=False)
    assert result.exit_code == 0
    assert shlex.split(result.output) == dry_run("--preset", "small-1gpu")
    listed = runner.invoke(main, ["model", "presets"])
    assert "mistral-medium-4gpu" in listed.output and "small-1gpu" in listed.output


def test_longer_context_preset_uses_eight_gpus_and_the_full_context():
    argv = dry_run("--preset", "mistral-medium-8gpu")
    assert option(argv, "--tensor-parallel-size") == "8"
    assert option(argv, "--max-model-len") == "262144"
    assert option(argv, "--reasoning-parser") == "mistral" and option(argv, "--tool-call-parser") == "mistral"


def test_the_eagle_draft_is_the_publishers_model_in_both_engines():
    vllm = dry_run("--preset", "mistral-medium-4gpu", "--speculative")
    assert json.loads(option(vllm, "--speculative-config"))["model"] == "mistralai/Mistral-Medium-3.5-128B-EAGLE"
    sglang = dry_run("--preset", "sglang-medium-4gpu", "--speculative")
    assert option(sglang, "--speculative-draft-model-path") == "mistralai/Mistral-Medium-3.5-128B-EAGLE"
    assert option(sglang, "--speculative-algorithm") == "EAGLE"


def test_sglang_preset_launches_with_the_mistral_parsers_and_tensor_parallel():
    argv = dry_run("--preset", "sglang-medium-4gpu")
    assert argv[:4] == ["python3", "-m", "sglang.launch_server", "--model-path"]
    assert option(argv, "--tp") == "4"
    assert option(argv, "--tool-call-parser") == "mistral" and option(argv, "--reasoning-parser") == "mistral"
    assert "--enable-metrics" in argv and "--speculative-algorithm" not in argv
    argv = dry_run("--preset", "sglang-medium-4gpu", env={"WORKMODE_SGLANG_TP": "8", "WORKMODE_VLLM_TP": "2"})
    assert option(argv, "--tp") == "8"


def test_sglang_outside_its_image_names_the_images_for_each_gpu(capsys):
    code = serve_module.main(["--preset", "sglang-medium-4gpu"], env={}, installed={}.get)
    err = capsys.readouterr().err
    assert code == 2 and "sglang is not installed here" in err and "lmsysorg/sglang:latest" in err
    assert "H100 / H200 (Hopper, CUDA 12.9): lmsysorg/sglang:dev-mistral-medium-3.5" in err
    assert "B200 / B300 (Blackwell, CUDA 13.0): lmsysorg/sglang:dev-cu13-mistral-medium-3.5" in err


@pytest.mark.parametrize("preset,lines", [
    ("ollama-medium", ["WORKMODE_MODEL_BASE_URL=http://127.0.0.1:11434/v1",
                       "WORKMODE_MODEL_NAME=hf.co/unsloth/Mistral-Medium-3.5-128B-GGUF:Q4_K_M",
                       "WORKMODE_TOOL_MODE=json"]),
    ("nim", ["WORKMODE_MODEL_BASE_URL=https://integrate.api.nvidia.com/v1",
             "WORKMODE_MODEL_NAME=mistralai/mistral-medium-3.5-128b"]),
    ("mistral-api", ["WORKMODE_MODEL_BASE_URL=https://api.mistral.ai/v1", "WORKMODE_MODEL_NAME=mistral-medium-2604",
                     "WORKMODE_TOOL_MODE=native"]),
])
def test_servers_workmode_does_not_start_print_their_settings(preset, lines):
    result = serve("--dry-run", "--preset", preset)
    assert result.returncode == 0, result.stderr
    for line in lines:
        assert line in result.stdout.splitlines()
    started = serve("--preset", preset)
    assert started.returncode == 2 and "does not start" in started.stderr


def test_presets_list_every_engine():
    listed = serve("--list").stdout
    for engine in ("vllm", "sglang", "ollama", "nim", "mistral-api"):
        assert f" {engine} " in listed


GOOD = {"vllm": "0.19.2.dev212+g8cd174fa3", "mistral_common": "1.11.1", "transformers": "5.4.0"}


def test_version_guard_passes_what_the_model_card_asks_for():
    preset = serve_module.resolve("mistral-medium-4gpu", {})
    assert serve_module.version_problems(preset, GOOD.get) == []
    assert serve_module.version_problems(preset, {}.get) == []  # vLLM not in this Python: nothing to check
    assert serve_module.version_problems(serve_module.resolve("small-1gpu", {}), {"vllm": "0.8.0"}.get) == []


@pytest.mark.parametrize("installed,problem", [
    ({**GOOD, "transformers": "4.49.0"}, "transformers 4.49.0 is older than 5.4.0"),
    ({**GOOD, "transformers": "5.4.0rc1"}, "transformers 5.4.0rc1 is older than 5.4.0"),
    ({**GOOD, "mistral_common": "1.8.5"}, "mistral_common 1.8.5 is older than 1.11.1"),
    ({"vllm": "0.11.0", "transformers": "5.4.0"}, "mistral_common is not installed"),
])
def test_version_guard_refuses_an_older_vllm_with_what_to_install(installed, problem, capsys):
    code = serve_module.main(["--preset", "mistral-medium-4gpu"], env={}, installed=installed.get)
    assert code == 2
    err = capsys.readouterr().err
    assert problem in err
    assert "vLLM nightly" in err and "https://wheels.vllm.ai/nightly" in err and "vllm/vllm-openai:nightly" in err


def test_a_vllm_floor_can_be_set_once_a_release_carries_the_model(capsys):
    code = serve_module.main(["--preset", "mistral-medium-4gpu"], env={"WORKMODE_VLLM_MIN_VLLM": "0.20.0"},
                             installed=GOOD.get)
    assert code == 2 and "vllm 0.19.2.dev212+g8cd174fa3 is older than 0.20.0" in capsys.readouterr().err
    assert serve_module.older_than("0.20.0rc1", "0.20.0") and not serve_module.older_than("0.20.1", "0.20.0")
    assert not serve_module.older_than("5.10.0", "5.4.0")


SMOKE = ROOT / "infra" / "vllm" / "smoke.sh"


def smoke(*args: str, out: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}"
           f"{os.environ['PATH']}"}
    if out is not None:
        env["SMOKE_OUT"] = out
    return subprocess.run(["bash", str(SMOKE), *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=60)


def jobs_line(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("jobs:"))
    return shlex.split(line.removeprefix("jobs:"))


def test_smoke_script_plans_the_preset_the_check_and_a_few_jobs():
    result = smoke("--dry-run", "--preset", "mistral-medium-8gpu")
    lines = result.stdout.splitlines()
    assert shlex.split(lines[0].removeprefix("start:"))[:3] == ["vllm", "serve", "mistralai/Mistral-Medium-3.5-128B"]
    assert "--tensor-parallel-size 8" in lines[0]
    assert "workmode model check --url http://127.0.0.1:8000/v1 --model mistralai/Mistral-Medium-3.5-128B" in lines[1]
    jobs = jobs_line(result)
    assert jobs[:2] == ["workmode", "eval"] and option(jobs, "--suite") == "work"
    assert option(jobs, "--model-url") == "http://127.0.0.1:8000/v1"
    assert option(jobs, "--model-name") == "mistralai/Mistral-Medium-3.5-128B"
    assert option(jobs, "--out").endswith("eval.json")
    tasks = [jobs[i + 1] for i, arg in enumerate(jobs) if arg == "--task"]
    # A reply, a calendar slot and one job across three connectors (Jira, Slack, Gmail): a few jobs, not the suite.
    assert tasks == ["reply-priya-rota", "book-dana-q3", "globex-escalation-full"]
    from services.evals.suites import select_tasks

    chosen = select_tasks("work", tuple(tasks))  # they exist in the work suite (an unknown id raises)
    assert [t.kind for t in chosen] == ["reply", "schedule", "multi_step"] and not any(t.skip for t in chosen)


def test_smoke_script_runs_other_tasks_or_the_full_suite_when_asked():
    picked = jobs_line(smoke("--dry-run", "--url", "http://gpu:8000/v1", "--task", "summarise-ops19"))
    assert [picked[i + 1] for i, arg in enumerate(picked) if arg == "--task"] == ["summarise-ops19"]
    assert option(picked, "--model-url") == "http://gpu:8000/v1"
    full = jobs_line(smoke("--dry-run", "--full"))
    assert option(full, "--suite") == "all" and "--task" not in full
    both = smoke("--dry-run", "--full", "--task", "book-dana-q3")
    assert both.returncode == 2 and "--full runs every task" in both.stderr


def test_smoke_script_runs_the_jobs_in_the_tool_mode_the_check_recommended(tmp_path):
    assert "--tool-mode" not in jobs_line(smoke("--dry-run", out=str(tmp_path)))
    (tmp_path / "check.json").write_text(json.dumps({"ok": False, "recommended_tool_mode": "json"}))
    jobs = jobs_line(smoke("--dry-run", out=str(tmp_path)))
    assert option(jobs, "--tool-mode") == "json" and option(jobs, "--out") == str(tmp_path / "eval.json")


def test_smoke_script_turns_metric_scrapes_and_the_eval_report_into_the_numbers(tmp_path):
    label = '{model_name="m"}'
    before = (f"vllm:generation_tokens_total{label} 100\nvllm:prefix_cache_queries_total{label} 1000\n"
              f"vllm:prefix_cache_hits_total{label} 0\n"
              f'vllm:e2e_request_latency_seconds_bucket{{le="1.0",model_name="m"}} 0\n'
              f'vllm:e2e_request_latency_seconds_bucket{{le="2.5",model_name="m"}} 0\n'
              f'vllm:e2e_request_latency_seconds_bucket{{le="+Inf",model_name="m"}} 0\n'
              f"vllm:e2e_request_latency_seconds_count{label} 0\n")
    after = (f"vllm:generation_tokens_total{label} 2100\nvllm:prefix_cache_queries_total{label} 5000\n"
             f"vllm:prefix_cache_hits_total{label} 3000\n"
             f'vllm:e2e_request_latency_seconds_bucket{{le="1.0",model_name="m"}} 1\n'
             f'vllm:e2e_request_latency_seconds_bucket{{le="2.5",model_name="m"}} 3\n'
             f'vllm:e2e_request_latency_seconds_bucket{{le="+Inf",model_name="m"}} 4\n'
             f"vllm:e2e_request_latency_seconds_count{label} 4\n")
    (tmp_path / "b.prom").write_text(before)
    (tmp_path / "a.prom").write_text(after)
    # What `workmode eval` writes: its own step histogram read around the run (services.evals.report).
    from services.evals.report import step_latency

    latency = step_latency({"buckets": [(2.5, 0.0), (5.0, 0.0), (float("inf"), 0.0)], "count": 0.0, "sum": 0.0},
                           {"buckets": [(2.5, 2.0), (5.0, 8.0), (float("inf"), 10.0)], "count": 10.0, "sum": 52.0})
    (tmp_path / "eval.json").write_text(json.dumps({"summary": {}, "tasks": [], "step_latency": latency}))
    result = smoke("--summarize", str(tmp_path / "b.prom"), str(tmp_path / "a.prom"), "40", str(tmp_path / "eval.json"))
    assert result.returncode == 0, result.stderr
    assert "tokens/s: 50.0 " in result.stdout
    # 10 steps: the 5th lies in the 2.5-5 s bucket (2 below it, 6 in it): 2.5 + 2.5 * 3/6.
    assert ("p50 step latency: 3.75 s (between 2.5 and 5 s; mean 5.2 s over 10 agent steps, "
            "workmode_step_duration_seconds)") in result.stdout
    assert "p50 model request: <= 2.5 s (the engine's vllm:e2e_request_latency_seconds bucket bound, 4 requests)" \
        in result.stdout
    assert "prefix-cache hit rate: 75%" in result.stdout
    without = smoke("--summarize", str(tmp_path / "b.prom"), str(tmp_path / "a.prom"), "40")
    assert "p50 step latency: n/a" in without.stdout
