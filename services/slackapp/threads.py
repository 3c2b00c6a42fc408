"""Answers to the agent's questions: the requester replies in the job's thread (Events API
`message` with `thread_ts`). A redelivered event (Slack's retries) answers nothing twice: the
message ts is remembered in the job's reply_to in the same transaction as the answer."""
from __future__ import annotations

from slack_bolt import App
from sqlmodel import col, select

from services.jobs.service import JobError, NotAllowed, answer_question
from services.slackapp.common import actor, log, session, unescape
from services.slackapp.identity import UnknownSlackUser
from services.slackapp.state import KEY, update_reply_to
from services.store.models import Job, JobStatus

IGNORED_SUBTYPES = {"bot_message", "message_changed", "message_deleted", "channel_join", "channel_leave"}


class _Seen(Exception):
    pass


def register(app: App) -> None:
    app.event("message")(on_message)


def on_message(event: dict, client, context) -> None:
    thread_ts, ts = event.get("thread_ts"), event.get("ts")
    if event.get("bot_id") or event.get("subtype") in IGNORED_SUBTYPES or not thread_ts or thread_ts == ts:
        return
    channel, user_id = event.get("channel"), event.get("user")
    with session() as s:
        waiting = s.exec(select(Job).where(Job.status == JobStatus.waiting, Job.waiting_for == "answer",
                                           col(Job.source).in_(("slack", "schedule")))).all()
        job = next((j for j in waiting if (j.reply_to or {}).get("channel") == channel
                    and (j.reply_to or {}).get("thread_ts") == thread_ts), None)
        if job is None:
            return
        try:
            person = actor(s, client, context)
        except UnknownSlackUser as exc:
            client.chat_postEphemeral(channel=channel, user=user_id, thread_ts=thread_ts, text=str(exc))
            return
        if person.id != job.principal_id:
            requester = (job.reply_to or {}).get("user")
            client.chat_postEphemeral(channel=channel, user=user_id, thread_ts=thread_ts, text=(
                f"Only <@{requester}> can answer this question; your message was not passed on."))
            return

        def remember(reply_to: dict) -> None:
            seen = reply_to.setdefault(KEY, {}).setdefault("answered", [])
            if ts in seen:
                raise _Seen
            reply_to[KEY]["answered"] = [*seen, ts][-50:]

        try:
            update_reply_to(s, job.id, remember)
            answer_question(session=s, job_id=job.id, actor=person, text=unescape(event.get("text") or ""))
            s.commit()
        except _Seen:
            s.rollback()
            log.info("message %s already answered job %s", ts, job.id)
        except (JobError, NotAllowed) as exc:
            s.rollback()
            client.chat_postEphemeral(channel=channel, user=user_id, thread_ts=thread_ts,
                                      text=f"That was not passed on: {exc}")
