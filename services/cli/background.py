"""`workmode worker`, `workmode beat`, `workmode reconcile`: the background processes (and one tick by hand)."""
from __future__ import annotations

import click

from services.cli.common import fail
from services.config import get_settings


@click.command()
@click.option("--queues", default="agent,actions,maintenance", show_default=True)
@click.option("--concurrency", type=int, default=None)
def worker(queues: str, concurrency: int | None) -> None:
    """Start a Celery worker (needs WORKMODE_BROKER_URL, e.g. redis://localhost:6379/0)."""
    if get_settings().embedded_broker:
        fail("the embedded broker lives inside one process; set WORKMODE_BROKER_URL=redis://... to run workers")
    from workers.app import celery_app

    argv = ["worker", "--loglevel=INFO", f"--queues={queues}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    celery_app.worker_main(argv)


@click.command()
def beat() -> None:
    """Start Celery beat (exactly one per deployment): ticks `reconcile` every minute."""
    if get_settings().embedded_broker:
        fail("set WORKMODE_BROKER_URL=redis://... to run beat")
    from workers.app import celery_app

    celery_app.start(["beat", "--loglevel=INFO"])


@click.command()
def reconcile() -> None:
    """Run the reconciler once: re-enqueue lost work, verify stale executions, expire approvals."""
    from services.reconcile import reconcile as run_once

    counts = run_once()
    click.echo(", ".join(f"{k}={v}" for k, v in counts.items()) or "nothing to do")
