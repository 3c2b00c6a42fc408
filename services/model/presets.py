"""The model service presets: one per way of serving the model, for every engine Workmode supports.

Standard library only (the vLLM and SGLang images run `python3 -m services.model.serve`, which
imports this, without Workmode's dependencies). infra/vllm/README.md says why each flag is there.

Sources (checked when written; re-check them when you change a value):
- [vllm-recipe] vLLM's recipe for the model, https://recipes.vllm.ai/mistralai/Mistral-Medium-3.5-128B:
  "vLLM nightly (Mistral 3.5 architecture support has not yet shipped in a stable release)";
  `uv pip install -U vllm --torch-backend=auto --extra-index-url https://wheels.vllm.ai/nightly`
  "pulls in mistral_common >= 1.11.1 and transformers >= 5.4.0"; launch flags
  `--tokenizer_mode mistral --config_format mistral --load_format mistral --enable-auto-tool-choice
  --tool-call-parser mistral --reasoning-parser mistral`; `--max-model-len` default 262144.
- [eagle-card] the publisher's model card of the draft model, huggingface.co/mistralai/Mistral-Medium-3.5-128B-EAGLE
  ("This is the Eagle model of the Mistral Medium 3.5 model to perform speculative decoding").
- [sglang-cookbook] https://docs.sglang.io/cookbook/autoregressive/Mistral/Mistral-Medium-3.5:
  `--tool-call-parser mistral`, `--reasoning-parser mistral`, and for EAGLE `--dtype bfloat16
  --speculative-algorithm EAGLE --speculative-draft-model-path mistralai/Mistral-Medium-3.5-128B-EAGLE
  --speculative-num-steps 3 --speculative-eagle-topk 1 --speculative-num-draft-tokens 4`.
- [sglang-metrics] https://docs.sglang.io/docs/references/production_metrics: `--enable-metrics`.
- [hf-ollama] https://huggingface.co/docs/hub/ollama: `ollama run hf.co/{username}/{repository}:{quantization}`.
- [unsloth] https://unsloth.ai/docs/models/mistral-3.5: the GGUF build unsloth/Mistral-Medium-3.5-128B-GGUF.
- [ollama-openai] https://docs.ollama.com/api/openai-compatibility: base URL http://localhost:11434/v1,
  the API key is required by clients but ignored.
- [nim] https://docs.nvidia.com/nim/large-language-models/latest/api-reference.html (/v1/chat/completions,
  /v1/models); NVIDIA's hosted endpoint https://integrate.api.nvidia.com/v1.
- [mistral-api] https://api.mistral.ai/v1/chat/completions, model id `mistral-medium-3.5` (Mistral's
  release of Medium 3.5, 29 April 2026, as reported by API guides; check `GET /v1/models` with your key).
"""
from __future__ import annotations

from dataclasses import dataclass

MEDIUM = "mistralai/Mistral-Medium-3.5-128B"
# [eagle-card]: the name as its publisher gives it on the Hugging Face model page.
MEDIUM_EAGLE = "mistralai/Mistral-Medium-3.5-128B-EAGLE"
SMALL = "mistralai/Mistral-Small-3.2-24B-Instruct-2506"

# [vllm-recipe]: what a vLLM able to serve Mistral Medium 3.5 brings with it. An older vLLM pins
# older versions of both, which is how `workmode model serve` tells it apart (serve.version_problems).
MEDIUM_FLOORS: tuple[tuple[str, str], ...] = (("mistral_common", "1.11.1"), ("transformers", "5.4.0"))
# vLLM's own first release with the model was not published when this was written ([vllm-recipe]:
# nightly only), so no vLLM version floor is asserted here; set WORKMODE_VLLM_MIN_VLLM once one is.
VLLM_NIGHTLY_INSTALL = ("uv pip install -U vllm --torch-backend=auto "
                        "--extra-index-url https://wheels.vllm.ai/nightly")


@dataclass(frozen=True)
class VllmPreset:
    """`vllm serve` (the production engine)."""
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
    min_vllm: str = ""  # refuse an installed vLLM older than this (empty: no floor of its own)
    requires: tuple[tuple[str, str], ...] = ()  # (distribution, lowest version) installed next to vLLM

    engine = "vllm"


