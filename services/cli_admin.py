"""`workmode jobs ...` and `workmode approvals ...`."""
from __future__ import annotations

import json

import click

from services.cli import _fail, _session


@click.group()
def jobs() -> None:
    """Look at jobs."""


@jobs.command("list")
@click.option("--limit", default=20, show_default=True)
def jobs_list(limit: int) -> None:
    from services.jobs.service import list_jobs

    with _session() as s:
        for job in list_jobs(session=s, limit=limit):
            click.echo(f"{job.id}  {job.status:<10} {job.created_at:%Y-%m-%d %H:%M}  {job.prompt[:60]}")


@jobs.command("show")
@click.argument("job_id")
def jobs_show(job_id: str) -> None:
    from services.jobs.service import JobError, get_job, job_actions
    from services.terminal import print_timeline, render_plan

    with _session() as s:
        try:
            job = get_job(session=s, job_id=job_id)
        except JobError as exc:
            _fail(str(exc))
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


@click.group()
def approvals() -> None:
    """Decide pending approvals."""


@approvals.command("list")
@click.option("--as", "as_email", default=None)
def approvals_list(as_email: str | None) -> None:
    from services.approvals.service import list_pending
    from services.identity import cli_principal

    with _session() as s:
        for a in list_pending(session=s, principal=cli_principal(s, as_email)):
            flags = ",".join(f["kind"] for f in a.risk_flags)
            click.echo(f"{a.id}  {a.tool:<24} job {a.job_id[:8]}  {a.preview.get('title', '')}  {flags}")


@approvals.command("show")
@click.argument("action_id")
def approvals_show(action_id: str) -> None:
    from services.approvals.service import ApprovalError, get_action
    from services.terminal import render_action

    with _session() as s:
        try:
            action = get_action(session=s, action_id=action_id)
        except ApprovalError as exc:
            _fail(str(exc))
        click.echo(render_action(action))
        click.echo(f"status: {action.status}\narguments: {json.dumps(action.arguments, indent=2)}\nhash: {action.args_hash}")


def _decide(action_id: str, as_email: str | None, **choice) -> None:
    from services.approvals.service import decide, get_action
    from services.identity import cli_principal

    with _session() as s:
        try:
            action = get_action(session=s, action_id=action_id)
            decide(session=s, action_id=action_id, actor=cli_principal(s, as_email), shown_hash=action.args_hash, **choice)
            s.commit()
        except (ValueError, PermissionError, RuntimeError, LookupError) as exc:
            _fail(str(exc))
    from services.terminal import PAST

    click.echo(f"{PAST[choice['decision']]}: {action_id}")


@approvals.command("approve")
@click.argument("action_id")
@click.option("--as", "as_email", default=None)
def approvals_approve(action_id: str, as_email: str | None) -> None:
    _decide(action_id, as_email, decision="approve")


@approvals.command("reject")
@click.argument("action_id")
@click.option("--reason", required=True)
@click.option("--as", "as_email", default=None)
def approvals_reject(action_id: str, reason: str, as_email: str | None) -> None:
    _decide(action_id, as_email, decision="reject", reason=reason)
