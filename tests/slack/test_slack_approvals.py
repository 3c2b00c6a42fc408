"""Approvals in Slack: the card in the job's thread (and as DMs), Approve / Edit (modal) / Reject
(modal) / Feedback (modal) through the real bolt app, decisions made elsewhere shown in Slack, App Home."""
from __future__ import annotations

import json

from sqlmodel import Session, select

from connectors.sandbox.models import SandboxMessage
from services.approvals.service import decide
from services.store.db import get_engine
from services.store.models import Job
from tests.fakes.model_server import text, tool_calls
from tests.fakes.slack_api import SlackMessage, form_values
from tests.support.jobs import actions, kinds, wait_status, wait_until

SEND = ("gmail_send", {"to": ["dana@northwind.example"], "subject": "Q3 review", "body": "Tuesday 10:00?"})


def start(slack, worker, prompt="email Dana about the Q3 review", user="U0ALEX", *replies):
    worker.push(tool_calls(SEND), *(replies or (text("Sent."),)))
    slack.send.command(prompt, user=user)
    job = wait_until(lambda: _jobs(), what="the job")[0]
    wait_status(job.id, "waiting")
    return job


def _jobs() -> list[Job]:
    with Session(get_engine(), expire_on_commit=False) as s:
        return list(s.exec(select(Job)))


def reply_to(job_id: str) -> dict:
    with Session(get_engine()) as s:
        return s.get(Job, job_id).reply_to


def approval_in_thread(slack, job_id: str) -> SlackMessage:
    def posted():
        r = reply_to(job_id)
        thread = slack.fake.thread(r["channel"], r["ts"]) if r.get("ts") else []
        return next((m for m in thread if _buttons(m)), None)

    return wait_until(posted, what="the approval in the thread")


def _buttons(message: SlackMessage) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]}


def current(slack, message: SlackMessage) -> SlackMessage:
    return slack.fake.message(message.channel, message.ts)


def settled(slack, message: SlackMessage, words: str) -> str:
    """Wait until the message shows `words` and has no buttons; return its text."""
    def done():
        m = current(slack, message)
        shown = json.dumps(m.blocks)
        return shown if words in shown and not _buttons(m) else None

    return wait_until(done, what=f"the message to show {words!r} without buttons")


def sent(action_id: str) -> list[SandboxMessage]:
    with Session(get_engine()) as s:
        return list(s.exec(select(SandboxMessage).where(SandboxMessage.action_id == action_id)))


def ephemerals(slack, user: str) -> list[str]:
    return [c.args["text"] for c in slack.fake.calls("chat.postEphemeral") if c.args["user"] == user]


def test_approve_runs_it_and_the_message_says_who_and_when(worker, slack):
    job = start(slack, worker)
    card = approval_in_thread(slack, job.id)
    shown = json.dumps(card.blocks)
    assert "dana@northwind.example" in shown and "Q3 review" in shown and "Tuesday 10:00?" in shown
    assert set(_buttons(card)) == {"wm_approve", "wm_edit", "wm_reject", "wm_feedback"}
    assert slack.send.click("wm_approve", _buttons(card)["wm_approve"], user="U0ALEX", message=card).status_code == 200
    wait_status(job.id, "completed")
    after = settled(slack, card, "Approved by <@U0ALEX>")
    assert "<!date^" in after and "Done" in after
    (action,) = actions(job.id)
    assert action.status == "succeeded" and len(sent(action.id)) == 1


def test_double_clicks_decide_once(worker, slack):
    job = start(slack, worker)
    card = approval_in_thread(slack, job.id)
    value = _buttons(card)["wm_approve"]
    slack.send.click("wm_approve", value, user="U0ALEX", message=card)
    slack.send.click("wm_approve", value, user="U0ALEX", message=card)
    slack.send.click("wm_approve", value, user="U0DANA", message=card)
    wait_status(job.id, "completed")
    assert kinds(job.id).count("decided") == 1
    assert len(sent(actions(job.id)[0].id)) == 1
    told = wait_until(lambda: len(ephemerals(slack, "U0ALEX") + ephemerals(slack, "U0DANA")) == 2
                      and ephemerals(slack, "U0ALEX") + ephemerals(slack, "U0DANA"), what="two notices")
    assert all(t.startswith("Nothing changed") and ("already" in t or "first" in t) for t in told), told


def test_a_non_approver_click_changes_nothing(worker, slack):
    job = start(slack, worker)
    card = approval_in_thread(slack, job.id)
    for button in ("wm_approve", "wm_edit", "wm_reject", "wm_feedback"):
        assert slack.send.click(button, _buttons(card)[button], user="U0PRIYA", message=card).status_code == 200
    told = wait_until(lambda: len(ephemerals(slack, "U0PRIYA")) == 4 and ephemerals(slack, "U0PRIYA"), what="notices")
    assert all(t.startswith("Not yours to decide") for t in told)
    assert actions(job.id)[0].status == "pending" and "decided" not in kinds(job.id)
    assert slack.fake.calls("views.open") == []
    assert _buttons(current(slack, card))


