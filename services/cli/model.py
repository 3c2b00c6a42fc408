"""`workmode model …`: the model service. `workmode model serve` hands its arguments to
services/model/serve.py, the one place that holds the engines' flags (the containers run the same
module as `python3 -m services.model.serve`); `workmode model check` tells whether an endpoint
works for Workmode (services/model/check.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group()
def model() -> None:
    """The model service: start it from a preset, list presets, check an endpoint."""


@model.command("serve", context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> None:
    """Start the model server from a preset: [--preset NAME] [--dry-run] (--help for all)."""
    from services.model.serve import main as serve_main

    sys.exit(serve_main(list(args)))


@model.command("presets")
def presets() -> None:
    """List the presets: vLLM, SGLang, Ollama, NIM and Mistral's API."""
    from services.model.serve import main as serve_main

    sys.exit(serve_main(["--list"]))


# Read tools every organisation has (built-ins and the sandbox share names with the real
# connectors), with arguments valid for their specs: what the check asks the model to call.
PROBES = (("gmail_search", {"query": "is:unread newer_than:7d"}), ("calendar_list_events", {"max_results": 5}))


@model.command("check")
@click.option("--url", help="OpenAI-compatible base URL (default: WORKMODE_MODEL_BASE_URL)")
@click.option("--model", "model_name", help="model name (default: WORKMODE_MODEL_NAME)")
@click.option("--family", type=click.Choice(["mistral", "generic"]),
              help="tool-call id rules (default: from WORKMODE_MODEL_FAMILY)")
@click.option("--thread-tokens", type=int, default=24000, show_default=True,
              help="room a long thread needs beyond Workmode's prompt")
@click.option("--samples", type=int, default=3, show_default=True, help="typical steps timed")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="also write the report as JSON here")
def check(url: str | None, model_name: str | None, family: str | None, thread_tokens: int, samples: int,
          json_path: Path | None) -> None:
    """Check an OpenAI-compatible endpoint against what Workmode needs; the key is
    WORKMODE_MODEL_API_KEY. Exits 1 when a check fails."""
    from services.agent.prompt import SYSTEM_PROMPT
    from services.agent.toolbox import job_tools, tool_specs
    from services.config import get_settings
    from services.model.check import EndpointCheck, Probe, format_table
    from services.store.models import Organisation

    s = get_settings()
    base_url = url or s.model_base_url
    if not base_url:
        raise click.UsageError("no endpoint: pass --url or set WORKMODE_MODEL_BASE_URL")
    specs = tool_specs(job_tools(Organisation(name="check")))
    names = {spec["function"]["name"] for spec in specs}
    probes = [Probe(name, args) for name, args in PROBES if name in names]
    if family is None:
        family = "mistral" if s.mistral_rules else "generic"
    report = EndpointCheck(
        base_url, model_name or s.model_name, s.model_api_key.get_secret_value(), tools=specs,
        system_prompt=SYSTEM_PROMPT, probes=probes, family=family, thread_tokens=thread_tokens,
        max_output_tokens=s.model_max_output_tokens, samples=samples, timeout=s.model_timeout_s).run()
    click.echo(format_table(report))
    if json_path is not None:
        json_path.write_text(json.dumps(report.as_dict(), indent=2))
    sys.exit(0 if report.ok else 1)
