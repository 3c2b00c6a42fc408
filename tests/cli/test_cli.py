"""The `workmode` command, run as a real subprocess on the embedded defaults (SQLite, in-process
broker and worker, sandbox) with the scripted model over HTTP."""
from __future__ import annotations

import os

import pytest

from tests.fakes.model_server import text, tool_calls
from tests.support.cli import workmode_runner

SEND = ("gmail_send", {"to": ["dana@northwind.example"], "subject": "Slot", "body": "Tuesday 15:15 London?"})


@pytest.fixture
def cli(scripted_model, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_")}
    env.update(WORKMODE_HOME=str(tmp_path / "home"), WORKMODE_MODEL_BASE_URL=scripted_model.url,
               WORKMODE_MODEL_NAME="scripted-model", WORKMODE_PLAN_FIRST="false")

    run = workmode_runner(env)

    run("db", "upgrade")
    run("db", "seed")
    return run


def test_run_with_yes_approves_and_completes(cli, scripted_model):
    scripted_model.push(tool_calls(("update_plan", {"steps": [{"title": "Reply to Dana", "status": "in_progress"}]})),
                        tool_calls(SEND), text("Proposed Tuesday 15:15 to Dana."))
    out = cli("run", "Reply to Dana with a slot", "--yes").stdout
    assert "[~] Reply to Dana" in out
    assert "Approval needed: gmail_send" in out and "To: dana@northwind.example" in out
    assert "succeeded: gmail_send" in out
    assert "✔ completed" in out and "Proposed Tuesday 15:15 to Dana." in out
    job_id = out.split("Timeline of job ")[1].split()[0]
    shown = cli("jobs", "show", job_id).stdout
    assert "gmail_send" in shown and "succeeded" in shown and "completed" in shown
    assert job_id in cli("jobs", "list").stdout


def test_rejecting_in_the_terminal_tells_the_model(cli, scripted_model):
    scripted_model.push(tool_calls(SEND), text("OK, I will not send it."))
    out = cli("run", "Reply to Dana", stdin="r\nnot before I talk to her\n").stdout
    assert "rejected: not before I talk to her" in out
    assert "not before I talk to her" in scripted_model.requests[-1]["messages"][-1]["content"]


def test_editing_in_the_terminal_changes_what_is_sent(cli, scripted_model):
    scripted_model.push(tool_calls(SEND), text("Sent."))
    # Fields in order: to, cc, bcc, subject, body, thread_id — keep all but the body.
    out = cli("run", "Reply to Dana", stdin="e\n\n\n\n\nWednesday instead\n\n").stdout
    assert "edited and approved" in out
    assert "succeeded: gmail_send" in out


def test_answering_a_question_in_the_terminal(cli, scripted_model):
    scripted_model.push(tool_calls(("ask_user", {"question": "Which week?"})), text("Next week it is."))
    out = cli("run", "Book something", stdin="next week\n").stdout
    assert "Which week?" in out and "Next week it is." in out


def test_demo_runs_end_to_end_on_a_given_model(cli, scripted_model):
    scripted_model.push(tool_calls(("gmail_search", {"query": "from:dana@northwind.example"})), tool_calls(SEND),
                        text("Done."))
    out = cli("demo", "--yes").stdout
    assert "model: scripted-model at" in out
    assert "sandbox workspace: Northwind Labs" in out
    assert "✔ completed" in out


def test_clear_errors(cli):
    proc = cli("run", "hello", "--as", "nobody@nowhere.example", ok=False)
    assert proc.returncode == 2 and "no Workmode user with email" in proc.stderr
    proc = cli("run", "   ", ok=False)
    assert proc.returncode == 2 and "prompt:" in proc.stderr
    proc = cli("worker", ok=False)
    assert proc.returncode == 2 and "WORKMODE_BROKER_URL" in proc.stderr
    proc = cli("approvals", "approve", "no-such-action", ok=False)
    assert proc.returncode == 2 and "not found" in proc.stderr
