"""`workmode run`: create a job, follow it in the terminal, decide its approvals here."""
from __future__ import annotations

import sys
from contextlib import nullcontext

import click

from services.cli.common import fail, session
from services.config import get_settings


@click.command()
@click.argument("request")
@click.option("--as", "as_email", help="Act as this user (email). Default: WORKMODE_USER_EMAIL or the demo user.")
@click.option("--yes", is_flag=True, help="Approve every action and skip questions (for scripts).")
@click.option("--think/--fast", default=None, help="Reasoning effort high (--think) or none (--fast).")
@click.option("--max-steps", type=int, default=None)
@click.option("--detach", is_flag=True, help="Create the job and return (needs a separate worker).")
def run(request: str, as_email: str | None, yes: bool, think: bool | None, max_steps: int | None, detach: bool) -> None:
    """Run a request: show plan and progress, ask for approvals here."""
    run_request(request, as_email=as_email, yes=yes, think=think, max_steps=max_steps, detach=detach)


def run_request(request: str, *, as_email=None, yes=False, think=None, max_steps=None, detach=False,
                on_unfinished=None) -> str:
    """Run REQUEST as a job (on the embedded worker unless a broker is set) and follow it; returns the job id.
    An unfinished job exits 1, unless `on_unfinished(job)` handles it."""
    from services.cli.terminal import follow, print_timeline
    from services.identity import UnknownPrincipal, cli_principal
    from services.jobs.service import JobError, create_job

    settings = get_settings()
    if detach and settings.embedded_broker:
        fail("--detach needs a real broker (WORKMODE_BROKER_URL=redis://...) and a running `workmode worker`")
    effort = None if think is None else ("high" if think else "none")
    from workers.embedded import embedded_worker

    with embedded_worker() if settings.embedded_broker else nullcontext():
        with session() as s:
            try:
                actor = cli_principal(s, as_email)
                job = create_job(session=s, principal=actor, prompt=request, reasoning_effort=effort,
                                 max_steps=max_steps)
                s.commit()
            except (UnknownPrincipal, JobError) as exc:
                fail(str(exc))
        if detach:
            click.echo(job.id)
            return job.id
        job = follow(job.id, actor, auto_approve=yes)
    with session() as s:
        print_timeline(s, s.get_one(type(job), job.id))
    if job.status != "completed":
        if on_unfinished is None:
            sys.exit(1)
        on_unfinished(job)
    return job.id
