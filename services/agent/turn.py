"""One model turn: build the request, call the model, validate what it asked for (with one
repair round), and persist the assistant message with its usage in one transaction."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from connectors.base import ToolError
from services.agent.builtins import UPDATE_PLAN
from services.agent.prompt import build_messages
from services.agent.toolbox import ToolRef, tool_specs
from services.config import get_settings
from services.jobs import events
from services.jobs.transcript import append
from services.model.client import ModelClient, ModelTurn
from services.store.models import Job, Message


@dataclass
class TurnProblem:
    call_id: str | None
    message: str


def validate(turn: ModelTurn, tools: dict[str, ToolRef]) -> list[TurnProblem]:
    if turn.finish_reason == "invalid_json":
        return [TurnProblem(None, "your answer was not valid JSON in the required format")]
    if turn.finish_reason == "length":
        # Stopped at the output token limit: a half answer must not become the job's result, and
        # calls from a cut turn may be missing or half written. Nothing of it runs.
        return [TurnProblem(None, "your reply was cut off at the output token limit, so none of it was used; "
                                  "reply again, more briefly")]
    problems = []
    for call in turn.tool_calls:
        ref = tools.get(call.name)
        if ref is None:
            problems.append(TurnProblem(call.id, f"there is no tool named {call.name!r}"))
            continue
        try:
            args = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            problems.append(TurnProblem(call.id, f"arguments for {call.name} are not valid JSON: {exc}"))
            continue
        if not isinstance(args, dict):
            problems.append(TurnProblem(call.id, f"arguments for {call.name} must be a JSON object"))
            continue
        try:
            ref.tool.parse(args)
        except ToolError as exc:
            problems.append(TurnProblem(call.id, exc.message))
    return problems


def _repair_messages(
    messages: list[dict[str, Any]], turn: ModelTurn, problems: list[TurnProblem]
) -> list[dict[str, Any]]:
    """The broken turn plus what was wrong with it, so the model can try once more."""
    out = list(messages)
    if turn.tool_calls:
        out.append(_assistant_dict(turn))
        by_call = {p.call_id: p.message for p in problems}
        for call in turn.tool_calls:  # a problem of the whole turn (call_id None) is every call's
            note = by_call.get(call.id) or by_call.get(None) or "not run because another call in this turn was invalid"
            out.append({"role": "tool", "tool_call_id": call.id, "name": call.name,
                        "content": f"error: {note}. Call again with corrected arguments."})
    else:
        out.append({"role": "assistant", "content": turn.content})
        out.append({"role": "user", "content": "Error: " + "; ".join(p.message for p in problems)
                    + ". Answer again in the required format."})
    return out


def _assistant_dict(turn: ModelTurn) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": turn.content or "",
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in turn.tool_calls
        ],
    }


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, turn: ModelTurn) -> None:
        self.prompt_tokens += turn.prompt_tokens
        self.completion_tokens += turn.completion_tokens


class InvalidModelOutput(RuntimeError):
    def __init__(self, message: str, usage: Usage):
        super().__init__(message)
        self.usage = usage


def model_turn(
    session: Session, job: Job, transcript: list[Message], tools: dict[str, ToolRef], client: ModelClient
) -> tuple[Message, Usage]:
    """Call the model; return the assistant message (added, not committed) and the tokens used.

    Raises InvalidModelOutput when the repair round fails too (it carries the usage).
    ModelUnavailable / ModelError from the client propagate to the caller.
    """
    settings = get_settings()
    messages = build_messages(transcript, settings.tool_result_max_chars)
    specs = tool_specs(tools)
    # The first turn writes the plan the person sees as progress (Slack, web, terminal).
    force = UPDATE_PLAN if settings.plan_first and job.model_turns == 0 and UPDATE_PLAN in tools else None
    # A turn that only rewrote the plan made no progress: the next one must work or answer.
    last = next((m for m in reversed(transcript) if m.role == "assistant"), None)
    avoid = ((UPDATE_PLAN,) if last and last.tool_calls and all(c["name"] == UPDATE_PLAN for c in last.tool_calls)
             else ())
    turn = client.complete(messages, specs, reasoning_effort=job.reasoning_effort, force_tool=force,
                           avoid_tools=avoid)
    usage = Usage()
    usage.add(turn)
    problems = validate(turn, tools)
    if problems:
        events.record(session, job.id, "model_output_invalid", problems=[p.message for p in problems], attempt=1)
        turn = client.complete(_repair_messages(messages, turn, problems), specs, reasoning_effort=job.reasoning_effort,
                               force_tool=force, avoid_tools=avoid)
        usage.add(turn)
        problems = validate(turn, tools)
    if problems:
        events.record(session, job.id, "model_output_invalid", problems=[p.message for p in problems], attempt=2)
        detail = "; ".join(p.message for p in problems)
        raise InvalidModelOutput(f"the model produced invalid tool calls twice: {detail}", usage)
    calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in turn.tool_calls]
    # While the step runs nobody else appends (the previous turn's calls all have results).
    next_seq = transcript[-1].seq + 1 if transcript else 0
    msg = append(session, job.id, seq=next_seq, role="assistant", content=turn.content or "", tool_calls=calls)
    events.record(
        session,
        job.id,
        "model_turn",
        tool_calls=[c.name for c in turn.tool_calls],
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        reasoning=bool(turn.reasoning),
    )
    return msg, usage