@dataclass(frozen=True)
class SglangPreset:
    """`python3 -m sglang.launch_server`."""
    model: str
    description: str
    tp: int
    context_length: int
    served_model_name: str = ""
    tool_call_parser: str = "mistral"
    reasoning_parser: str = "mistral"
    speculative: bool = False
    draft_model: str = ""
    speculative_num_steps: int = 3
    speculative_eagle_topk: int = 1
    speculative_num_draft_tokens: int = 4
    mem_fraction_static: float = 0.0  # 0: SGLang's default
    host: str = "0.0.0.0"
    port: int = 30000
    extra_args: str = ""
    image: str = ""  # the container image the engine's makers name for this model

    engine = "sglang"


@dataclass(frozen=True)
class EndpointPreset:
    """A server Workmode does not start: only what to put in .env (base URL, model name, tool mode)."""
    engine: str  # "ollama" | "nim" | "mistral-api"
    description: str
    base_url: str
    model: str
    tool_mode: str = "native"
    model_family: str = "mistral"
    api_key_hint: str = ""
    setup: tuple[str, ...] = ()  # commands that make the server serve the model


Preset = VllmPreset | SglangPreset | EndpointPreset

PRESETS: dict[str, Preset] = {
    "mistral-medium-4gpu": VllmPreset(
        model=MEDIUM,
        description="Production: Mistral Medium 3.5 (128B dense, FP8) on 4 x 80 GB GPUs, tensor parallel 4",
        tensor_parallel_size=4,
        max_model_len=65536,
        reasoning_parser="mistral",
        draft_model=MEDIUM_EAGLE,
        requires=MEDIUM_FLOORS,
    ),
    "mistral-medium-8gpu": VllmPreset(
        model=MEDIUM,
        description="Longer context: Mistral Medium 3.5 on 8 x 80 GB GPUs, tensor parallel 8, the full 262,144 tokens",
        tensor_parallel_size=8,
        max_model_len=262144,
        reasoning_parser="mistral",
        draft_model=MEDIUM_EAGLE,
        requires=MEDIUM_FLOORS,
    ),
    "small-1gpu": VllmPreset(
        model=SMALL,
        description="Staging: Mistral Small 3.2 (24B) on one 80 GB GPU; same tool-call path, no reasoning parser",
        tensor_parallel_size=1,
        max_model_len=32768,
    ),
    "sglang-medium-4gpu": SglangPreset(
        model=MEDIUM,
        description="SGLang: Mistral Medium 3.5 on 4 x 80 GB GPUs, tensor parallel 4, Mistral tool/reasoning parsers",
        tp=4,
        context_length=65536,
        draft_model=MEDIUM_EAGLE,
        # Named for Blackwell (CUDA 13) by SGLang's cookbook as quoted in a public run log; the
        # Hopper image's tag was not found when this was written: take it from [sglang-cookbook].
        image="lmsysorg/sglang:dev-cu13-mistral-medium-3.5",
    ),
    "ollama-medium": EndpointPreset(
        engine="ollama",
        description="Development: Unsloth's GGUF of Mistral Medium 3.5 on Ollama (about 80 GB of RAM+VRAM at 4 bit)",
        base_url="http://127.0.0.1:11434/v1",
        model="hf.co/unsloth/Mistral-Medium-3.5-128B-GGUF:Q4_K_M",
        # JSON tool mode until `workmode model check` shows native tool calls work: tool calling
        # through Ollama depends on the GGUF's chat template, which Workmode cannot see.
        tool_mode="json",
        api_key_hint="any value (Ollama ignores it)",
        setup=("ollama serve", "ollama pull hf.co/unsloth/Mistral-Medium-3.5-128B-GGUF:Q4_K_M"),
    ),
    "nim": EndpointPreset(
        engine="nim",
        description="NVIDIA NIM: NVIDIA's hosted endpoint (a self-hosted NIM container: http://HOST:8000/v1)",
        base_url="https://integrate.api.nvidia.com/v1",
        # Not confirmed in NVIDIA's own catalogue when written (seen in client code that calls this
        # endpoint): `workmode model check` lists what the endpoint serves when the name is wrong.
        model="mistralai/mistral-medium-3.5-128b",
        api_key_hint="an NVIDIA API key (nvapi-…)",
    ),
    "mistral-api": EndpointPreset(
        engine="mistral-api",
        description="Mistral's own API (prompts and tool results leave your machines)",
        base_url="https://api.mistral.ai/v1",
        model="mistral-medium-3.5",
        api_key_hint="your Mistral API key",
    ),
}
DEFAULT_PRESET = "mistral-medium-4gpu"
