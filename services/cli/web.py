"""`workmode api`, `workmode login-link <email>`, `workmode tokens create|list|revoke`."""
from __future__ import annotations

from contextlib import nullcontext

import click

from services.cli.common import fail, session
from services.config import get_settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def api(host: str, port: int) -> None:
    """Serve the REST API and the web approval queue (on the embedded broker, a worker runs in this process)."""
    import uvicorn

    from services.api.app import create_app

    embedded = get_settings().embedded_broker
    if embedded:
        from workers.embedded import embedded_worker
    with embedded_worker() if embedded else nullcontext():
        click.echo(f"Workmode web and API on http://{host}:{port}  (sign in: `workmode login-link <email>`)")
        uvicorn.run(create_app(), host=host, port=port, proxy_headers=True, server_header=False)


@click.command("login-link")
@click.argument("email")
def login_link(email: str) -> None:
    """Print a one-time sign-in link for EMAIL (development; single use, expires in minutes)."""
    from services.api.tokens import TokenError, create_login_link, login_link_url
    from services.identity import UnknownPrincipal, principal_by_email

    with session() as s:
        try:
            row, token = create_login_link(session=s, principal=principal_by_email(s, email))
            s.commit()
        except (UnknownPrincipal, TokenError) as exc:
            fail(str(exc))
    click.echo(login_link_url(token))
    click.echo(f"(works once, until {row.expires_at:%H:%M} UTC)", err=True)


@click.group()
def tokens() -> None:
    """Personal API tokens (Bearer) for the REST API."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for, e.g. 'laptop script'.")
@click.option("--expires-days", type=int, default=None,
              help="Lifetime in days (default WORKMODE_API_TOKEN_DEFAULT_DAYS, at most WORKMODE_API_TOKEN_MAX_DAYS).")
@click.option("--scope", type=click.Choice(["read-only", "read-write"]), default="read-write", show_default=True,
              help="read-only: the token may only read.")
def tokens_create(email: str, name: str, expires_days: int | None, scope: str) -> None:
    """Create a token acting as EMAIL; it is printed once."""
    from services.api.tokens import TokenError, create_api_token
    from services.identity import UnknownPrincipal, principal_by_email

    with session() as s:
        try:
            row, token = create_api_token(session=s, principal=principal_by_email(s, email), name=name,
                                          expires_days=expires_days, scope=scope)
            s.commit()
        except (UnknownPrincipal, TokenError) as exc:
            fail(str(exc))
    click.echo(token)
    click.echo(f"({row.scope}, expires {row.expires_at:%Y-%m-%d %H:%M} UTC)", err=True)


@tokens.command("list")
@click.argument("email")
def tokens_list(email: str) -> None:
    from services.api.tokens import list_api_tokens
    from services.identity import UnknownPrincipal, principal_by_email
    from services.store.models import utcnow

    with session() as s:
        try:
            rows = list_api_tokens(session=s, principal=principal_by_email(s, email))
        except UnknownPrincipal as exc:
            fail(str(exc))
        for t in rows:
            state = "revoked" if t.revoked_at else "expired" if t.expires_at <= utcnow() else "active"
            click.echo(f"{t.id}  {t.prefix}…  {state:<8} {t.scope:<10} {t.created_at:%Y-%m-%d}  "
                       f"expires {t.expires_at:%Y-%m-%d}  {t.name}")


@tokens.command("revoke")
@click.argument("email")
@click.argument("token_id")
def tokens_revoke(email: str, token_id: str) -> None:
    from services.api.tokens import TokenError, revoke_api_token
    from services.identity import UnknownPrincipal, principal_by_email

    with session() as s:
        try:
            revoke_api_token(session=s, principal=principal_by_email(s, email), token_id=token_id)
            s.commit()
        except (UnknownPrincipal, TokenError) as exc:
            fail(str(exc))
    click.echo(f"revoked {token_id}")
