"""The agent engine end to end, in process: real store (SQLite and PostgreSQL), a real Celery
worker on the embedded broker, the sandbox workspace, and the scripted model over HTTP."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from connectors.sandbox.models import SandboxMessage
from services.approvals.service import Conflict, decide
from services.config import reset_settings
from services.jobs.service import NotAllowed
from services.store.db import get_engine
from services.store.models import Action
from tests.fakes.model_server import dynamic, text, tool_calls
from tests.support.jobs import (
    actions,
    decide_now,
    kinds,
    messages,
    pending_action,
    start,
    tool_result_json,
    wait_status,
)

PLAN = ("update_plan", {"steps": [{"title": "Find Dana's email", "status": "in_progress"},
                                  {"title": "Reply to Dana", "status": "pending"}]})


def read_dana_thread():
    """Model turn: read the first thread that gmail_search found."""
    return dynamic(lambda req: tool_calls(
        ("gmail_read_thread", {"thread_id": tool_result_json(req)["messages"][0]["thread_id"]})))


def reply_in_thread(body="Tuesday 10:00 works for me.", to="dana@northwind.example"):
    return dynamic(lambda req: tool_calls(("gmail_send", {
        "to": [to], "subject": "Meeting", "body": body, "thread_id": tool_result_json(req)["thread_id"]})))


def sent_by_action(action_id: str) -> list[SandboxMessage]:
    with Session(get_engine()) as s:
        return list(s.exec(select(SandboxMessage).where(SandboxMessage.action_id == action_id)))


def test_plan_read_approve_execute_answer(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(PLAN), tool_calls(("gmail_search", {"query": "from:dana@northwind.example"})),
                read_dana_thread(), reply_in_thread(), text("Replied to Dana proposing Tuesday 10:00."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    assert action.tool == "gmail_send" and action.preview["kind"] == "email"
    assert action.context and action.context[-1]["tool"] == "gmail_read_thread"
    decide_now(action, people["alex"], decision="approve")
    job = wait_status(job_id, "completed")

    assert job.result == "Replied to Dana proposing Tuesday 10:00."
    assert job.plan[0]["title"] == "Find Dana's email"
    assert job.model_turns == 5 and job.steps == 9 and job.prompt_tokens > 0
    assert [a.status for a in actions(job_id)] == ["succeeded"]
    assert len(sent_by_action(action.id)) == 1
    # The model was told the outcome, and the untrusted thread was fenced as data.
    last = worker.requests[-1]["messages"]
    assert "Approved and done" in last[-1]["content"]
    assert any(m["role"] == "tool" and m["content"].startswith("<untrusted") for m in last)
    assert sum(1 for m in worker.requests[0]["messages"] if m["role"] == "system") == 1
    for k in ("created", "plan_updated", "tool_called", "approval_requested", "decided", "action_succeeded",
              "completed"):
        assert k in kinds(job_id)


def test_prompt_prefix_is_stable_and_the_plan_comes_first(worker, workspace, monkeypatch):
    monkeypatch.setenv("WORKMODE_PLAN_FIRST", "true")
    reset_settings()
    _, people = workspace
    worker.push(tool_calls(PLAN), text("ok"))
    job_id = start(people["alex"])
    wait_status(job_id, "completed")
    first, second = worker.requests[-2], worker.requests[-1]
    assert first["tool_choice"] == {"type": "function", "function": {"name": "update_plan"}}
    assert second["tool_choice"] == "auto"
    assert first["messages"][0] == second["messages"][0]
    assert first["tools"] == second["tools"]
    assert [t["function"]["name"] for t in first["tools"]] == sorted(t["function"]["name"] for t in first["tools"])


@pytest.mark.parametrize("decision,field,words", [("reject", "reason", "too early, try Wednesday"),
                                                  ("respond", "feedback", "mention the agenda too")])
def test_reject_and_feedback_reach_the_model(worker, workspace, decision, field, words):
    _, people = workspace
    worker.push(tool_calls(("gmail_search", {"query": "from:dana@northwind.example"})), read_dana_thread(),
                reply_in_thread(), text("Understood."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    decide_now(action, people["alex"], decision=decision, **{field: words})
    wait_status(job_id, "completed")
    assert actions(job_id)[0].status == "rejected"
    assert sent_by_action(action.id) == []
    told = worker.requests[-1]["messages"][-1]["content"]
    assert words in told and "Not executed" in told


def test_edited_arguments_are_what_executes(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("gmail_search", {"query": "from:dana@northwind.example"})), read_dana_thread(),
                reply_in_thread(body="Monday?"), text("Sent."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    edited = dict(action.arguments, body="Wednesday 15:00 London time works.")
    decide_now(action, people["alex"], decision="edit", arguments=edited)
    wait_status(job_id, "completed")
    (sent,) = sent_by_action(action.id)
    assert sent.body == "Wednesday 15:00 London time works."
    assert actions(job_id)[0].edited is True


def test_edit_with_invalid_arguments_is_refused(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "x"})))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    with pytest.raises(ValueError, match="to"):
        decide_now(action, people["alex"], decision="edit", arguments=dict(action.arguments, to=[]))
    assert actions(job_id)[0].status == "pending"


def test_decision_bound_to_shown_arguments(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "x"})))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    with Session(get_engine()) as s, pytest.raises(Conflict, match="changed since it was shown"):
        decide(session=s, action_id=action.id, actor=people["alex"], decision="approve", shown_hash="0" * 64)
    assert actions(job_id)[0].status == "pending"


def test_arguments_changed_after_approval_are_refused(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "x"})),
                text("It was refused."))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    with Session(get_engine()) as s:
        decide(session=s, action_id=action.id, actor=people["alex"], decision="approve", shown_hash=action.args_hash)
        tampered = s.get(Action, action.id)
        tampered.arguments = dict(tampered.arguments, to=["attacker@evil.example"])
        s.add(tampered)
        s.commit()
    wait_status(job_id, "completed")
    (done,) = actions(job_id)
    assert done.status == "failed" and "changed after approval" in done.error
    assert sent_by_action(action.id) == []


def test_a_wrong_user_cannot_decide(worker, workspace):
    _, people = workspace
    outsider = next(p for p in people.values() if p.id != people["alex"].id and "approver" not in p.roles)
    worker.push(tool_calls(("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "x"})))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    with pytest.raises(NotAllowed):
        decide_now(action, outsider, decision="approve")
    assert actions(job_id)[0].status == "pending"
    assert "decided" not in kinds(job_id)


def test_double_decision_only_counts_once(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "x"})),
                text("ok"))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    decide_now(action, people["alex"], decision="approve")
    with pytest.raises(Conflict):
        decide_now(action, people["alex"], decision="approve")
    wait_status(job_id, "completed")
    assert len(sent_by_action(action.id)) == 1
    assert kinds(job_id).count("decided") == 1


def test_risk_flags_outside_recipient_link_and_untrusted_text(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("gmail_search", {"query": "from:dana@northwind.example"})), read_dana_thread(),
                dynamic(lambda req: tool_calls(("gmail_send", {
                    "to": ["someone@elsewhere.example"], "subject": "Fwd",
                    "body": "See https://evil.example/x and: " + tool_result_json(req)["messages"][0]["body"][:200]}))))
    job_id = start(people["alex"])
    action = pending_action(job_id)
    flags = {f["kind"]: f for f in action.risk_flags}
    assert flags["outside_recipient"]["value"] == "someone@elsewhere.example"
    assert flags["link"]["value"].startswith("https://evil.example/x")
    # Named by where the copied text first appeared (the search snippet or the thread itself).
    assert flags["untrusted_content"]["source"].split(":")[0] in ("gmail_search", "gmail_read_thread")
    assert flags["untrusted_content"]["field"] == "body"


def test_ask_user_waits_for_the_answer(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("ask_user", {"question": "Which week?"})), text("Booked for next week."))
    job_id = start(people["alex"])
    wait_status(job_id, "waiting")
    from services.jobs.service import answer_question

    with Session(get_engine()) as s:
        answer_question(session=s, job_id=job_id, actor=people["alex"], text="next week")
        s.commit()
    wait_status(job_id, "completed")
    assert "next week" in worker.requests[-1]["messages"][-1]["content"]


def test_read_tool_errors_go_back_to_the_model(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(("gmail_read_thread", {"thread_id": "no-such-thread"})), text("Could not find it."))
    job_id = start(people["alex"])
    wait_status(job_id, "completed")
    assert "error (not_found)" in worker.requests[-1]["messages"][-1]["content"]
    assert "tool_failed" in kinds(job_id)


def test_long_tool_results_are_cut_with_a_handle(worker, workspace, monkeypatch):
    monkeypatch.setenv("WORKMODE_TOOL_RESULT_MAX_CHARS", "300")
    from services.config import reset_settings

    reset_settings()
    _, people = workspace
    worker.push(tool_calls(("gmail_search", {"query": "", "max_results": 30})),
                dynamic(lambda req: tool_calls(("read_more", {
                    "handle": req["messages"][-1]["content"].split('handle="')[1].split('"')[0], "offset": 300}))),
                text("ok"))
    job_id = start(people["alex"])
    wait_status(job_id, "completed")
    cut = worker.requests[1]["messages"][-1]["content"]
    assert "[truncated:" in cut and len(cut) < 800
    full = next(m.content for m in messages(job_id) if m.name == "gmail_search")
    assert full[300:360] in worker.requests[2]["messages"][-1]["content"]