def test_edit_opens_a_form_from_the_schema_and_runs_the_edited_arguments(worker, slack):
    job = start(slack, worker)
    card = approval_in_thread(slack, job.id)
    slack.send.click("wm_edit", _buttons(card)["wm_edit"], user="U0ALEX", message=card)
    view = wait_until(lambda: slack.fake.calls("views.open"), what="the modal")[0].args["view"]
    fields = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert {"f:to", "f:cc", "f:bcc", "f:subject", "f:body", "f:thread_id"} <= set(fields)
    assert fields["f:to"]["element"]["initial_value"] == "dana@northwind.example"
    assert fields["f:body"]["element"]["multiline"] is True and fields["f:subject"]["optional"] is False

    bad = slack.send.submit(view, user="U0ALEX", values=form_values(view, to="", subject="Q3"))
    assert bad.status_code == 200 and bad.json()["response_action"] == "errors"
    assert "f:to" in bad.json()["errors"]
    assert actions(job.id)[0].status == "pending"

    ok = slack.send.submit(view, user="U0ALEX", values=form_values(
        view, body="Wednesday 15:00 London time works.", cc=["priya@northwind.example"]))
    assert ok.status_code == 200 and ok.text == ""  # the modal closes
    wait_status(job.id, "completed")
    (action,) = actions(job.id)
    assert action.edited and action.arguments["cc"] == ["priya@northwind.example"]
    (mail,) = sent(action.id)
    assert mail.body == "Wednesday 15:00 London time works."
    after = settled(slack, card, "Edited and approved by <@U0ALEX>")
    assert "Wednesday 15:00" in after  # the card shows what ran


def test_reject_asks_for_a_reason_that_reaches_the_agent(worker, slack):
    job = start(slack, worker, "email Dana", "U0ALEX", text("Understood, not sending."))
    card = approval_in_thread(slack, job.id)
    slack.send.click("wm_reject", _buttons(card)["wm_reject"], user="U0DANA", message=card)  # an approver
    view = wait_until(lambda: slack.fake.calls("views.open"), what="the modal")[0].args["view"]
    empty = slack.send.submit(view, user="U0DANA",
                              values={"reason": {"v": {"type": "plain_text_input", "value": None}}})
    assert "reason" in empty.json()["errors"]
    slack.send.submit(view, user="U0DANA", values={"reason": {"v": {"type": "plain_text_input", "value": "too early"}}})
    wait_status(job.id, "completed")
    assert actions(job.id)[0].status == "rejected" and sent(actions(job.id)[0].id) == []
    assert "too early" in worker.requests[-1]["messages"][-1]["content"]
    assert "Reason: too early" in settled(slack, card, "Rejected by <@U0DANA>")


def test_feedback_asks_what_to_do_instead_and_the_agent_reads_it(worker, slack):
    job = start(slack, worker, "email Dana", "U0ALEX", text("Understood, I will ask about Wednesday instead."))
    card = approval_in_thread(slack, job.id)
    slack.send.click("wm_feedback", _buttons(card)["wm_feedback"], user="U0ALEX", message=card)
    view = wait_until(lambda: slack.fake.calls("views.open"), what="the modal")[0].args["view"]
    assert view["callback_id"] == "wm_feedback_submit"
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["feedback"]
    empty = slack.send.submit(view, user="U0ALEX",
                              values={"feedback": {"v": {"type": "plain_text_input", "value": "  "}}})
    assert empty.status_code == 200 and "feedback" in empty.json()["errors"]
    assert actions(job.id)[0].status == "pending"
    ok = slack.send.submit(view, user="U0ALEX",
                           values={"feedback": {"v": {"type": "plain_text_input", "value": "ask about Wednesday"}}})
    assert ok.status_code == 200 and ok.text == ""  # the modal closes
    again = slack.send.submit(view, user="U0ALEX",  # Slack's retry of the same submission
                              values={"feedback": {"v": {"type": "plain_text_input", "value": "ask about Wednesday"}}})
    assert again.status_code == 200 and again.text == ""
    wait_status(job.id, "completed")
    (action,) = actions(job.id)
    assert action.status == "rejected" and action.feedback == "ask about Wednesday" and sent(action.id) == []
    assert kinds(job.id).count("decided") == 1
    assert "ask about Wednesday" in worker.requests[-1]["messages"][-1]["content"]
    assert "ask about Wednesday" in settled(slack, card, "answered with feedback")


