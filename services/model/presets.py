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
- [model-card] Mistral's model card, https://huggingface.co/mistralai/Mistral-Medium-3.5-128B: vLLM
  "Make sure to install vllm nightly" (no release number); SGLang "Day-zero support ships in dedicated
  docker tags": `lmsysorg/sglang:dev-mistral-medium-3.5` "H100 / H200 (Hopper, CUDA 12.9)" and
  `lmsysorg/sglang:dev-cu13-mistral-medium-3.5` "B200 / B300 (Blackwell, CUDA 13.0)", `--tool-call-parser
  mistral --reasoning-parser mistral`, "Requires transformers >= 5.4.0".
- [sglang-cookbook] https://docs.sglang.io/cookbook/autoregressive/Mistral/Mistral-Medium-3.5:
  `--tool-call-parser mistral`, `--reasoning-parser mistral`, and for EAGLE `--dtype bfloat16
  --speculative-algorithm EAGLE --speculative-draft-model-path mistralai/Mistral-Medium-3.5-128B-EAGLE
  --speculative-num-steps 3 --speculative-eagle-topk 1 --speculative-num-draft-tokens 4`. Its "Docker
  Images by Hardware" table listed the same two day-0 tags until sgl-project/sglang PR #31507 (merged
  2026-07-17, "replace stale day-0 dev images with latest") pointed it at `lmsysorg/sglang:latest`.
- [sglang-install] https://docs.sglang.io/docs/get-started/install: images ship CUDA 13; CUDA 12 images
  are no longer published, `lmsysorg/sglang:v0.5.19-cu129` is the last CUDA 12 tag.
- [sglang-metrics] https://docs.sglang.io/docs/references/production_metrics: `--enable-metrics`.
- [hf-ollama] https://huggingface.co/docs/hub/ollama: `ollama run hf.co/{username}/{repository}:{quantization}`.
- [unsloth] https://unsloth.ai/docs/models/mistral-3.5: the GGUF build unsloth/Mistral-Medium-3.5-128B-GGUF.
- [ollama-openai] https://docs.ollama.com/api/openai-compatibility: base URL http://localhost:11434/v1,
  the API key is required by clients but ignored.
- [nim] https://docs.nvidia.com/nim/large-language-models/latest/api-reference.html (/v1/chat/completions,
  /v1/models); NVIDIA's hosted endpoint https://integrate.api.nvidia.com/v1; the model in NVIDIA's API
  catalogue: https://build.nvidia.com/mistralai/mistral-medium-3.5-128b and its API reference
  https://docs.api.nvidia.com/nim/reference/mistralai-mistral-medium-3-5-128b ("mistralai /
  mistral-medium-3.5-128b").
- [mistral-api] https://api.mistral.ai/v1/chat/completions. Mistral's model card for Medium 3.5 is
  https://docs.mistral.ai/models/model-cards/mistral-medium-3-5-26-04 (version 26.04; its retired
  predecessor's card, https://docs.mistral.ai/models/mistral-medium-1-0-23-12.md, names it as the
  replacement and shows the form of Mistral's API names: `mistral-medium-2312` for version 23.12).
  The dated id is `mistral-medium-2604`; `mistral-medium-latest` is its moving alias
  (https://github.com/anomalyco/models.dev providers/mistral/models/mistral-medium-latest.toml:
  "mistral-medium-latest is Mistral's alias for Mistral Medium 3.5 (mistral-medium-2604)"), and
  `mistral-medium-3.5` another alias. The card's text itself was not read (no capture of it was at hand);
  `workmode model check` lists what your key is served when a name is wrong.
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
# No vLLM release number is asserted: neither the recipe ([vllm-recipe]: "has not yet shipped in a
# stable release"), nor the model card ([model-card]: "install vllm nightly"), nor the parts of vLLM's
# release notes that could be read (the highlights of v0.20.0 to v0.28.0, as quoted in public
# dependency-update pull requests) name the first stable release that serves Mistral Medium 3.5.
# Set WORKMODE_VLLM_MIN_VLLM once one is documented.

# [model-card] and [sglang-cookbook] (before PR #31507): SGLang's day-0 images for the model, by GPU.
# Frozen builds from the release; later SGLang releases carry the model in `latest` ([sglang-cookbook]),
# and sgl-project/sglang issue #29835 reports that 0.5.13 failed to start it (fixed by PR #29111; a
# comment there reports 0.5.19 working): not run here, no GPU was available.
SGLANG_MEDIUM_IMAGES: tuple[tuple[str, str], ...] = (
    ("H100 / H200 (Hopper, CUDA 12.9)", "lmsysorg/sglang:dev-mistral-medium-3.5"),
    ("B200 / B300 (Blackwell, CUDA 13.0)", "lmsysorg/sglang:dev-cu13-mistral-medium-3.5"),
)
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
    image: str = ""  # the container image the engine's makers name for this model (informational)

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
        # [sglang-cookbook] since PR #31507: `latest` carries the model (a CUDA 13 image: it needs a
        # driver for CUDA 13; on a CUDA 12 driver see SGLANG_MEDIUM_IMAGES). Pin a version you tested.
        image="lmsysorg/sglang:latest",
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
        model="mistralai/mistral-medium-3.5-128b",  # [nim]: as NVIDIA's API catalogue names it
        api_key_hint="an NVIDIA API key (nvapi-…)",
    ),
    "mistral-api": EndpointPreset(
        engine="mistral-api",
        description="Mistral's own API (prompts and tool results leave your machines)",
        base_url="https://api.mistral.ai/v1",
        # [mistral-api]: the dated id, so an update of the `-latest` alias never changes the model
        # under Workmode unannounced (`mistral-medium-latest` follows Mistral's newest Medium).
        model="mistral-medium-2604",
        api_key_hint="your Mistral API key",
    ),
}
DEFAULT_PRESET = "mistral-medium-4gpu"
