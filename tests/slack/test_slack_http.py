"""Slack's requests at the door: bolt verifies signatures and timestamps, malformed bodies get a
clear 4xx, and the same app also runs over Socket Mode."""
from __future__ import annotations

import json
import time

from click.testing import CliRunner
from sqlmodel import Session, select

from services.store.db import get_engine
from services.store.models import Job
from tests.fakes.model_server import text
from tests.fakes.slack_api import TEAM
from tests.support.jobs import wait_status, wait_until

FORM = "application/x-www-form-urlencoded"


def jobs() -> list[Job]:
    with Session(get_engine()) as s:
        return list(s.exec(select(Job)))


def test_forged_stale_and_tampered_requests_are_rejected(slack, workspace):
    body = slack.send.command_body("send the Q3 numbers to everyone")
    forged = slack.send.post(body, FORM, signature="v0=" + "0" * 64)
    stale = slack.send.post(body, FORM, ts=int(time.time()) - 6 * 60)
    stamp = int(time.time())
    tampered = slack.send.post(body.replace("everyone", "attacker%40evil.example"), FORM, ts=stamp,
                               signature=slack.send.sign(body, str(stamp)))
    unsigned = slack.http.post("/slack/events", content=body, headers={"Content-Type": FORM})
    assert [r.status_code for r in (forged, stale, tampered, unsigned)] == [401, 401, 401, 401]
    assert jobs() == [] and slack.fake.calls_made == []


def test_url_verification_and_malformed_bodies(slack):
    challenge = slack.send.post(json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"}),
                                "application/json")
    assert challenge.status_code == 200 and challenge.json() == {"challenge": "c-123"}
    for body, ctype in (("payload=%7Bnot-json", FORM), ("{not json", "application/json")):
        r = slack.send.post(body, ctype)
        assert r.status_code == 400 and "malformed Slack request" in r.json()["error"]
    odd = slack.send.post(json.dumps({"type": "event_callback", "team_id": TEAM, "event": "nope"}), "application/json")
    assert odd.status_code == 400 and "needs an event object" in odd.text
    unknown = slack.send.post("hello=world", FORM)
    assert unknown.status_code == 404 and "not a Slack request Workmode handles" in unknown.json()["error"]


def test_not_configured_says_what_to_set(monkeypatch, slack):
    from services.config import reset_settings

    monkeypatch.setenv("WORKMODE_SLACK_SIGNING_SECRET", "")
    reset_settings()
    r = slack.send.command("hello")
    assert r.status_code == 503 and "WORKMODE_SLACK_SIGNING_SECRET" in r.json()["error"]


def test_socket_mode_runs_the_same_app(worker, slack, monkeypatch):
    from slack_bolt.adapter.socket_mode.internals import run_bolt_app
    from slack_sdk.socket_mode.request import SocketModeRequest

    from services.slackapp.app import build_app

    worker.push(text("Done over Socket Mode."))
    app = build_app(socket_mode=True)
    payload = {"team_id": TEAM, "channel_id": "C0GENERAL", "user_id": "U0ALEX", "command": "/work",
               "text": "what's on today", "trigger_id": "trig.socket", "response_url": slack.fake.response_url("s")}
    response = run_bolt_app(app, SocketModeRequest(type="slash_commands", envelope_id="env-1", payload=payload))
    assert response.status == 200  # acknowledged (no signature in Socket Mode: the socket is authenticated)
    job = wait_until(lambda: jobs(), what="the job")[0]
    assert job.source == "slack" and job.reply_to["trigger_id"] == "trig.socket"
    wait_status(job.id, "completed")


def test_the_socket_command_says_what_it_needs(monkeypatch):
    from services.cli import main

    result = CliRunner().invoke(main, ["slack"])
    assert result.exit_code == 2 and "workmode slack --socket" in result.output
    result = CliRunner().invoke(main, ["slack", "--socket"])
    assert result.exit_code == 2 and "WORKMODE_SLACK_APP_TOKEN" in result.output
