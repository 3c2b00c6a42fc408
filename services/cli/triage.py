"""`workmode triage ...`: run triage now or as a dry run, and what it learned."""
from __future__ import annotations

import click


@click.group()
def triage() -> None:
    """Inbox triage: run it now, try it on past mail, see and undo what it learned."""


@triage.group("memory")
def memory() -> None:
    """What triage learned from your decisions: list it, forget (undo) any of it."""


@memory.command("list")
@click.option("--as", "as_email", default=None, help="The person (default: WORKMODE_USER_EMAIL or the demo user).")
def memory_list(as_email: str | None) -> None:
    """Everything learned, newest first: examples and suggested rules, with their status."""
    from services.cli.common import fail, session
    from services.errors import WorkmodeError
    from services.identity import cli_principal
    from services.triage_memory import listing

    with session() as s:
        try:
            rows = listing(s, cli_principal(s, as_email).id)
            s.commit()
        except WorkmodeError as exc:
            fail(exc.message)
            return
        if not rows:
            click.echo("Nothing learned yet.")
        for m in rows:
            kind = "rule?" if m.kind == "suggestion" else "example"
            click.echo(f"{m.id}  {kind:<8} {m.status:<10} {m.content.get('text', '')}")


@memory.command("forget")
@click.argument("memory_id")
@click.option("--as", "as_email", default=None, help="The person (default: WORKMODE_USER_EMAIL or the demo user).")
def memory_forget(memory_id: str, as_email: str | None) -> None:
    """Undo one thing learned (an accepted rule is deactivated)."""
    from services.cli.common import fail, session
    from services.errors import WorkmodeError
    from services.identity import cli_principal
    from services.triage_memory import forget

    with session() as s:
        try:
            m = forget(s, cli_principal(s, as_email), memory_id)
            s.commit()
        except WorkmodeError as exc:
            fail(exc.message)
            return
        click.echo(f"Forgotten: {m.content.get('text', m.id)}")
