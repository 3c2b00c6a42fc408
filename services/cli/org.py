"""`workmode org create|list`: organisations, as the operator on the server."""
from __future__ import annotations

import click

from services.cli.common import fail, session


@click.group()
def org() -> None:
    """Organisations: their names and email domains."""


@org.command("create")
@click.argument("name")
@click.option("--domain", "domains", multiple=True, required=True, help="An email domain it owns (repeatable).")
@click.option("--jit/--no-jit", default=False, show_default=True,
              help="Verified OIDC emails in its domains become members on first sign-in.")
def create(name: str, domains: tuple[str, ...], jit: bool) -> None:
    """Create an organisation NAME that owns the given email domains."""
    from services.admin.people import create_org
    from services.errors import WorkmodeError

    with session() as s:
        try:
            created = create_org(session=s, name=name, domains=list(domains), by="cli", jit=jit)
        except WorkmodeError as exc:
            fail(str(exc))
            return
        s.commit()
        click.echo(f"Created {created.name} ({', '.join(created.domains)}){' with JIT sign-in' if jit else ''}.")


@org.command("list")
def list_() -> None:
    """Organisations, their domains and how many active people each has."""
    from services.admin.people import list_orgs

    with session() as s:
        rows = list_orgs(session=s)
    if not rows:
        click.echo("No organisations yet: `workmode org create NAME --domain example.com`.")
    for o, count in rows:
        jit = " · JIT sign-in" if (o.policy or {}).get("jit_sign_in") is True else ""
        click.echo(f"{o.name}\t{', '.join(o.domains or [])}\t{count} active{jit}")
