"""/work through the real bolt app (signed requests, FastAPI) with jobs that really run (embedded
Celery worker, scripted model), against a local Slack Web API."""
from __future__ import annotations

from sqlmodel import Session

from services.store.db import get_engine
from tests.fakes.model_server import text, tool_calls
from tests.fakes.slack_api import SlackMessage
from tests.support.jobs import wait_status, wait_until
from tests.support.slack import card, one_job, slack_jobs

PLAN = ("update_plan", {"steps": [{"title": "Look at the calendar", "status": "done"},
                                  {"title": "Suggest a slot", "status": "in_progress"}]})


def shown(message: SlackMessage) -> str:
    return "\n".join(str(b) for b in message.blocks)


def test_command_creates_one_job_and_its_thread_message(worker, slack):
    worker.push(tool_calls(PLAN), text("Tuesday 10:00 works for everyone.", prompt_tokens=1200, completion_tokens=34))
    r = slack.send.command("find a slot with Dana next week --fast")
    assert r.status_code == 200 and r.text == ""  # acknowledged; the work happens after
    job = one_job()
    assert job.prompt == "find a slot with Dana next week" and job.reasoning_effort == "none"
    assert job.reply_to["channel"] == "C0GENERAL" and job.reply_to["user"] == "U0ALEX"
    wait_status(job.id, "completed")
    msg = card(slack, job.id)
    wait_until(lambda: "Tuesday 10:00 works" in shown(slack.fake.message(msg.channel, msg.ts)), what="the answer")
    final = shown(slack.fake.message(msg.channel, msg.ts))
    assert "<@U0ALEX> asked" in final and "Look at the calendar" in final and "tokens" in final
    assert len(slack.fake.in_channel("C0GENERAL")) == 1  # one message in the channel, kept up to date
    assert len(slack_jobs()) == 1


def test_retries_and_double_deliveries_create_nothing_twice(worker, slack):
    worker.push(text("Done."))
    body = slack.send.command_body("summarise my unread mail", trigger_id="trig.same")
    assert slack.send.post(body, "application/x-www-form-urlencoded").status_code == 200
    job = one_job()
    retry = slack.send.post(body, "application/x-www-form-urlencoded", headers={"X-Slack-Retry-Num": "1"})
    again = slack.send.post(body, "application/x-www-form-urlencoded")
    assert retry.status_code == 200 and again.status_code == 200
    wait_status(job.id, "completed")
    msg = card(slack, job.id)
    wait_until(lambda: "Done." in shown(slack.fake.message(msg.channel, msg.ts)), what="the answer")
    assert len(slack_jobs()) == 1
    assert len(slack.fake.calls("chat.postMessage")) == 1


def test_think_fast_and_the_organisation_default(worker, slack, workspace):
    org, _ = workspace
    with Session(get_engine()) as s:
        s.get(type(org), org.id).policy = dict(org.policy, reasoning_effort="none")
        s.commit()
    worker.push(text("The Q3 review plan."), text("Nothing today."))  # one answer per job
    slack.send.command("plan the Q3 review --think")
    wait_until(lambda: len(slack_jobs()) == 1, what="first job")
    slack.send.command("what's on today")
    jobs = wait_until(lambda: len(slack_jobs()) == 2 and slack_jobs(), what="second job")
    efforts = {j.prompt: j.reasoning_effort for j in jobs}
    assert efforts == {"plan the Q3 review": "high", "what's on today": "none"}
    for j in jobs:
        wait_status(j.id, "completed")
    r = slack.send.command("do it --think --fast")
    assert "Choose one" in r.text
    assert len(slack_jobs()) == 2


def test_help_and_empty_requests_answer_at_once(slack):
    for words in ("", "help"):
        r = slack.send.command(words)
        assert r.status_code == 200 and "/work status" in r.text
    assert "Say which job" in slack.send.command("cancel").text


def test_unknown_slack_user_is_told_how_to_be_added(worker, slack):
    slack.send.command("book a room", user="U0STRANGER")
    told = wait_until(lambda: slack.fake.responded(), what="the reply")
    assert "does not know" in told[0]["text"] and "stranger@elsewhere.example" in told[0]["text"]
    assert told[0]["response_type"] == "ephemeral"
    assert slack_jobs() == []


def test_a_deactivated_person_starts_nothing(worker, slack, workspace):
    _, people = workspace
    with Session(get_engine()) as s:
        alex = s.get(type(people["alex"]), people["alex"].id)
        alex.active = False
        s.commit()
    slack.send.command("book a room")
    told = wait_until(lambda: slack.fake.responded(), what="the reply")
    assert "deactivated" in told[0]["text"] and told[0]["response_type"] == "ephemeral"
    assert slack_jobs() == []


