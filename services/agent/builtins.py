"""Built-in tools every job has. They act on the job itself, never on the outside world. Their
names live in services/jobs/tool_names.py (the job layer needs them too)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from connectors.base import Tool, ToolContext, ToolResult

# Re-exported: the agent's modules (and the Slack app) import the names from here.
from services.jobs.tool_names import ASK_USER as ASK_USER
from services.jobs.tool_names import READ_MORE as READ_MORE
from services.jobs.tool_names import UPDATE_PLAN as UPDATE_PLAN


class PlanItem(BaseModel):
    title: str = Field(max_length=160, description="One step of the work, short and concrete")
    status: Literal["pending", "in_progress", "done"] = Field(default="pending")


class UpdatePlanArgs(BaseModel):
    steps: list[PlanItem] = Field(max_length=20, description="The whole checklist, in order, with each step's status")


class AskUserArgs(BaseModel):
    question: str = Field(max_length=1000, description="One clear question for the person who asked for this work")


class ReadMoreArgs(BaseModel):
    handle: str = Field(description="The handle given in a truncated tool result, e.g. 'm:42'")
    offset: int = Field(default=0, ge=0, description="Character offset to continue from")


def _not_run(ctx: ToolContext, args: Any) -> ToolResult:  # the engine handles built-ins itself
    raise RuntimeError("built-in tools are handled by the agent step")


def _tool(name: str, args: type[BaseModel], description: str) -> Tool:
    return Tool(name=name, description=description, args_model=args, run=_not_run)


BUILTINS: dict[str, Tool] = {
    UPDATE_PLAN: _tool(
        UPDATE_PLAN,
        UpdatePlanArgs,
        "Keep a visible checklist of the work. Call it first with the plan, then whenever a step's "
        "status changes. The person sees it as progress.",
    ),
    ASK_USER: _tool(
        ASK_USER,
        AskUserArgs,
        "Ask the person who requested the work a question when you cannot go on without their "
        "answer. The job pauses until they reply.",
    ),
    READ_MORE: _tool(
        READ_MORE,
        ReadMoreArgs,
        "Read more of a tool result that was cut short, from the handle and offset it gave.",
    ),
}
