"""Builds the model server's command line from a preset, and refuses engines too old for the model.

The one place that holds the engines' flags: `workmode model serve`, the `vllm` service in
docker-compose.yml and the Kubernetes deployment all run this module. It uses only the standard
library, so it runs inside the vLLM image (`python3 -m services.model.serve`) without Workmode's
own dependencies. The presets are in presets.py; infra/vllm/README.md says why each flag is there.

Settings come from the preset, then WORKMODE_VLLM_* environment variables (WORKMODE_SGLANG_* for
SGLang presets), then the command line. `--dry-run` prints the command; otherwise the process
becomes the server (exec), so the container's signals reach it directly. Before that it checks
the installed versions against the preset's floors (`version_problems`).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, replace
from typing import Any

from services.model.presets import (
    DEFAULT_PRESET,
    PRESETS,
    SGLANG_MEDIUM_IMAGES,
    VLLM_NIGHTLY_INSTALL,
    EndpointPreset,
    Preset,
    SglangPreset,
    VllmPreset,
)

ENV_PREFIX = "WORKMODE_VLLM_"
SGLANG_ENV_PREFIX = "WORKMODE_SGLANG_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

Installed = Callable[[str], "str | None"]


class ServeError(ValueError):
    """A setting is wrong; the message says which and what to do."""


def installed_version(distribution: str) -> str | None:
    """The installed version of a Python distribution (what `vllm.__version__` reports for vLLM's
    wheels), or None. Read from package metadata, so nothing heavy is imported."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _release(version: str) -> tuple[tuple[int, ...], bool]:
    """(numeric release, is a pre-release) of a PEP 440 version; local parts (+cu129) are ignored."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)(.*)", version)
    if not match:
        return (), False
    numbers = tuple(int(n) for n in match.group(1).split("."))
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers = numbers[:-1]
    rest = match.group(2).split("+")[0].lower()
    return numbers, bool(re.match(r"\.?(dev|a|b|rc|alpha|beta|pre|preview)", rest))


def older_than(version: str, floor: str) -> bool:
    """Whether `version` is below `floor` (a pre-release of the floor itself counts as below)."""
    have, pre = _release(version)
    want, _ = _release(floor)
    return have < want or (have == want and pre)


def version_problems(p: Preset, installed: Installed = installed_version, min_vllm: str = "") -> list[str]:
    """What is too old (or missing) for this preset; empty when all is well or when vLLM is not
    installed in this Python (then there is nothing to check here)."""
    if not isinstance(p, VllmPreset):
        return []
    vllm = installed("vllm")
    if vllm is None:
        return []
    problems = []
    floor = min_vllm or p.min_vllm
    if floor and older_than(vllm, floor):
        problems.append(f"vllm {vllm} is older than {floor}")
    for dist, lowest in p.requires:
        have = installed(dist)
        if have is None:
            problems.append(f"{dist} is not installed (needs {lowest} or newer)")
        elif older_than(have, lowest):
            problems.append(f"{dist} {have} is older than {lowest}")
    return problems


def _convert(p: Any, name: str, raw: str, source: str) -> Any:
    kind = type(getattr(p, name))
    value = raw.strip()
    if kind is bool:
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ServeError(f"{source}={raw!r}: expected true or false")
    if kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            raise ServeError(f"{source}={raw!r}: expected a number") from None
    return value


_FIXED = {"description", "requires", "image"}


def from_env(p: Any, env: Mapping[str, str]) -> Any:
    """Apply WORKMODE_VLLM_<FIELD> (or WORKMODE_SGLANG_<FIELD>) variables; empty ones are ignored."""
    prefix = SGLANG_ENV_PREFIX if isinstance(p, SglangPreset) else ENV_PREFIX
    changes = {}
    for f in fields(p):
        key = prefix + f.name.upper()
        if f.name not in _FIXED and env.get(key, "").strip():
            changes[f.name] = _convert(p, f.name, env[key], key)
    return replace(p, **changes)


def check(p: Any) -> Any:
    if isinstance(p, VllmPreset):
        if p.tensor_parallel_size < 1:
            raise ServeError("tensor_parallel_size must be at least 1 (the number of GPUs the model is split over)")
        if p.max_model_len < 1024:
            raise ServeError(f"max_model_len={p.max_model_len} is too small for an agent transcript (at least 1024)")
        if not 0 < p.gpu_memory_utilization <= 1:
            raise ServeError("gpu_memory_utilization must be above 0 and at most 1 (a fraction of each GPU's memory)")
        if p.speculative and p.num_speculative_tokens < 1:
            raise ServeError("num_speculative_tokens must be at least 1")
    if isinstance(p, SglangPreset):
        if p.tp < 1:
            raise ServeError("tp must be at least 1 (the number of GPUs the model is split over)")
        if p.context_length < 1024:
            raise ServeError(f"context_length={p.context_length} is too small for an agent transcript (at least 1024)")
        if not 0 <= p.mem_fraction_static <= 1:
            raise ServeError("mem_fraction_static must be between 0 and 1")
    if isinstance(p, VllmPreset | SglangPreset):
        if p.speculative and not p.draft_model:
            raise ServeError("speculative decoding needs a draft model: set WORKMODE_VLLM_DRAFT_MODEL (an EAGLE head)")
        if not 0 < p.port < 65536:
            raise ServeError(f"port {p.port} is not a TCP port")
    return p


def vllm_command(p: VllmPreset) -> list[str]:
    """The `vllm serve` argv for a checked preset."""
    argv = ["vllm", "serve", p.model,
            "--served-model-name", p.served_model_name or p.model,
            "--host", p.host, "--port", str(p.port),
            "--tensor-parallel-size", str(p.tensor_parallel_size),
            "--max-model-len", str(p.max_model_len),
            "--gpu-memory-utilization", f"{p.gpu_memory_utilization:g}"]
    if p.mistral_format:
        argv += ["--tokenizer-mode", "mistral", "--config-format", "mistral", "--load-format", "mistral"]
    if p.tool_call_parser:
        argv += ["--enable-auto-tool-choice", "--tool-call-parser", p.tool_call_parser]
    if p.reasoning_parser:
        argv += ["--reasoning-parser", p.reasoning_parser]
    if p.prefix_caching:
        argv += ["--enable-prefix-caching"]
    if p.kv_cache_fp8:
        argv += ["--kv-cache-dtype", "fp8"]
    if p.speculative:
        spec = {"method": "eagle", "model": p.draft_model, "num_speculative_tokens": p.num_speculative_tokens}
        argv += ["--speculative-config", json.dumps(spec, separators=(",", ":"))]
    if p.max_num_seqs:
        argv += ["--max-num-seqs", str(p.max_num_seqs)]
    if p.download_dir:
        argv += ["--download-dir", p.download_dir]
    return argv + shlex.split(p.extra_args)


def sglang_command(p: SglangPreset) -> list[str]:
    """The SGLang launch argv (flags from SGLang's cookbook page for the model)."""
    argv = ["python3", "-m", "sglang.launch_server", "--model-path", p.model,
            "--served-model-name", p.served_model_name or p.model,
            "--host", p.host, "--port", str(p.port),
            "--tp", str(p.tp), "--context-length", str(p.context_length),
            "--enable-metrics"]
    if p.tool_call_parser:
        argv += ["--tool-call-parser", p.tool_call_parser]
    if p.reasoning_parser:
        argv += ["--reasoning-parser", p.reasoning_parser]
    if p.mem_fraction_static:
        argv += ["--mem-fraction-static", f"{p.mem_fraction_static:g}"]
    if p.speculative:
        argv += ["--dtype", "bfloat16", "--speculative-algorithm", "EAGLE",
                 "--speculative-draft-model-path", p.draft_model,
                 "--speculative-num-steps", str(p.speculative_num_steps),
                 "--speculative-eagle-topk", str(p.speculative_eagle_topk),
                 "--speculative-num-draft-tokens", str(p.speculative_num_draft_tokens)]
    return argv + shlex.split(p.extra_args)


def command(p: Any) -> list[str]:
    if isinstance(p, VllmPreset):
        return vllm_command(p)
    if isinstance(p, SglangPreset):
        return sglang_command(p)
    raise ServeError(f"{p.engine} is not started by Workmode; point Workmode at it (see --dry-run)")


def endpoint_settings(p: EndpointPreset) -> list[str]:
    """The .env lines that point Workmode at a server it does not start."""
    lines = [f"WORKMODE_MODEL_BASE_URL={p.base_url}", f"WORKMODE_MODEL_NAME={p.model}",
             f"WORKMODE_TOOL_MODE={p.tool_mode}", f"WORKMODE_MODEL_FAMILY={p.model_family}"]
    if p.api_key_hint:
        lines.append(f"# WORKMODE_MODEL_API_KEY: {p.api_key_hint}")
    return [f"# first: {step}" for step in p.setup] + lines


def resolve(preset: str | None, env: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> Preset:
    name = preset or env.get(ENV_PREFIX + "PRESET", "").strip() or DEFAULT_PRESET
    if name not in PRESETS:
        raise ServeError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    base: Any = PRESETS[name]
    if isinstance(base, EndpointPreset):
        return base
    base = replace(base, served_model_name=base.served_model_name or base.model)  # stays when weights move
    chosen = from_env(base, env)
    known = {f.name for f in fields(chosen)}
    unknown = sorted(k for k, v in (overrides or {}).items() if v is not None and k not in known)
    if unknown:
        raise ServeError(f"preset {name!r} ({chosen.engine}) has no setting {', '.join(unknown)}")
    return check(replace(chosen, **{k: v for k, v in (overrides or {}).items() if v is not None}))


def listing() -> list[str]:
    return [f"{name:22} {p.engine:12} {p.description}" for name, p in PRESETS.items()]


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="workmode model serve",
        description="Start the model server for Workmode from a preset (settings: preset < WORKMODE_VLLM_* "
                    "(WORKMODE_SGLANG_* for SGLang) environment < these options). Presets of servers Workmode "
                    "does not start (Ollama, NIM, Mistral's API) print the settings that point Workmode at them.")
    ap.add_argument("--preset", choices=list(PRESETS), help=f"default: $WORKMODE_VLLM_PRESET or {DEFAULT_PRESET}")
    ap.add_argument("--model", help="weights: a Hugging Face repo id or a local directory")
    ap.add_argument("--max-model-len", type=int, help="vLLM: longest prompt + answer in tokens")
    ap.add_argument("--tensor-parallel-size", type=int, help="vLLM: GPUs the model is split over")
    ap.add_argument("--kv-cache-fp8", action=argparse.BooleanOptionalAction, default=None,
                    help="vLLM: store the KV cache in FP8 (about twice the context per GPU)")
    ap.add_argument("--speculative", action=argparse.BooleanOptionalAction, default=None,
                    help="EAGLE speculative decoding with the preset's draft model")
    ap.add_argument("--port", type=int)
    ap.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    ap.add_argument("--list", action="store_true", help="list the presets")
    return ap


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
         installed: Installed = installed_version) -> int:
    args = parser().parse_args(argv)
    env = os.environ if env is None else env
    if args.list:
        print("\n".join(listing()))
        return 0
    overrides = {"model": args.model, "max_model_len": args.max_model_len, "port": args.port,
                 "tensor_parallel_size": args.tensor_parallel_size, "kv_cache_fp8": args.kv_cache_fp8,
                 "speculative": args.speculative}
    try:
        p = resolve(args.preset, env, overrides)
        if isinstance(p, EndpointPreset):
            print("\n".join(endpoint_settings(p)))
            if args.dry_run:
                return 0
            print(f"error: Workmode does not start {p.engine}; put the lines above in .env, then run "
                  "`workmode model check`", file=sys.stderr)
            return 2
        argv_out = command(p)
    except ServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(shlex.join(argv_out))
        return 0
    problems = version_problems(p, installed, env.get(ENV_PREFIX + "MIN_VLLM", "").strip())
    if problems:
        print(f"error: this vLLM ({installed('vllm')}) cannot serve {p.model}: {'; '.join(problems)}. "
              f"Mistral Medium 3.5 needs vLLM nightly (with mistral_common >= 1.11.1 and transformers >= 5.4.0): "
              f"{VLLM_NIGHTLY_INSTALL}, or the image built from infra/Dockerfile (VLLM_IMAGE=vllm/vllm-openai:nightly)",
              file=sys.stderr)
        return 2
    if isinstance(p, SglangPreset):
        if installed("sglang") is None:
            day0 = "; ".join(f"{gpus}: {tag}" for gpus, tag in SGLANG_MEDIUM_IMAGES)
            print(f"error: sglang is not installed here: run this in SGLang's image ({p.image or 'lmsysorg/sglang'}; "
                  f"the model's day-0 images: {day0})", file=sys.stderr)
            return 2
        program, argv_out = sys.executable, [sys.executable, *argv_out[1:]]
    else:
        program = argv_out[0]
    if shutil.which(program) is None:
        print("error: vllm is not installed here: `pip install 'workmode[model]'` on a GPU host, or run the "
              "`vllm` service of docker-compose.yml (docker compose --profile gpu up)", file=sys.stderr)
        return 2
    sys.stdout.flush()
    os.execvp(program, argv_out)  # replaces this process; signals go straight to the server
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
