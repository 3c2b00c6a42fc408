"""`workmode db upgrade|seed`: the job store."""
from __future__ import annotations

import click

from services.cli.common import safe_url, session


@click.group()
def db() -> None:
    """The job store."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (never done implicitly)."""
    from services.store.migrate import upgrade

    upgrade()
    click.echo(f"database at revision head ({safe_url()})")


@db.command("seed")
def db_seed() -> None:
    """Seed the sandbox workspace (organisation, people, mail, calendars, tickets, chat)."""
    from connectors.sandbox.seed import seed_workspace

    with session() as s:
        org = seed_workspace(s)
        s.commit()
        click.echo(f"sandbox workspace ready: {org.name}")
