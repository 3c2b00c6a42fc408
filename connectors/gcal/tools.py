"""The Google Calendar connector: the calendar_* tools of the sandbox, served by Calendar API v3."""
from __future__ import annotations

from connectors.base import Connector
from connectors.gcal import read, write

connector = Connector("gcal", "The requester's Google Calendar (Calendar API v3): events, free/busy, common slots, "
                              "create/update/cancel events.")

# Order is fixed: the tool list is part of the model's prompt prefix.
read.register(connector)
write.register(connector)

__all__ = ["connector"]
