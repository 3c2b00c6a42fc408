"""What the engine does with each shape of model reply a real OpenAI-compatible server can send:
reads and writes in one turn, several writes in one JSON-mode reply, text beside tool calls, a
reply cut at the output limit, no `usage`, no choices, a connection dropped unanswered. A broken
reply is repaired or retried, never run and never a crash; nothing is proposed twice. And the
scripted server itself: a script that runs out fails the test."""
from __future__ import annotations

import httpx
import pytest
from sqlmodel import Session, select

from connectors.sandbox.models import SandboxMessage
from services.config import reset_settings
from services.model.client import ModelClient
from services.store.db import get_engine
from tests.fakes.model_server import (
    ScriptedModel,
    dropped,
    empty_choices,
    length,
    no_usage,
    text,
    tool_calls,
)
from tests.support.jobs import actions, decide_now, events, kinds, messages, pending_action, start, wait_status

DANA = "dana@northwind.example"
SEARCH = ("gmail_search", {"query": "from:dana@northwind.example"})
LABELS = ("gmail_list_labels", {})
SEND = ("gmail_send", {"to": [DANA], "subject": "Tuesday", "body": "Tuesday 10:00 works for me."})
SEND_2 = ("gmail_send", {"to": [DANA], "subject": "Agenda", "body": "Agenda to follow."})


@pytest.fixture
def json_mode(monkeypatch):
    monkeypatch.setenv("WORKMODE_TOOL_MODE", "json")
    reset_settings()


def sent(action_id: str) -> int:
    with Session(get_engine()) as s:
        return len(s.exec(select(SandboxMessage).where(SandboxMessage.action_id == action_id)).all())


def invalid_events(job_id: str) -> list[list[str]]:
    return [e.data["problems"] for e in events(job_id) if e.kind == "model_output_invalid"]


def last_user_or_tool_text(request: dict) -> str:
    return str(request["messages"][-1]["content"])


# -- mixed and several calls in one turn ----------------------------------------------------------