def test_a_decision_made_elsewhere_updates_the_slack_message(worker, slack, workspace):
    _, people = workspace
    job = start(slack, worker)
    card = approval_in_thread(slack, job.id)
    action = actions(job.id)[0]
    with Session(get_engine(), expire_on_commit=False) as s:  # what the web queue and the CLI call
        decide(session=s, action_id=action.id, actor=people["dana"], decision="reject", shown_hash=action.args_hash,
               reason="wrong person")
        s.commit()
    assert "Reason: wrong person" in settled(slack, card, "Rejected by <@U0DANA>")


def test_approvals_are_dmed_to_approvers_when_the_requester_is_not_one(worker, slack):
    job = start(slack, worker, "email Dana", "U0PRIYA")
    card = approval_in_thread(slack, job.id)
    dms = wait_until(lambda: len(slack.fake.in_channel("D0ALEX") + slack.fake.in_channel("D0DANA")) == 2
                     and slack.fake.in_channel("D0ALEX") + slack.fake.in_channel("D0DANA"), what="two DMs")
    assert all(_buttons(m) == _buttons(card) for m in dms)
    dana_dm = next(m for m in dms if m.channel == "D0DANA")
    slack.send.click("wm_approve", _buttons(dana_dm)["wm_approve"], user="U0DANA", message=dana_dm)
    wait_status(job.id, "completed")
    for copy in (card, *dms):
        settled(slack, copy, "Approved by <@U0DANA>")


def test_a_job_from_elsewhere_gets_its_approval_as_a_dm(worker, slack, workspace):
    from services.jobs.service import create_job

    _, people = workspace
    worker.push(tool_calls(SEND), text("Sent."))
    with Session(get_engine(), expire_on_commit=False) as s:
        job = create_job(session=s, principal=people["dana"], prompt="email about Q3", source="schedule")
        s.commit()
    wait_status(job.id, "waiting")
    dm = wait_until(lambda: slack.fake.in_channel("D0DANA"), what="the DM")[0]
    assert _buttons(dm) and slack.fake.in_channel("C0GENERAL") == []
    slack.send.click("wm_approve", _buttons(dm)["wm_approve"], user="U0DANA", message=dm)
    wait_status(job.id, "completed")
    settled(slack, dm, "Approved by <@U0DANA>")


def test_app_home_lists_approvals_jobs_and_schedules_and_decides_from_there(worker, slack, workspace):
    from services.schedules.service import add_schedule

    _, people = workspace
    with Session(get_engine()) as s:
        add_schedule(session=s, principal=people["alex"], kind="triage", when="weekdays 08:00")
        s.commit()
    job = start(slack, worker)
    slack.send.event({"type": "app_home_opened", "user": "U0ALEX", "channel": "D0ALEX", "tab": "home"})
    home = wait_until(lambda: slack.fake.calls("views.publish"), what="App Home")[-1].args
    shown = json.dumps(home["view"]["blocks"])
    assert home["user_id"] == "U0ALEX" and "Q3 review" in shown and job.id[:8] in shown
    assert "*triage* weekdays 08:00" in shown
    value = next(e["value"] for b in home["view"]["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == "wm_approve")
    slack.send.click("wm_approve", value, user="U0ALEX", home=True)
    wait_status(job.id, "completed")
    after = wait_until(lambda: len(slack.fake.calls("views.publish")) >= 2, what="home refreshed")
    assert after and "Nothing right now" in json.dumps(slack.fake.calls("views.publish")[-1].args["view"]["blocks"])


def test_malformed_interactions_get_a_clear_answer(worker, slack):
    job = start(slack, worker)
    card = approval_in_thread(slack, job.id)
    r = slack.send.click("wm_approve", "not-json", user="U0ALEX", message=card)
    assert r.status_code == 200
    told = wait_until(lambda: ephemerals(slack, "U0ALEX"), what="the notice")
    assert "That didn't work" in told[0] and "not one Workmode made" in told[0]
    view = {"id": "V1", "type": "modal", "callback_id": "wm_edit_submit", "private_metadata": "{broken",
            "blocks": [{"type": "input", "block_id": "f:body",
                        "element": {"type": "plain_text_input", "action_id": "v"}}]}
    bad = slack.send.submit(view, user="U0ALEX", values={})
    assert bad.json() == {"response_action": "errors",
                          "errors": {"f:body": "This form is broken; close it and click Edit again."}}
    no_actions = slack.send.interaction({"type": "block_actions", "user": {"id": "U0ALEX"}, "team": {"id": "T0NORTH"},
                                         "actions": "oops"})
    assert no_actions.status_code == 400 and "needs a list of actions" in no_actions.text
    assert actions(job.id)[0].status == "pending"
