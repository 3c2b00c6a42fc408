"""The notifier: bring one job's Slack messages up to date with the store (run by the
`workmode.notify.job` task, one at a time per job).

- A job from Slack, or a scheduled job delivered as a DM (`reply_to["slack_dm"]`, posted in the
  person's DM on the first run): its one message (posted on the first run; the plan, current step, tokens,
  then the answer), edited at most every `slack_update_interval_s` (a later run is scheduled
  instead, so a busy job cannot hit Slack's rate limits; the final state is shown at once).
- Its questions, posted in the thread (the person answers by replying there).
- Approvals: posted in the thread, and DMed to the people in `dm_recipients`; when decided (in
  Slack, on the web or in the CLI) every copy is edited to say who decided, and the buttons go.
- Nudges (`_nudges`): the reminders and daily summaries services/approvals/reminders.py records,
  DMed to the people they name, a word to the requester when an approval expired, and a hand-over
  (`approval_reassigned`, services/admin/people.py::deactivate: its requester was deactivated) DMed
  to every approver it names, with the approval card for those who did not have it yet; each event
  once (the highest event id sent is kept in the Slack state).
Slack's 429 schedules a later run after Retry-After; nothing here sleeps.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any, Optional

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from services.config import get_settings
from services.jobs import notify
from services.jobs.tool_names import ASK_USER
from services.jobs.transcript import unanswered_calls
from services.policy import is_approver, named_approvers
from services.slackapp import blocks as b
from services.slackapp.approval_blocks import approval_card
from services.slackapp.client import web_client
from services.slackapp.state import KEY, notify_lock, slack_state, update_reply_to
from services.store.db import get_engine
from services.store.models import FINAL_JOB_STATUSES, Action, Event, Job, Organisation, Principal

log = logging.getLogger(__name__)
BUSY_RETRY_S = 0.5
NUDGES = ("approval_reminded", "approvals_summary", "approval_expired", "approval_reassigned")
MOVED = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "cannot_reply_to_message"}
STEP_TEXT = {
    "tool_called": "read {tool}", "tool_failed": "{tool} failed; trying another way",
    "plan_updated": "updated the plan", "approval_requested": "waiting for approval: {tool}",
    "auto_approved": "running {tool} (approved by policy)", "action_succeeded": "{tool} done",
    "action_failed": "{tool} failed", "question_asked": "asked: {question}", "answered": "got the answer",
    "decided": "decision recorded", "model_unavailable": "the model is busy; retrying shortly",
}


def sync_job(job_id: str) -> str:
    if not notify.enabled():
        return "disabled"
    again: float | None
    with notify_lock(job_id) as got:
        if not got:
            again, outcome = BUSY_RETRY_S, "busy"
        else:
            with Session(get_engine(), expire_on_commit=False) as session:
                job = session.get(Job, job_id)
                if job is None:
                    return "gone"
                syncer = Syncer(session, job, web_client(retry_rate_limits=False))
                outcome = syncer.run()
                update_reply_to(session, job_id, syncer.merge_into)
                session.commit()
                again = syncer.again
    if again is not None:
        notify.enqueue(job_id, countdown=again)
    return outcome


class Syncer:
    _dms: list[str]  # who gets approvals as DMs, once worked out (_dm_recipients)

    def __init__(self, session: Session, job: Job, client: WebClient):
        self.s, self.job, self.client = session, job, client
        self.reply = dict(job.reply_to or {})
        self.state = slack_state(job.reply_to)
        self.top: dict[str, Any] = {}  # top-level reply_to keys to set (ts, channel)
        self.again: Optional[float] = None
        self.requester = session.get_one(Principal, job.principal_id)
        self.threaded = notify.followed_in_slack(job.source, self.reply)  # the job has its own message
        self.mention = b.who(self.reply.get("user") or self.requester.slack_user_id,
                             self.requester.name or self.requester.email)

    # ------------------------------------------------------------------ run
    def run(self) -> str:
        try:
            if self.threaded and not self.reply.get("ts"):
                self._post_card()
            if self.threaded and self.reply.get("ts"):
                self._questions()
            self._approvals()
            self._nudges()
            if self.threaded and self.reply.get("ts"):
                self._update_card()
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                self.again = float(exc.response.headers.get("Retry-After", 1) or 1)
                return "rate_limited"
            log.warning("Slack refused an update of job %s: %s", self.job.id, exc.response.get("error"))
            return f"slack error: {exc.response.get('error')}"
        except Exception as exc:
            failures = self.state.get("failures", 0) + 1
            self.state["failures"] = failures
            if failures <= 5:
                self.again = min(2.0**failures, 60.0)
            log.warning("could not reach Slack for job %s (%s: %s)", self.job.id, type(exc).__name__, exc)
            return "unreachable"
        self.state.pop("failures", None)
        return "ok"

    def merge_into(self, reply_to: dict[str, Any]) -> None:
        """Write our keys back; keep what others wrote meanwhile (e.g. answered message ts)."""
        reply_to.update(self.top)
        current = reply_to.setdefault(KEY, {})
        for key in ("card", "approvals", "questions", "failures", "nudged"):
            if key in self.state:
                current[key] = self.state[key]
            else:
                current.pop(key, None)

    # ------------------------------------------------------------------ the job's message
    def _post_card(self) -> None:
        blocks, fallback = b.job_card(self.job, requester=self.mention, current=self._current())
        channel = self.reply.get("channel")
        if not channel:  # a scheduled job delivered as a DM: open the person's DM
            slack_id = self.reply.get("user") or self.requester.slack_user_id or self._lookup(self.requester.email)
            if not slack_id:
                log.warning("job %s: no Slack account for %s; the answer is on the web only", self.job.id,
                            self.requester.email)
                self.threaded = False
                return
            channel = self._dm(slack_id)
        try:
            resp = self.client.chat_postMessage(channel=channel, blocks=blocks, text=fallback)
        except SlackApiError as exc:
            if exc.response.get("error") not in MOVED or not self.reply.get("user"):
                raise
            channel = self._dm(self.reply["user"])
            resp = self.client.chat_postMessage(channel=channel, blocks=blocks, text=fallback)
            self._tell_moved(exc.response.get("error"))
        ts = resp["ts"]
        self.top.update(channel=resp["channel"], ts=ts, thread_ts=ts)
        self.reply.update(self.top)
        self.state["card"] = {"hash": b.blocks_hash(blocks, fallback), "at": time.time()}

    def _tell_moved(self, error: str) -> None:
        url = self.reply.get("response_url")
        if not url:
            return
        from slack_sdk.webhook import WebhookClient

        WebhookClient(url, timeout=10).send(response_type="ephemeral", replace_original=False, text=(
            f"I can't post in this conversation ({error}); invite me with `/invite @Workmode` next time. "
            "I'll keep you posted in our direct messages."))

    def _update_card(self) -> None:
        blocks, fallback = b.job_card(self.job, requester=self.mention, current=self._current())
        digest = b.blocks_hash(blocks, fallback)
        card = self.state.setdefault("card", {})
        if digest == card.get("hash"):
            return
        now = time.time()
        due = card.get("at", 0) + get_settings().slack_update_interval_s
        if self.job.status not in FINAL_JOB_STATUSES and now < due:
            if card.get("deferred_until", 0) < now:  # no later run scheduled yet
                card["deferred_until"] = due
                self.again = due - now
            return
        self.client.chat_update(channel=self.reply["channel"], ts=self.reply["ts"], blocks=blocks, text=fallback)
        card.update(hash=digest, at=now, deferred_until=0)

    def _current(self) -> str:
        recent = self.s.exec(select(Event).where(Event.job_id == self.job.id)
                             .order_by(col(Event.id).desc()).limit(4)).all()
        for event in recent:
            template = STEP_TEXT.get(event.kind)
            if template:
                data = {"tool": event.data.get("tool", "a tool"),
                        "question": b.clip(str(event.data.get("question", "")), 200)}
                return template.format(**data)
        return ""

    # ------------------------------------------------------------------ questions
    def _questions(self) -> None:
        posted = self.state.setdefault("questions", {})
        for call in unanswered_calls(self.s, self.job.id):
            if call["name"] != ASK_USER or call["id"] in posted:
                continue
            question = json.loads(call.get("arguments") or "{}").get("question", "")
            blocks, fallback = b.question(self.mention, question)
            resp = self.client.chat_postMessage(channel=self.reply["channel"], thread_ts=self.reply["ts"],
                                                blocks=blocks, text=fallback)
            posted[call["id"]] = resp["ts"]

    # ------------------------------------------------------------------ approvals
    def _approvals(self) -> None:
        actions = self.s.exec(select(Action).where(Action.job_id == self.job.id).order_by(col(Action.created_at))).all()
        known = self.state.setdefault("approvals", {})
        for action in actions:
            entry = known.get(action.id)
            if entry is None and action.status != "pending":
                continue
            blocks, fallback = approval_card(action, self.job, requester=self.mention,
                                             requester_tz=self.requester.time_zone, person=self._person)
            digest = b.blocks_hash(blocks, fallback)
            if entry is None:
                entry = known[action.id] = {"msgs": [], "hash": digest, "dms": [], "thread": False}
            if action.status == "pending":
                if self.threaded and self.reply.get("ts") and not entry["thread"]:
                    resp = self.client.chat_postMessage(channel=self.reply["channel"], thread_ts=self.reply["ts"],
                                                        blocks=blocks, text=fallback)
                    entry["msgs"].append([resp["channel"], resp["ts"]])
                    entry["thread"] = True
                for slack_id in self._dm_recipients():
                    if slack_id in entry["dms"]:
                        continue
                    resp = self.client.chat_postMessage(channel=self._dm(slack_id), blocks=blocks, text=fallback)
                    entry["msgs"].append([resp["channel"], resp["ts"]])
                    entry["dms"].append(slack_id)
            if digest != entry["hash"]:
                for channel, ts in entry["msgs"]:
                    self.client.chat_update(channel=channel, ts=ts, blocks=blocks, text=fallback)
                entry["hash"] = digest

    # ------------------------------------------------------------------ reminders, summaries, expiry
    def _nudges(self) -> None:
        after = int(self.state.get("nudged", 0))
        for event in self.s.exec(select(Event).where(Event.job_id == self.job.id, col(Event.kind).in_(NUDGES),
                                                     col(Event.id) > after).order_by(col(Event.id))).all():
            if event.kind == "approval_reminded":
                self._remind(event)
            elif event.kind == "approvals_summary":
                self._summary(event)
            elif event.kind == "approval_reassigned":
                self._handed_over(event)
            else:
                self._tell_expired(event)
            self.state["nudged"] = event.id  # sent: a later run starts after it

    def _title(self, action: Action) -> str:
        return b.esc(b.clip((action.preview or {}).get("title") or action.tool, 200))

    def _remind(self, event: Event) -> None:
        action = self.s.get(Action, event.action_id) if event.action_id else None
        if action is None or action.status != "pending":
            return  # decided since: nothing to nudge about
        hours = max(1, round(int(event.data.get("waited_s") or 0) / 3600))
        soon = event.data.get("interval") == "before_expiry"
        text = (f":alarm_clock: Reminder: *{self._title(action)}* for {self.mention}'s job `{b.short(self.job.id)}` "
                f"has waited {hours}h for a decision. "
                + (f"It expires {b.when(action.expires_at)}: decide before then, or nothing runs."
                   if soon else f"It expires {b.when(action.expires_at)}.")
                + " Decide in the approval message, in App Home or on the web queue.")
        for person in self.s.exec(select(Principal).where(col(Principal.id).in_(event.data.get("approvers") or []))):
            slack_id = person.slack_user_id or self._lookup(person.email)
            if slack_id:
                self.client.chat_postMessage(channel=self._dm(slack_id), text=text)

    def _summary(self, event: Event) -> None:
        person = self.s.get(Principal, event.data.get("principal") or "")
        slack_id = (person.slack_user_id or self._lookup(person.email)) if person else None
        items = event.data.get("items") or []
        pending = {a.id for a in self.s.exec(select(Action).where(
            col(Action.id).in_([i.get("action_id") for i in items]), Action.status == "pending"))}
        items = [i for i in items if i.get("action_id") in pending]
        if not slack_id or not items:
            return
        lines = [f"• *{b.esc(b.clip(str(i.get('title') or i.get('tool')), 150))}* (job `{b.short(i['job_id'])}`), "
                 f"waiting since {b.when(datetime.fromisoformat(i['since']))}" for i in items]
        more = int(event.data.get("count") or 0) - len(items)
        text = (f":inbox_tray: Waiting for you: {len(items)} approval{'s' if len(items) != 1 else ''}\n"
                + "\n".join(lines) + (f"\n…and {more} more on the web queue." if more > 0 else ""))
        self.client.chat_postMessage(channel=self._dm(slack_id), text=text)

    def _handed_over(self, event: Event) -> None:
        """The requester was deactivated: tell each approver the event names (by policy or by role)
        that the approval is now theirs to decide, and DM the card (with its buttons) to those who
        did not get it when it was requested; the card's copies are edited when it is decided."""
        action = self.s.get(Action, event.action_id) if event.action_id else None
        if action is None or action.status != "pending":
            return  # decided (or expired) since: nothing to hand over
        entry = self.state.get("approvals", {}).get(action.id)  # written by _approvals in this run
        blocks, fallback = approval_card(action, self.job, requester=self.mention,
                                         requester_tz=self.requester.time_zone, person=self._person)
        why = b.esc(b.clip(str(event.data.get("reason") or "its requester was deactivated"), 200))
        text = (f":arrow_right: {why}: the approval for *{self._title(action)}* (job `{b.short(self.job.id)}`) "
                f"is now for you and the other approvers to decide. It expires {b.when(action.expires_at)}. "
                "Decide in the approval message, in App Home or on the web queue.")
        for person in self.s.exec(select(Principal).where(col(Principal.id).in_(event.data.get("approvers") or []))):
            slack_id = person.slack_user_id or self._lookup(person.email)
            if not slack_id:
                continue
            channel = self._dm(slack_id)
            self.client.chat_postMessage(channel=channel, text=text)
            if entry is not None and slack_id not in entry["dms"]:
                resp = self.client.chat_postMessage(channel=channel, blocks=blocks, text=fallback)
                entry["msgs"].append([resp["channel"], resp["ts"]])
                entry["dms"].append(slack_id)

    def _tell_expired(self, event: Event) -> None:
        action = self.s.get(Action, event.action_id) if event.action_id else None
        if action is None:
            return
        text = (f":alarm_clock: {self.mention}, the approval for *{self._title(action)}* "
                f"(job `{b.short(self.job.id)}`) expired without a decision: nothing ran, and the agent has been told.")
        if self.job.source == "slack" and self.reply.get("ts"):
            self.client.chat_postMessage(channel=self.reply["channel"], thread_ts=self.reply["ts"], text=text)
            return
        slack_id = self.requester.slack_user_id or self._lookup(self.requester.email)
        if slack_id:
            self.client.chat_postMessage(channel=self._dm(slack_id), text=text)

    def _dm_recipients(self) -> list[str]:
        """Who gets an approval as a DM: the requester when the job has no Slack thread; and the
        organisation's named approvers when the requester is not one of them."""
        if hasattr(self, "_dms"):
            return self._dms
        org = self.s.get_one(Organisation, self.job.org_id)
        named = named_approvers(org)
        people: list[Principal] = []
        # A triage job's proposals reach its person in the run's digest (services/slackapp/digest.py),
        # one message with every item's buttons, not as one DM per proposal.
        if not (self.threaded and self.reply.get("ts")) and self.job.kind != "triage":
            people.append(self.requester)
        if named and not is_approver(org, self.requester):
            people += self.s.exec(select(Principal).where(Principal.org_id == org.id,
                                                          col(Principal.email).in_(sorted(named)))).all()
        ids: list[str] = []
        for person in people:
            slack_id = person.slack_user_id or self._lookup(person.email)
            if slack_id and slack_id not in ids:
                ids.append(slack_id)
        self._dms = ids
        return ids

    def _lookup(self, email: str) -> Optional[str]:
        try:
            return self.client.users_lookupByEmail(email=email)["user"]["id"]
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                raise
            return None

    def _dm(self, slack_id: str) -> str:
        return self.client.conversations_open(users=slack_id)["channel"]["id"]

    def _person(self, principal_id: Optional[str]) -> tuple[Optional[str], str]:
        person = self.s.get(Principal, principal_id) if principal_id and principal_id != "policy" else None
        if person is None:
            return None, principal_id or ""
        return person.slack_user_id, person.name or person.email
