"""The Slack connector: the slack_* tools, with the sandbox's names and argument shapes."""
from __future__ import annotations

from connectors.base import Connector
from connectors.shapes.chat import DmArgs, FindUserArgs, HistoryArgs, PostArgs, ThreadArgs
from connectors.slack import read, shared, write

connector = Connector("slack", "Slack: read channels and threads, find people, post and send direct messages.")

# Order is fixed: the tool list is part of the model's prompt prefix.
connector.read("slack_history", HistoryArgs)(read.slack_history)
connector.read("slack_thread", ThreadArgs)(read.slack_thread)
connector.read("slack_find_user", FindUserArgs)(read.slack_find_user)
connector.write("slack_post", PostArgs, preview=write.post_preview, verify=write.verify_post,
                destinations=shared.post_destinations)(write.slack_post)
connector.write("slack_dm", DmArgs, preview=write.dm_preview, verify=write.verify_dm,
                recipient_fields=("user",))(write.slack_dm)

__all__ = ["connector"]
