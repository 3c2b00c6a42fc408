"""`workmode slack --socket`: run the Slack app over Socket Mode (no public URL needed)."""
from __future__ import annotations

from contextlib import nullcontext

import click

from services.cli.common import fail
from services.config import get_settings


@click.command("slack")
@click.option("--socket", "socket_mode", is_flag=True,
              help="Connect to Slack over Socket Mode (needs WORKMODE_SLACK_APP_TOKEN, xapp-…).")
def slack(socket_mode: bool) -> None:
    """Run the Slack app. HTTP mode needs no command: `workmode api` serves POST /slack/events."""
    if not socket_mode:
        fail("HTTP mode runs inside `workmode api` (Slack calls POST /slack/events there); "
             "for Socket Mode run `workmode slack --socket`")
    settings = get_settings()
    app_token = settings.slack_app_token.get_secret_value()
    if not app_token.startswith("xapp-"):
        fail("Socket Mode needs WORKMODE_SLACK_APP_TOKEN: an app-level token (xapp-…) with the "
             "connections:write scope, from the app's Basic Information page")
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from services.slackapp.app import build_app
    from services.slackapp.client import NotConfigured

    try:
        app = build_app(settings, socket_mode=True)
    except NotConfigured as exc:
        fail(str(exc))
    from workers.embedded import embedded_worker

    # On the embedded broker the worker runs in this process, so one command is a whole install.
    with embedded_worker() if settings.embedded_broker else nullcontext():
        click.echo("Workmode's Slack app is connected over Socket Mode; Ctrl-C to stop.")
        SocketModeHandler(app, app_token).start()