def test_a_turn_of_a_read_and_a_write_runs_the_read_and_proposes_the_write(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(SEARCH, SEND), text("Replied to Dana."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    assert (action.tool, action.arguments["subject"]) == ("gmail_send", "Tuesday")
    assert [a.tool for a in actions(job_id)] == ["gmail_send"]  # the read is no action
    assert sent(action.id) == 0  # nothing before approval
    decide_now(action, people["alex"], decision="approve")
    job = wait_status(job_id, "completed")
    assert job.result == "Replied to Dana." and sent(action.id) == 1
    # The next turn saw both results, in the order of the calls.
    tool_results = [m for m in worker.requests[-1]["messages"] if m["role"] == "tool"]
    assert [m["name"] for m in tool_results] == ["gmail_search", "gmail_send"]
    assert "Approved and done" in tool_results[1]["content"]


def test_several_writes_in_one_json_mode_reply_are_repaired_into_one_per_turn(worker, workspace, json_mode):
    _, people = workspace
    worker.push(tool_calls(SEND, SEND_2), tool_calls(SEND), tool_calls(SEND_2), text("Sent both."))
    job_id = start(people["alex"])
    first = pending_action(job_id)
    # The reply with two JSON objects was not taken (not even its first call): it was repaired.
    assert worker.requests[0]["response_format"]["json_schema"]["name"] == "agent_turn"
    assert worker.requests[1]["messages"][-1]["role"] == "user"
    assert "not valid JSON" in last_user_or_tool_text(worker.requests[1])
    assert len(invalid_events(job_id)) == 1
    assert [a.arguments["subject"] for a in actions(job_id)] == ["Tuesday"]
    decide_now(first, people["alex"], decision="approve")
    second = pending_action(job_id)
    assert second.arguments["subject"] == "Agenda"
    decide_now(second, people["alex"], decision="approve")
    assert wait_status(job_id, "completed").result == "Sent both."
    assert [(a.status, sent(a.id)) for a in actions(job_id)] == [("succeeded", 1), ("succeeded", 1)]


# -- content beside tool calls --------------------------------------------------------------------

def test_text_beside_tool_calls_is_kept_and_is_not_the_answer(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(LABELS, content="Let me look at your labels first."), text("You have labels."))
    job_id = start(people["alex"])
    job = wait_status(job_id, "completed")
    assert job.result == "You have labels." and job.model_turns == 2
    turn = next(m for m in messages(job_id) if m.role == "assistant")
    assert turn.content == "Let me look at your labels first."
    assert [c["name"] for c in turn.tool_calls] == ["gmail_list_labels"]
    sent_back = next(m for m in worker.requests[1]["messages"] if m["role"] == "assistant")
    assert sent_back["content"] == "Let me look at your labels first." and sent_back["tool_calls"]


def test_text_beside_a_write_still_waits_for_approval(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(SEND, content="I will reply to Dana now."), text("Done."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    assert wait_status(job_id, "waiting").result is None and sent(action.id) == 0
    decide_now(action, people["alex"], decision="approve")
    assert wait_status(job_id, "completed").result == "Done."


def test_prose_before_the_json_turn_is_repaired(worker, workspace, json_mode):
    _, people = workspace
    worker.push(tool_calls(LABELS, content="Sure, here is the call:"), tool_calls(LABELS), text("Labels read."))
    job_id = start(people["alex"])
    job = wait_status(job_id, "completed")
    assert job.result == "Labels read."
    assert len(invalid_events(job_id)) == 1
    assert kinds(job_id).count("tool_called") == 1  # the labels were read once, after the repair


# -- finish_reason: length ------------------------------------------------------------------------

def test_an_answer_cut_at_the_output_limit_is_not_the_result(worker, workspace):
    _, people = workspace
    worker.push(length(text("Dana asked to move the review to Tuesday at ten, and the room is booked.")),
                text("Dana moved the review to Tuesday 10:00."))
    job_id = start(people["alex"])
    job = wait_status(job_id, "completed")
    assert job.result == "Dana moved the review to Tuesday 10:00."
    (problems,) = invalid_events(job_id)
    assert "cut off at the output token limit" in problems[0]
    assert "cut off" in last_user_or_tool_text(worker.requests[1])
    assert job.model_turns == 1 and job.completion_tokens == 40  # both requests counted


def test_a_write_cut_at_the_output_limit_proposes_nothing(worker, workspace):
    _, people = workspace
    worker.push(length(tool_calls(SEARCH, SEND)), tool_calls(SEND), text("Replied."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    assert [a.id for a in actions(job_id)] == [action.id] and action.arguments["subject"] == "Tuesday"
    repair = worker.requests[1]["messages"]
    assert [m["content"].startswith("error: your reply was cut off") for m in repair if m["role"] == "tool"] == \
        [True, True]
    assert kinds(job_id).count("tool_called") == 0  # not even the read of the cut turn ran
    decide_now(action, people["alex"], decision="approve")
    assert wait_status(job_id, "completed").result == "Replied."
    assert sent(action.id) == 1


def test_a_json_turn_cut_at_the_output_limit_is_repaired(worker, workspace, json_mode):
    _, people = workspace
    worker.push(length(tool_calls(SEND)), tool_calls(SEND), text("Replied."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    assert len(actions(job_id)) == 1 and len(invalid_events(job_id)) == 1
    decide_now(action, people["alex"], decision="approve")
    assert wait_status(job_id, "completed").result == "Replied."


def test_cut_twice_fails_the_job_with_the_reason(worker, workspace):
    _, people = workspace
    worker.push(length(text("A very long answer")), length(text("Another very long answer")))
    job_id = start(people["alex"])
    job = wait_status(job_id, "failed")
    assert "cut off at the output token limit" in job.error
    assert job.result is None


# -- usage, choices, connection -------------------------------------------------------------------

def test_missing_usage_counts_zero_tokens(worker, workspace):
    _, people = workspace
    worker.push(no_usage(tool_calls(LABELS)), no_usage(text("Labels read.")))
    job_id = start(people["alex"])
    job = wait_status(job_id, "completed")
    assert job.result == "Labels read." and job.model_turns == 2
    assert (job.prompt_tokens, job.completion_tokens) == (0, 0)
    assert len(worker.requests) == 2


def test_usage_missing_from_one_turn_only_counts_the_others(worker, workspace):
    _, people = workspace
    worker.push(no_usage(tool_calls(LABELS)), text("Labels read.", prompt_tokens=100, completion_tokens=7))
    job = wait_status(start(people["alex"]), "completed")
    assert (job.prompt_tokens, job.completion_tokens) == (100, 7)


def test_empty_choices_are_retried(worker, workspace):
    _, people = workspace
    worker.push(empty_choices(), text("Answered after an empty reply."))
    job_id = start(people["alex"])
    job = wait_status(job_id, "completed")
    assert job.result == "Answered after an empty reply." and job.model_turns == 1
    assert len(worker.requests) == 2 and "model_unavailable" not in kinds(job_id)


def test_a_server_that_keeps_sending_no_choices_puts_the_job_back_to_wait(worker, workspace):
    _, people = workspace
    # fast_model: 3 attempts per request; then the step waits and tries again later.
    worker.push(empty_choices(), empty_choices(), empty_choices(), text("Answered on the next try."))
    job_id = start(people["alex"])
    job = wait_status(job_id, "completed")
    assert job.result == "Answered on the next try."
    unavailable = [e for e in events(job_id) if e.kind == "model_unavailable"]
    assert len(unavailable) == 1 and "no choices" in unavailable[0].data["error"]


def test_a_dropped_connection_is_retried(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(SEARCH, SEND), dropped(), text("Replied."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    decide_now(action, people["alex"], decision="approve")
    job = wait_status(job_id, "completed")
    assert job.result == "Replied." and sent(action.id) == 1
    assert len(worker.requests) == 3 and job.model_turns == 2


# -- the scripted server's own rules --------------------------------------------------------------

MESSAGES = [{"role": "user", "content": "hi"}]


def test_the_client_sees_each_reply_shape(scripted_model, fast_model):
    scripted_model.push(length(text("abcdefgh")), no_usage(text("ok")), empty_choices(), text("after empty"),
                        dropped(), text("after drop"), tool_calls(LABELS, content="Looking."))
    client = ModelClient()
    cut = client.complete(MESSAGES, [])
    assert (cut.content, cut.finish_reason) == ("abcd", "length")
    assert (client.complete(MESSAGES, []).prompt_tokens, client.complete(MESSAGES, []).content) == (0, "after empty")
    assert client.complete(MESSAGES, []).content == "after drop"
    both = client.complete(MESSAGES, [])
    assert both.content == "Looking." and [c.name for c in both.tool_calls] == ["gmail_list_labels"]
    assert len(scripted_model.requests) == 7 and scripted_model.problems() == []


def test_a_script_that_runs_out_fails_instead_of_answering():
    with pytest.raises(AssertionError, match="the script ran out"), ScriptedModel() as model:
        model.push(text("the only reply"))
        url = model.url + "/chat/completions"
        assert httpx.post(url, json={"messages": MESSAGES}).json()["choices"][0]["message"]["content"] == \
            "the only reply"
        overrun = httpx.post(url, json={"messages": MESSAGES})
        assert overrun.status_code == 400 and "script ran out" in overrun.text
        assert len(model.overruns) == 1


def test_an_explicit_default_is_not_an_overrun():
    with ScriptedModel() as model:
        model.set_default(text("again"))
        for _ in range(3):
            assert httpx.post(model.url + "/chat/completions", json={"messages": MESSAGES}).status_code == 200
        assert model.problems() == []


def test_a_reply_that_contradicts_a_forced_tool_is_a_script_error():
    with pytest.raises(AssertionError, match="contradicts tool_choice=update_plan"), ScriptedModel() as model:
        model.push(text("not the plan"))
        forced = {"type": "function", "function": {"name": "update_plan"}}
        answer = httpx.post(model.url + "/chat/completions", json={"messages": MESSAGES, "tool_choice": forced})
        assert answer.status_code == 500
