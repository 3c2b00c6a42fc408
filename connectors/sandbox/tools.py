"""The sandbox connector: every sandbox tool, registered on one `Connector("sandbox")`.

The tools have the names and argument shapes of the real Gmail, Google Calendar, Jira and Slack
connectors, so the agent does not care which one it talks to. Reads return `ToolResult`s flagged
untrusted when others wrote the content; writes do not commit (the engine commits right after),
mark what they create with `ctx.action_id` and record an applied-effect row that `verify` looks
up, in the same transaction, so a second run with the same action id replays the first result.
"""
from __future__ import annotations

from connectors.base import Connector
from connectors.sandbox import calendar, calendar_write, chat, mail, mail_write, tickets, tickets_write

connector = Connector(
    "sandbox",
    "The embedded workspace: mail (gmail_*), calendars (calendar_*), issues (jira_*) and chat (slack_*).",
)

# Order is fixed: the tool list is part of the model's prompt prefix.
for _module in (mail, mail_write, calendar, calendar_write, tickets, tickets_write, chat):
    _module.register(connector)

__all__ = ["connector"]
