"""Argument models of the issue-tracker tools (jira_*), shared by the sandbox and Jira connectors."""
from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Field

# Issue types and priorities are each Jira project's own (its issue type scheme, its priority
# scheme), so they are free text here; the connector checks them against what the project offers
# (Jira: its create metadata) and refuses plainly, naming what it does offer.
NAME_MAX = 60  # Jira's longest issue type or priority name


class SearchArgs(BaseModel):
    jql: str = Field("", description='JQL, e.g. \'project = OPS AND status in ("To Do", "In Progress") AND '
                     'assignee = currentUser() ORDER BY priority DESC\'. Supports =, !=, ~, in, not in, is EMPTY, '
                     'AND, OR, ORDER BY; fields project, status, assignee, reporter, type, priority, labels, '
                     'summary, text, created, updated.')
    max_results: int = Field(20, ge=1, le=100, description="Issues per page (1-100).")
    start_at: int = Field(0, ge=0, description="Index of the first issue to return (for paging).")


class GetArgs(BaseModel):
    key: str = Field(..., description="Issue key, e.g. OPS-12.")


class CreateArgs(BaseModel):
    project: str = Field(..., description="Project key, e.g. OPS.")
    issue_type: str = Field("Task", min_length=1, max_length=NAME_MAX,
                            description="Issue type as the project names it, e.g. Task, Bug, Story, Epic, or the "
                            "project's own such as Incident. A type the project does not offer is refused with "
                            "the list of those it does.")
    summary: str = Field(..., min_length=1, max_length=255, description="One-line title.")
    description: str = Field("", description="Details (plain text).")
    assignee: Optional[str] = Field(None, description="Assignee's email; omit to leave unassigned.")
    labels: list[str] = Field(default_factory=list, description="Labels (no spaces), e.g. ['q3', 'customer'].")
    priority: Optional[str] = Field(None, min_length=1, max_length=NAME_MAX,
                                    description="Priority as the project names it, e.g. Highest, High, Medium, Low, "
                                    "Lowest; omit to leave the project's default.")


class CommentArgs(BaseModel):
    key: str = Field(..., description="Issue key, e.g. OPS-12.")
    body: str = Field(..., min_length=1, description="Comment text.")


class TransitionArgs(BaseModel):
    key: str = Field(..., description="Issue key, e.g. OPS-12.")
    transition: str = Field(..., description="Transition name as listed by jira_get_issue, e.g. 'Start Progress'.")


class AssignArgs(BaseModel):
    key: str = Field(..., description="Issue key, e.g. OPS-12.")
    assignee: Optional[str] = Field(..., description="Assignee's email, or null to unassign.")