def test_a_person_is_found_by_email_when_slack_ids_differ(worker, slack, workspace):
    _, people = workspace
    with Session(get_engine()) as s:
        sam = s.get(type(people["sam"]), people["sam"].id)
        sam.slack_user_id = None
        s.commit()
    slack.fake.users["U0SAMNEW"] = ("sam@northwind.example", "sam", "America/New_York")
    worker.push(text("ok"))
    slack.send.command("what's on today", user="U0SAMNEW")
    job = one_job()
    assert job.principal_id == people["sam"].id
    wait_status(job.id, "completed")
    assert [c.args["user"] for c in slack.fake.calls("users.info")] == ["U0SAMNEW"]


def test_thread_reply_answers_the_question_once(worker, slack):
    worker.push(tool_calls(("ask_user", {"question": "Which week, this or next?"})), text("Booked for next week."))
    slack.send.command("book the team lunch")
    job = one_job()
    wait_status(job.id, "waiting")
    msg = card(slack, job.id)
    asked = wait_until(lambda: slack.fake.thread(msg.channel, msg.ts), what="the question in the thread")
    assert "Which week" in shown(asked[0]) and "<@U0ALEX>" in shown(asked[0])

    others = {"type": "message", "channel": msg.channel, "user": "U0PRIYA", "text": "lunch!", "ts": "1700000100.000001",
              "thread_ts": msg.ts}
    assert slack.send.event(others).status_code == 200
    reply = {"type": "message", "channel": msg.channel, "user": "U0ALEX", "text": "next week &amp; Friday",
             "ts": "1700000100.000002", "thread_ts": msg.ts}
    assert slack.send.event(reply, event_id="Ev-answer").status_code == 200
    assert slack.send.event(reply, event_id="Ev-answer", retry=1).status_code == 200
    wait_status(job.id, "completed")
    told = worker.requests[-1]["messages"][-1]["content"]
    assert "next week & Friday" in told and "lunch" not in told
    from tests.support.jobs import kinds

    assert kinds(job.id).count("answered") == 1
    notes = [c.args for c in slack.fake.calls("chat.postEphemeral")]
    assert any(n["user"] == "U0PRIYA" and "Only <@U0ALEX> can answer" in n["text"] for n in notes)


def test_status_and_cancel(worker, slack):
    worker.push(tool_calls(("ask_user", {"question": "Which room?"})))
    slack.send.command("book a room for Friday")
    job = one_job()
    wait_status(job.id, "waiting")
    slack.send.command("status")
    listed = wait_until(lambda: slack.fake.responded(), what="status")[-1]
    assert job.id[:8] in str(listed["blocks"]) and "book a room" in str(listed["blocks"])

    slack.send.command(f"cancel {job.id[:8]}", user="U0PRIYA")  # not hers, not an approver
    wait_until(lambda: len(slack.fake.responded()) == 2, what="refusal")
    assert "Not yours to cancel" in slack.fake.responded()[-1]["text"]
    slack.send.command(f"cancel {job.id[:8]}")
    wait_status(job.id, "cancelled")
    msg = card(slack, job.id)
    wait_until(lambda: "Cancelled" in shown(slack.fake.message(msg.channel, msg.ts)), what="the message to say so")
    assert __import__("services.slackapp.command", fromlist=["parse"]).parse("cancel my 3pm").arg == "cancel my 3pm"


def test_updates_are_coalesced_and_rate_limits_waited_out(worker, slack, monkeypatch):
    from services.config import reset_settings

    monkeypatch.setenv("WORKMODE_SLACK_UPDATE_INTERVAL_S", "600")  # at most one edit per 10 minutes
    reset_settings()
    steps = [("update_plan", {"steps": [{"title": f"Step {i}", "status": "in_progress"}]}) for i in range(5)]
    worker.push(tool_calls(("ask_user", {"question": "Go?"})), *(tool_calls(s) for s in steps), text("All five done."))
    slack.send.command("do five things")
    job = one_job()
    msg = card(slack, job.id)  # posted while the job waits for the answer
    wait_until(lambda: slack.fake.thread(msg.channel, msg.ts), what="the question")
    slack.fake.rate_limit("chat.update", times=1, retry_after=1)
    slack.send.event({"type": "message", "channel": msg.channel, "user": "U0ALEX", "text": "go",
                      "ts": "1700000200.000001", "thread_ts": msg.ts})
    wait_status(job.id, "completed")
    wait_until(lambda: "All five done." in shown(slack.fake.message(msg.channel, msg.ts)), what="the final answer")
    updates = slack.fake.calls("chat.update")
    # Six changes after the message was posted; none was sent on its own inside the interval. The
    # final state was (it always is), refused once with 429 and sent again after Retry-After.
    assert len(updates) == 2 and updates[0].args == updates[1].args
    assert "All five done." in str(updates[1].args["blocks"])


def test_a_channel_the_app_is_not_in_falls_back_to_a_dm(worker, slack):
    slack.fake.not_in.add("C0PRIVATE")
    worker.push(text("Here you go."))
    slack.send.command("what's on today", channel="C0PRIVATE")
    job = one_job()
    wait_status(job.id, "completed")
    msg = card(slack, job.id)
    assert msg.channel == "D0ALEX"
    told = wait_until(lambda: slack.fake.responded(), what="the notice")
    assert "can't post in this conversation" in told[0]["text"]
