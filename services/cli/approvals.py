"""`workmode approvals list|show|approve|reject`."""
from __future__ import annotations

import json

import click

from services.cli.common import fail, session


@click.group()
def approvals() -> None:
    """Decide pending approvals."""


@approvals.command("list")
@click.option("--as", "as_email", default=None)
def approvals_list(as_email: str | None) -> None:
    from services.approvals.service import list_pending
    from services.identity import cli_principal

    with session() as s:
        for a in list_pending(session=s, principal=cli_principal(s, as_email)):
            flags = ",".join(f["kind"] for f in a.risk_flags)
            click.echo(f"{a.id}  {a.tool:<24} job {a.job_id[:8]}  {a.preview.get('title', '')}  {flags}")


@approvals.command("show")
@click.argument("action_id")
def approvals_show(action_id: str) -> None:
    from services.approvals.service import ApprovalError, get_action
    from services.cli.terminal import render_action

    with session() as s:
        try:
            action = get_action(session=s, action_id=action_id)
        except ApprovalError as exc:
            fail(str(exc))
        click.echo(render_action(action))
        click.echo(f"status: {action.status}\narguments: {json.dumps(action.arguments, indent=2)}\n"
                   f"hash: {action.args_hash}")


def _decide(action_id: str, as_email: str | None, **choice) -> None:
    from services.approvals.service import decide, get_action
    from services.identity import cli_principal

    with session() as s:
        try:
            action = get_action(session=s, action_id=action_id)
            decide(session=s, action_id=action_id, actor=cli_principal(s, as_email), shown_hash=action.args_hash,
                   **choice)
            s.commit()
        except (ValueError, PermissionError, RuntimeError, LookupError) as exc:
            fail(str(exc))
    from services.cli.terminal import PAST

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
