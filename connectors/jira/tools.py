"""The Jira connector: the jira_* tools, with the sandbox's names and argument shapes."""
from __future__ import annotations

from connectors.base import Connector
from connectors.jira import read, verify, write
from connectors.shapes.tickets import AssignArgs, CommentArgs, CreateArgs, GetArgs, SearchArgs, TransitionArgs

connector = Connector("jira", "Jira Cloud or Data Center: search, read, create, comment, transition, assign.")

# Order is fixed: the tool list is part of the model's prompt prefix.
connector.read("jira_search", SearchArgs)(read.jira_search)
connector.read("jira_get_issue", GetArgs)(read.jira_get_issue)
connector.write("jira_create_issue", CreateArgs, preview=write.create_preview,
                verify=verify.verify_create)(write.jira_create_issue)
connector.write("jira_comment", CommentArgs, preview=write.comment_preview,
                verify=verify.verify_comment)(write.jira_comment)
connector.write("jira_transition", TransitionArgs, preview=write.transition_preview,
                verify=verify.verify_transition)(write.jira_transition)
connector.write("jira_assign", AssignArgs, preview=write.assign_preview,
                verify=verify.verify_assign)(write.jira_assign)

__all__ = ["connector"]
