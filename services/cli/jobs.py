"""`workmode jobs list|show|export|import`."""
from __future__ import annotations

import json

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


@jobs.command("export")
@click.argument("job_id")
def jobs_export(job_id: str) -> None:
    """Write the job (transcript, plan, actions, timeline; never credentials) as JSON to stdout:
    `workmode jobs export JOB > job.json`."""
    from services.approvals.transfer import export_job
    from services.jobs.service import JobError, get_job

    with session() as s:
        try:
            job = get_job(session=s, job_id=job_id)
        except JobError as exc:
            fail(str(exc))
        click.echo(json.dumps(export_job(session=s, job=job), indent=2, ensure_ascii=False))


@jobs.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--as", "as_email", required=True, help="Whose job it becomes here (their organisation's tools).")
def jobs_import(file, as_email: str) -> None:
    """Continue an exported job here (FILE, or - for stdin): open actions are checked against this
    installation's tools, bound afresh and wait for a decision here."""
    from services.approvals.transfer import import_job
    from services.errors import WorkmodeError
    from services.identity import principal_by_email

    try:
        data = json.load(file)
    except ValueError as exc:
        fail(f"{getattr(file, 'name', 'the file')}: not JSON ({exc})")
    with session() as s:
        try:
            job = import_job(session=s, data=data, principal=principal_by_email(s, as_email))
            s.commit()
        except WorkmodeError as exc:
            fail(exc.message)
        pending = sum(1 for e in job_events(s, job.id) if e.kind == "approval_requested" and e.data.get("imported"))
    click.echo(f"imported as job {job.id} for {as_email} ({job.status}"
               + (f"; {pending} approval{'s' if pending != 1 else ''} to decide here" if pending else "") + ")")


def job_events(s, job_id: str) -> list:
    from sqlmodel import select

    from services.store.models import Event

    return list(s.exec(select(Event).where(Event.job_id == job_id)))
