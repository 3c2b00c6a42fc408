"""`workmode approvals list|show|approve|edit|reject|feedback`."""
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


def _decide(action_id: str, as_email: str | None, shown_hash: str | None = None, **choice) -> None:
    """Decide through the engine, bound to the hash the person was shown (`--hash`, as `approvals
    show` prints it; by default the hash of the arguments as they are now)."""
    from services.approvals.service import decide, get_action
    from services.identity import cli_principal

    with session() as s:
        try:
            action = get_action(session=s, action_id=action_id)
            decide(session=s, action_id=action_id, actor=cli_principal(s, as_email),
                   shown_hash=shown_hash or action.args_hash, **choice)
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


def _typed(raw: str, current: object) -> object:
    """A value typed on the command line, read as the argument it replaces: text stays text; a
    list takes a JSON list or comma-separated items; anything else is read as JSON if it parses."""
    if isinstance(current, str):
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if isinstance(current, list) and not isinstance(value, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return value


def _edited_arguments(action_id: str, pairs: tuple[str, ...], arguments_json: str | None) -> dict:
    """The full arguments an edit approves: the action's current arguments with each `--arg
    key=value` replaced (a value that reads as JSON — a list, a number — is taken as JSON), or the
    whole object from `--arguments-json`."""
    from services.approvals.service import ApprovalError, get_action

    if bool(pairs) == bool(arguments_json):
        fail("give the changes as --arg key=value (one or more) or the whole object as --arguments-json, not both")
    if arguments_json:
        try:
            data = json.loads(arguments_json)
        except ValueError as exc:
            fail(f"--arguments-json: not valid JSON ({exc})")
        if not isinstance(data, dict):
            fail("--arguments-json: must be a JSON object of the tool's arguments")
        return data
    with session() as s:
        try:
            arguments = dict(get_action(session=s, action_id=action_id).arguments)
        except ApprovalError as exc:
            fail(str(exc))
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            fail(f"--arg {pair!r}: write it as key=value")
        arguments[key] = _typed(raw, arguments.get(key))
    return arguments


@approvals.command("edit")
@click.argument("action_id")
@click.option("--arg", "pairs", multiple=True, metavar="KEY=VALUE",
              help="Change one argument (repeatable); a list or number may be given as JSON.")
@click.option("--arguments-json", default=None, help="The full, changed arguments as a JSON object.")
@click.option("--hash", "shown_hash", default=None, help="The hash `approvals show` printed: refused if it changed.")
@click.option("--as", "as_email", default=None)
def approvals_edit(action_id: str, pairs: tuple[str, ...], arguments_json: str | None, shown_hash: str | None,
                   as_email: str | None) -> None:
    """Change the arguments and approve exactly those (preview, risk flags and hash are recomputed)."""
    _decide(action_id, as_email, shown_hash, decision="edit",
            arguments=_edited_arguments(action_id, pairs, arguments_json))


@approvals.command("feedback")
@click.argument("action_id")
@click.option("--text", required=True, help="What the agent should do instead; nothing runs.")
@click.option("--hash", "shown_hash", default=None, help="The hash `approvals show` printed: refused if it changed.")
@click.option("--as", "as_email", default=None)
def approvals_feedback(action_id: str, text: str, shown_hash: str | None, as_email: str | None) -> None:
    """Answer with feedback instead of deciding: nothing runs, and the agent reads the text."""
    _decide(action_id, as_email, shown_hash, decision="respond", feedback=text)
