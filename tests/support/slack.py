"""Helpers for the Slack app tests: the jobs that came from Slack, and a job's message in Slack."""
from __future__ import annotations

from sqlmodel import Session, select

from services.store.db import get_engine
from services.store.models import Job
from tests.fakes.slack_api import SlackMessage
from tests.support.jobs import wait_until


def slack_jobs() -> list[Job]:
    with Session(get_engine(), expire_on_commit=False) as s:
        return list(s.exec(select(Job).where(Job.source == "slack")))


def one_job() -> Job:
    return wait_until(lambda: (slack_jobs() or [None])[0], what="the Slack job")


def card(slack, job_id: str) -> SlackMessage:
    """The job's one message, once the notifier posted it."""
    def posted():
        reply = next(j for j in slack_jobs() if j.id == job_id).reply_to
        return slack.fake.message(reply["channel"], reply["ts"]) if reply.get("ts") else None

    return wait_until(posted, what="the job's message")


def buttons(message: SlackMessage) -> dict[str, str]:
    """An approval card's buttons: action id -> value (empty once it is decided)."""
    return {e["action_id"]: e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]}
