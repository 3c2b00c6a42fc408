"""`workmode jobs list|show`."""
from __future__ import annotations

import click

from services.cli.common import fail, session


@click.group()
def jobs() -> None:
    """Look at jobs."""


@jobs.command("list")
@click.option("--limit", default=20, show_default=True)
def jobs_list(limit: int) -> None:
    from services.jobs.service import list_jobs

    with session() as s:
        for job in list_jobs(session=s, limit=limit):
            click.echo(f"{job.id}  {job.status:<10} {job.created_at:%Y-%m-%d %H:%M}  {job.prompt[:60]}")


@jobs.command("show")
@click.argument("job_id")
def jobs_show(job_id: str) -> None:
    from services.cli.terminal import print_timeline, render_plan
    from services.jobs.service import JobError, get_job, job_actions

    with session() as s:
        try:
            job = get_job(session=s, job_id=job_id)
        except JobError as exc:
            fail(str(exc))
        click.echo(f"{job.id}  {job.status}  ({job.source}, effort {job.reasoning_effort})\n{job.prompt}\n")
        if job.plan:
            click.echo("plan:\n" + render_plan(job.plan))
        for a in job_actions(session=s, job_id=job.id):
            click.echo(f"action {a.id[:8]} {a.tool:<24} {a.status}")
        print_timeline(s, job)
        if job.result:
            click.echo("\n" + job.result)
        if job.error:
            click.echo("\nerror: " + job.error)
