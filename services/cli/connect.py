"""`workmode connect google|jira|slack|status|remove`: connect a person's accounts from the terminal.

Google, and Jira with --oauth, print the consent URL to open in a browser (the callback lands on
the Workmode web app, which must be reachable at WORKMODE_GOOGLE_REDIRECT_URL /
WORKMODE_JIRA_REDIRECT_URL / WORKMODE_PUBLIC_URL). Jira and Slack tokens are read without echo and
stored encrypted; nothing secret is printed.
"""
from __future__ import annotations

import click
from pydantic import ValidationError

from services.cli.common import fail, session

AS = click.option("--as", "as_email", help="Whose account (email). Default: WORKMODE_USER_EMAIL or the demo user.")


def _principal(s, as_email):
    from services.identity import UnknownPrincipal, cli_principal

    try:
        return cli_principal(s, as_email)
    except UnknownPrincipal as exc:
        fail(str(exc))


@click.group()
def connect() -> None:
    """Connect your Google, Jira and Slack accounts (stored encrypted)."""


@connect.command("google")
@AS
def connect_google(as_email: str | None) -> None:
    """Print the Google consent URL to open in your browser."""
    from connectors.google.config import GoogleNotConfigured, google_config
    from services.credentials import google_oauth

    with session() as s:
        me = _principal(s, as_email)
        try:
            url = google_oauth.start(session=s, principal=me)
        except GoogleNotConfigured as exc:
            fail(exc.message)
        s.commit()
    click.echo(f"Open this URL in a browser and sign in to Google as {me.email}:\n\n  {url}\n")
    click.echo(f"Google sends you back to {google_config().redirect_url} (the Workmode web app must be running "
               "there); the link works once, for 10 minutes.")


@connect.command("jira")
@AS
@click.option("--url", default="", help="Jira site, e.g. https://acme.atlassian.net")
@click.option("--email", default="", help="Your Atlassian account email (Jira Cloud API token).")
@click.option("--pat", is_flag=True, help="The token is a Data Center personal access token (no email).")
@click.option("--oauth", is_flag=True, help="Jira Cloud: print the Atlassian consent URL (OAuth 2.0) instead.")
@click.option("--token", default=None, help="Read from a prompt when not given.")
def connect_jira(as_email: str | None, url: str, email: str, pat: bool, oauth: bool, token: str | None) -> None:
    """Store a Jira Cloud API token (with --email) or a Data Center personal access token (--pat), or
    connect Jira Cloud with OAuth (--oauth)."""
    from services.agent.reconnect import resume_after_reconnect
    from services.credentials import service as store
    from services.credentials.forms import JiraConnect
    from services.errors import Invalid

    if oauth:
        return _connect_jira_oauth(as_email)
    if not url:
        fail("give --url (the Jira site), or --oauth to connect Jira Cloud through Atlassian")
    token = token or click.prompt("Jira API token", hide_input=True)
    try:
        body = JiraConnect(url=url, email=email, pat=token if pat else None, api_token=None if pat else token)
    except ValidationError as exc:
        fail("; ".join(e["msg"] for e in exc.errors()))
    with session() as s:
        me = _principal(s, as_email)
        try:
            body.check_destination(s, me.org_id)
        except Invalid as exc:
            fail(exc.message)
        store.save(session=s, principal_id=me.id, provider="jira", secret=body.secret())
        resume_after_reconnect(s, me.id)
        s.commit()
    click.echo(f"Jira connected for {me.email} ({body.url}).")


def _connect_jira_oauth(as_email: str | None) -> None:
    from services.credentials import jira_oauth

    with session() as s:
        me = _principal(s, as_email)
        try:
            url = jira_oauth.start(session=s, principal=me)
        except jira_oauth.JiraNotConfigured as exc:
            fail(exc.message)
        s.commit()
    click.echo(f"Open this URL in a browser and sign in to Atlassian as {me.email}:\n\n  {url}\n")
    click.echo(f"Atlassian sends you back to {jira_oauth.jira_oauth_config().redirect_url} (the Workmode web app must "
               "be running there); the link works once, for 10 minutes.")


@connect.command("slack")
@AS
@click.option("--token", prompt="Slack bot token (xoxb-…)", hide_input=True, help="Read from a prompt when not given.")
def connect_slack(as_email: str | None, token: str) -> None:
    """Store the Slack app's bot token."""
    from services.agent.reconnect import resume_after_reconnect
    from services.credentials import service as store
    from services.credentials.forms import SlackConnect

    try:
        body = SlackConnect(bot_token=token)
    except ValidationError as exc:
        fail("; ".join(e["msg"] for e in exc.errors()))
    with session() as s:
        me = _principal(s, as_email)
        store.save(session=s, principal_id=me.id, provider="slack",
                   secret={"bot_token": body.bot_token.get_secret_value()})
        resume_after_reconnect(s, me.id)
        s.commit()
    click.echo(f"Slack connected for {me.email}.")


@connect.command("status")
@AS
def connect_status(as_email: str | None) -> None:
    """Which accounts are connected."""
    from services.credentials import service as store

    with session() as s:
        me = _principal(s, as_email)
        rows = {r["provider"]: r for r in store.connections(session=s, principal_id=me.id)}
    for provider in store.PROVIDERS:
        row = rows.get(provider)
        state = f"connected {row['updated_at']:%Y-%m-%d %H:%M}" if row else "not connected"
        click.echo(f"{provider:7} {state}")


@connect.command("remove")
@AS
@click.argument("provider", type=click.Choice(["google", "jira", "slack"]))
def connect_remove(as_email: str | None, provider: str) -> None:
    """Forget a connection (Google's grant is also revoked at Google)."""
    from services.credentials import google_oauth
    from services.credentials import service as store

    with session() as s:
        me = _principal(s, as_email)
        if provider == "google":
            removed = google_oauth.disconnect(session=s, principal_id=me.id)
        else:
            removed = store.delete(session=s, principal_id=me.id, provider=provider)
        s.commit()
    click.echo(f"{provider} {'disconnected' if removed else 'was not connected'} for {me.email}.")
