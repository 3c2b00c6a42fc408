"""`workmode model …`: the model service. `workmode model serve` hands its arguments to
services/model/serve.py, the one place that holds the vLLM flags (the containers run the same
module as `python3 -m services.model.serve`)."""
from __future__ import annotations

import sys

import click


@click.group()
def model() -> None:
    """The model service (vLLM's OpenAI-compatible server)."""


@model.command("serve", context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> None:
    """Start vLLM from a preset: [--preset mistral-medium-4gpu|small-1gpu] [--dry-run] (--help for all)."""
    from services.model.serve import main as serve_main

    sys.exit(serve_main(list(args)))


@model.command("presets")
def presets() -> None:
    """List the model service presets."""
    from services.model.serve import main as serve_main

    sys.exit(serve_main(["--list"]))
