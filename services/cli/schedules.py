"""`workmode schedules add|list|pause|resume|remove|run-now|tick`: standing requests (triage,
reports, prompts) at times a person names, in their time zone."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Optional

import click

from services.cli.common import fail, session


@click.group()
def schedules() -> None:
    """Recurring work: inbox triage, reports and standing requests ("weekdays 08:00", or an RRULE)."""


def _line(sc) -> str:
    from services.schedules.start import local

    state = "active" if sc.enabled else "paused"
    prompt = f"  “{sc.prompt[:60]}”" if sc.prompt else ""
    return (f"{sc.id[:8]}  {sc.kind:<7} {sc.when_text:<22} {sc.time_zone:<18} {state:<6}  "
            f"next {local(sc.next_run_at, sc.time_zone)}  deliver {','.join(sc.delivery)}{prompt}")


def _act(as_email: Optional[str], fn, **kw):
    """Run a schedules service function for the person; commit; the errors as clear messages."""
    from services.errors import WorkmodeError
    from services.identity import cli_principal

    with session() as s:
        try:
            result = fn(session=s, principal=cli_principal(s, as_email), **kw)
            s.commit()
        except WorkmodeError as exc:
            s.rollback()
            fail(exc.message)
        return result


@schedules.command("add")
@click.option("--as", "as_email", default=None, help="the person the schedule belongs to")
@click.option("--kind", type=click.Choice(["triage", "report", "request"]), required=True)
@click.option("--when", "when", required=True, help='"weekdays 08:00", "every Monday 09:00", "daily 07:30" or an RRULE')
@click.option("--prompt", default=None, help="report/request: what to do")
@click.option("--tz", default=None, help="IANA time zone (default: the person's)")
@click.option("--deliver", default=None, help="slack,web,email (default: web, and Slack when connected)")
def add(as_email: Optional[str], kind: str, when: str, prompt: Optional[str], tz: Optional[str],
        deliver: Optional[str]) -> None:
    from services.schedules.service import add_schedule

    sc = _act(as_email, add_schedule, kind=kind, when=when, prompt=prompt, tz=tz, delivery=deliver)
    click.echo(f"added {sc.id}\n{_line(sc)}")


@schedules.command("list")
@click.option("--as", "as_email", default=None)
def list_(as_email: Optional[str]) -> None:
    from services.schedules.service import list_schedules

    found = _act(as_email, list_schedules)
    if not found:
        click.echo('no schedules; add one with `workmode schedules add --kind triage --when "weekdays 08:00"`')
    for sc in found:
        click.echo(_line(sc))


@schedules.command("pause")
@click.argument("schedule_id")
@click.option("--as", "as_email", default=None)
def pause(schedule_id: str, as_email: Optional[str]) -> None:
    from services.schedules.service import pause as run

    click.echo(f"paused {_act(as_email, run, ref=schedule_id).id}")


@schedules.command("resume")
@click.argument("schedule_id")
@click.option("--as", "as_email", default=None)
def resume(schedule_id: str, as_email: Optional[str]) -> None:
    from services.schedules.service import resume as run

    sc = _act(as_email, run, ref=schedule_id)
    click.echo(f"resumed {sc.id}\n{_line(sc)}")


@schedules.command("remove")
@click.argument("schedule_id")
@click.option("--as", "as_email", default=None)
def remove(schedule_id: str, as_email: Optional[str]) -> None:
    from services.schedules.service import remove as run

    click.echo(f"removed {_act(as_email, run, ref=schedule_id).id}")


@schedules.command("run-now")
@click.argument("schedule_id")
@click.option("--as", "as_email", default=None)
def run_now(schedule_id: str, as_email: Optional[str]) -> None:
    from services.schedules.service import run_now as run

    r = _act(as_email, run, ref=schedule_id)
    started = f"job {r.job_id}" if r.job_id else f"triage run {r.triage_run_id}" if r.triage_run_id else r.note
    click.echo(f"started run {r.id}: {started}")


@schedules.command("tick")
@click.option("--now", "now_text", default=None, help="pretend it is this ISO time (UTC when no offset is given)")
def tick(now_text: Optional[str]) -> None:
    """Start what is due, once (beat runs the same every minute)."""
    from services.schedules.tick import tick as run

    now: Optional[datetime] = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text.strip().replace("Z", "+00:00"))
        except ValueError:
            fail(f"--now: {now_text!r} is not an ISO time like 2025-03-31T08:00:00+01:00")
        assert now is not None
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    started = run(now)
    for r in started:
        what = f"job {r.job_id}" if r.job_id else f"triage run {r.triage_run_id}" if r.triage_run_id else "failed"
        extra = f" (catching up {r.missed} missed)" if r.missed else ""
        click.echo(f"started {r.kind} {r.schedule_id[:8]} for {r.slot_at.isoformat()}: {what}{extra}")
    click.echo(f"{len(started)} run(s) started")
