"""The `workmode` command."""
from __future__ import annotations

import sys
from contextlib import nullcontext

import click
from sqlmodel import Session

from services.config import get_settings


def _session() -> Session:
    from services.store.db import get_engine

    return Session(get_engine(), expire_on_commit=False)


def _fail(message: str) -> None:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(2)


@click.group()
def main() -> None:
    """Workmode: a self-hosted work agent. Nothing changes the outside world until a person approves it."""


# ------------------------------------------------------------------ database
@main.group()
def db() -> None:
    """The job store."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (never done implicitly)."""
    from services.store.migrate import upgrade

    upgrade()
    click.echo(f"database at revision head ({_safe_url()})")


@db.command("seed")
def db_seed() -> None:
    """Seed the sandbox workspace (organisation, people, mail, calendars, tickets, chat)."""
    from connectors.sandbox.seed import seed_workspace

    with _session() as s:
        org = seed_workspace(s)
        s.commit()
        click.echo(f"sandbox workspace ready: {org.name}")


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().db_url).render_as_string(hide_password=True)


# ------------------------------------------------------------------ running work
@main.command()
@click.argument("request")
@click.option("--as", "as_email", help="Act as this user (email). Default: WORKMODE_USER_EMAIL or the demo user.")
@click.option("--yes", is_flag=True, help="Approve every action and skip questions (for scripts).")
@click.option("--think/--fast", default=None, help="Reasoning effort high (--think) or none (--fast).")
@click.option("--max-steps", type=int, default=None)
@click.option("--detach", is_flag=True, help="Create the job and return (needs a separate worker).")
def run(request: str, as_email: str | None, yes: bool, think: bool | None, max_steps: int | None, detach: bool) -> None:
    """Run a request: show plan and progress, ask for approvals here."""
    _run(request, as_email=as_email, yes=yes, think=think, max_steps=max_steps, detach=detach)


def _run(request: str, *, as_email=None, yes=False, think=None, max_steps=None, detach=False,
         on_unfinished=None) -> str:
    from services.identity import UnknownPrincipal, cli_principal
    from services.jobs.service import JobError, create_job
    from services.terminal import follow, print_timeline

    settings = get_settings()
    if detach and settings.embedded_broker:
        _fail("--detach needs a real broker (WORKMODE_BROKER_URL=redis://...) and a running `workmode worker`")
    effort = None if think is None else ("high" if think else "none")
    from workers.embedded import embedded_worker

    with embedded_worker() if settings.embedded_broker else nullcontext():
        with _session() as s:
            try:
                actor = cli_principal(s, as_email)
                job = create_job(session=s, principal=actor, prompt=request, reasoning_effort=effort, max_steps=max_steps)
                s.commit()
            except (UnknownPrincipal, JobError) as exc:
                _fail(str(exc))
        if detach:
            click.echo(job.id)
            return job.id
        job = follow(job.id, actor, auto_approve=yes)
    with _session() as s:
        print_timeline(s, s.get(type(job), job.id))
    if job.status != "completed":
        if on_unfinished is None:
            sys.exit(1)
        on_unfinished(job)
    return job.id


@main.command()
@click.option("--request", default=None, help="Run this request instead of the built-in demo request.")
@click.option("--yes", is_flag=True, help="Approve everything (non-interactive).")
def demo(request: str | None, yes: bool) -> None:
    """Run a whole job end to end on the embedded defaults (SQLite, embedded broker, sandbox)."""
    from services.demo import run_demo

    run_demo(request=request, yes=yes)


@main.command()
@click.option("--queues", default="agent,actions,maintenance", show_default=True)
@click.option("--concurrency", type=int, default=None)
def worker(queues: str, concurrency: int | None) -> None:
    """Start a Celery worker (needs WORKMODE_BROKER_URL, e.g. redis://localhost:6379/0)."""
    if get_settings().embedded_broker:
        _fail("the embedded broker lives inside one process; set WORKMODE_BROKER_URL=redis://... to run workers")
    from workers.app import celery_app

    argv = ["worker", "--loglevel=INFO", f"--queues={queues}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    celery_app.worker_main(argv)


@main.command()
def beat() -> None:
    """Start Celery beat (exactly one per deployment): ticks `reconcile` every minute."""
    if get_settings().embedded_broker:
        _fail("set WORKMODE_BROKER_URL=redis://... to run beat")
    from workers.app import celery_app

    celery_app.start(["beat", "--loglevel=INFO"])


@main.command()
def reconcile() -> None:
    """Run the reconciler once: re-enqueue lost work, verify stale executions, expire approvals."""
    from services.reconcile import reconcile as run_once

    counts = run_once()
    click.echo(", ".join(f"{k}={v}" for k, v in counts.items()) or "nothing to do")


from services.cli_admin import approvals, jobs  # noqa: E402

main.add_command(jobs)
main.add_command(approvals)
import services.cli_model  # noqa: E402,F401  (registers `workmode model`)
from services.cli_web import register as _register_web_commands  # noqa: E402

_register_web_commands(main)
from services.cli_slack import slack as _slack  # noqa: E402
main.add_command(_slack)
import services.cli_connect  # noqa: E402,F401  (registers `workmode connect`)
