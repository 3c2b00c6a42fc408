"""Names of the built-in tools every job has. Their definitions (arguments, descriptions) are the
agent's (services/agent/builtins.py); the job layer needs only the names, e.g. answering a
question looks for the open `ask_user` call."""
from __future__ import annotations

UPDATE_PLAN = "update_plan"
ASK_USER = "ask_user"
READ_MORE = "read_more"
