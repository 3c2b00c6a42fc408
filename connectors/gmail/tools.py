"""The Gmail connector: the gmail_* tools of the sandbox, served by the Gmail API."""
from __future__ import annotations

from connectors.base import Connector
from connectors.gmail import read, write

connector = Connector("gmail", "The requester's Gmail mailbox (Gmail API v1): search, read threads, labels, drafts, "
                               "send, archive.")

# Order is fixed: the tool list is part of the model's prompt prefix.
read.register(connector)
write.register(connector)

__all__ = ["connector"]
