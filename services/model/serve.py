"""Builds the `vllm serve` command line for the model service from a preset.

The one place that holds the vLLM flags: `workmode model serve`, the `vllm` service in
docker-compose.yml and the Kubernetes deployment all run this module. It uses only the standard
library, so it runs inside the vLLM image (`python3 -m services.model.serve`) without Workmode's
own dependencies. infra/vllm/README.md says why each flag is there.

Settings come from the preset, then WORKMODE_VLLM_* environment variables, then the command
line. `--dry-run` prints the command; otherwise the process becomes `vllm serve` (exec), so the
container's signals reach vLLM directly.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

ENV_PREFIX = "WORKMODE_VLLM_"
DEFAULT_PRESET = "mistral-medium-4gpu"


@dataclass(frozen=True)
class Preset:
    model: str  # Hugging Face repo id, or a local directory of weights
    description: str
    tensor_parallel_size: int
    max_model_len: int
    served_model_name: str = ""  # empty: the preset's repo id (what WORKMODE_MODEL_NAME names)
    gpu_memory_utilization: float = 0.90
    mistral_format: bool = True  # --tokenizer-mode/--config-format/--load-format mistral
    tool_call_parser: str = "mistral"
    reasoning_parser: str = ""  # empty: the model does not reason in [THINK] blocks
    prefix_caching: bool = True
    kv_cache_fp8: bool = False
    speculative: bool = False  # EAGLE speculative decoding with `draft_model`
    draft_model: str = ""
    num_speculative_tokens: int = 3
    max_num_seqs: int = 0  # 0: vLLM's default
    download_dir: str = ""  # empty: $HF_HOME (the model cache volume)
    host: str = "0.0.0.0"
    port: int = 8000
    extra_args: str = ""  # anything else, appended verbatim (shell-style quoting)


PRESETS: dict[str, Preset] = {
    "mistral-medium-4gpu": Preset(
        model="mistralai/Mistral-Medium-3.5-128B",
        description="Production: Mistral Medium 3.5 (128B dense) on 4 x 80 GB GPUs, tensor parallel 4",
        tensor_parallel_size=4,
        max_model_len=65536,
        reasoning_parser="mistral",
        draft_model="mistralai/Mistral-Medium-3.5-128B-EAGLE",
    ),
    "small-1gpu": Preset(
        model="mistralai/Mistral-Small-3.2-24B-Instruct-2506",
        description="Staging: Mistral Small 3.2 (24B) on one 80 GB GPU; same tool-call path, no reasoning parser",
        tensor_parallel_size=1,
        max_model_len=32768,
    ),
}

_FIELDS = {f.name: f for f in fields(Preset)}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ServeError(ValueError):
    """A setting is wrong; the message says which and what to do."""


def _convert(name: str, raw: str, source: str):
    kind = type(getattr(PRESETS[DEFAULT_PRESET], name))
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


def from_env(preset: Preset, env: Mapping[str, str]) -> Preset:
    """Apply WORKMODE_VLLM_<FIELD> variables (empty ones are ignored)."""
    changes = {}
    for name in _FIELDS:
        key = ENV_PREFIX + name.upper()
        if name != "description" and env.get(key, "").strip():
            changes[name] = _convert(name, env[key], key)
    return replace(preset, **changes)


def check(p: Preset) -> Preset:
    if p.tensor_parallel_size < 1:
        raise ServeError("tensor_parallel_size must be at least 1 (the number of GPUs the model is split over)")
    if p.max_model_len < 1024:
        raise ServeError(f"max_model_len={p.max_model_len} is too small for an agent transcript (at least 1024)")
    if not 0 < p.gpu_memory_utilization <= 1:
        raise ServeError("gpu_memory_utilization must be above 0 and at most 1 (a fraction of each GPU's memory)")
    if p.speculative and not p.draft_model:
        raise ServeError("speculative decoding needs a draft model: set WORKMODE_VLLM_DRAFT_MODEL (an EAGLE head)")
    if p.speculative and p.num_speculative_tokens < 1:
        raise ServeError("num_speculative_tokens must be at least 1")
    if not 0 < p.port < 65536:
        raise ServeError(f"port {p.port} is not a TCP port")
    return p


def command(p: Preset) -> list[str]:
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


def resolve(preset: str | None, env: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> Preset:
    name = preset or env.get(ENV_PREFIX + "PRESET", "").strip() or DEFAULT_PRESET
    if name not in PRESETS:
        raise ServeError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    base = PRESETS[name]
    base = replace(base, served_model_name=base.served_model_name or base.model)  # stays when weights move
    chosen = from_env(base, env)
    return check(replace(chosen, **{k: v for k, v in (overrides or {}).items() if v is not None}))


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="workmode model serve",
        description="Start vLLM's OpenAI-compatible server for Workmode from a preset "
                    "(settings: preset < WORKMODE_VLLM_* environment < these options).")
    ap.add_argument("--preset", choices=list(PRESETS), help=f"default: $WORKMODE_VLLM_PRESET or {DEFAULT_PRESET}")
    ap.add_argument("--model", help="weights: a Hugging Face repo id or a local directory")
    ap.add_argument("--max-model-len", type=int, help="longest prompt + answer in tokens")
    ap.add_argument("--tensor-parallel-size", type=int, help="GPUs the model is split over")
    ap.add_argument("--kv-cache-fp8", action=argparse.BooleanOptionalAction, default=None,
                    help="store the KV cache in FP8 (about twice the context per GPU)")
    ap.add_argument("--speculative", action=argparse.BooleanOptionalAction, default=None,
                    help="EAGLE speculative decoding with the preset's draft model")
    ap.add_argument("--port", type=int)
    ap.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    ap.add_argument("--list", action="store_true", help="list the presets")
    return ap


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    env = os.environ if env is None else env
    if args.list:
        for name, p in PRESETS.items():
            print(f"{name:22} {p.description}")
        return 0
    overrides = {"model": args.model, "max_model_len": args.max_model_len, "port": args.port,
                 "tensor_parallel_size": args.tensor_parallel_size, "kv_cache_fp8": args.kv_cache_fp8,
                 "speculative": args.speculative}
    try:
        argv_out = command(resolve(args.preset, env, overrides))
    except ServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(shlex.join(argv_out))
        return 0
    if shutil.which("vllm") is None:
        print("error: vllm is not installed here: `pip install 'workmode[model]'` on a GPU host, or run the "
              "`vllm` service of docker-compose.yml (docker compose --profile gpu up)", file=sys.stderr)
        return 2
    sys.stdout.flush()
    os.execvp("vllm", argv_out)  # replaces this process; signals go straight to vLLM
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
