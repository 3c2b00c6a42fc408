"""Block Kit for a job's message: the request, the plan as a checklist, the current step, tokens,
then the answer. Plus the small pieces every other view uses (escaping, dates, long text)."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Optional

from services.store.models import Job

SECTION_MAX = 2900  # Slack: section text ≤ 3000 characters
MAX_ANSWER_SECTIONS = 12

STATUS = {
    "queued": ":hourglass: Queued",
    "running": ":gear: Working",
    "waiting": ":raised_hand: Waiting",
    "completed": ":white_check_mark: Done",
    "failed": ":x: Failed",
    "cancelled": ":no_entry_sign: Cancelled",
    "expired": ":alarm_clock: Expired",
}
PLAN_ICON = {"done": ":white_check_mark:", "in_progress": ":arrow_forward:", "pending": ":white_medium_square:"}


def esc(value: Any) -> str:
    """Text for mrkdwn: Slack's three control characters escaped."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def short(job_id: str) -> str:
    return job_id[:8]


def clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def when(moment: Optional[datetime], fmt: str = "{date_short_pretty} at {time}") -> str:
    """A time every viewer sees in their own time zone (Slack's date formatting)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>"


def who(slack_id: Optional[str], name: str = "") -> str:
    return f"<@{slack_id}>" if slack_id else esc(name or "someone")


def markdown_to_mrkdwn(value: str) -> str:
    """The model writes Markdown; Slack reads mrkdwn. Escape, then the common constructs."""
    out = esc(value)
    out = re.sub(r"\*\*(.+?)\*\*", r"*\1*", out)
    out = re.sub(r"__(.+?)__", r"*\1*", out)
    out = re.sub(r"^#{1,6}\s+(.+)$", r"*\1*", out, flags=re.M)
    out = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", out)
    return out


def chunks(value: str, size: int = SECTION_MAX) -> list[str]:
    """Split long text at line breaks where possible."""
    parts: list[str] = []
    while len(value) > size:
        cut = value.rfind("\n", 0, size)
        cut = cut if cut > size // 2 else size
        parts.append(value[:cut])
        value = value[cut:].lstrip("\n")
    if value:
        parts.append(value)
    return parts


def section(textvalue: str, **extra: Any) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(textvalue, SECTION_MAX)}, **extra}


def context(*parts: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(p, 2900)} for p in parts if p][:10]}


def blocks_hash(blocks: list[dict], textvalue: str = "") -> str:
    return hashlib.sha256(json.dumps([blocks, textvalue], sort_keys=True).encode()).hexdigest()[:16]


def plan_lines(plan: Iterable[dict]) -> str:
    return "\n".join(f"{PLAN_ICON.get(s.get('status', ''), PLAN_ICON['pending'])} {esc(s.get('title', ''))}"
                     for s in plan)


def status_line(job: Job) -> str:
    label = STATUS.get(job.status, job.status)
    if job.status == "waiting":
        label += " for your answer (reply in this thread)" if job.waiting_for == "answer" else " for approval"
    return label


def job_card(job: Job, *, requester: str, current: str = "") -> tuple[list[dict], str]:
    """The job's one message (blocks, fallback text)."""
    title = (job.reply_to or {}).get("title") if job.source == "schedule" else None
    blocks: list[dict] = [
        section(f"{requester}'s schedule: *{esc(clip(title, 1500))}*" if title else
                f"{requester} asked: *{esc(clip(job.prompt, 1500))}*"),
    ]
    if job.plan:
        blocks.append(section("*Plan*\n" + plan_lines(job.plan)))
    facts = [status_line(job)]
    if current and job.status in ("queued", "running", "waiting"):
        facts.append(esc(current))
    facts.append(f"{job.total_tokens:,} tokens · {job.steps} steps · effort {job.reasoning_effort} "
                 f"· job `{short(job.id)}`")
    blocks.append(context(" · ".join(facts[:-1]), facts[-1]))
    if job.status == "completed" and job.result:
        parts = chunks(markdown_to_mrkdwn(job.result))
        blocks.extend(section(p) for p in parts[:MAX_ANSWER_SECTIONS])
        if len(parts) > MAX_ANSWER_SECTIONS:
            blocks.append(context(f"The answer is longer than Slack shows; "
                                  f"`workmode jobs show {job.id}` has all of it."))
    elif job.error and job.status in ("failed", "cancelled", "expired"):
        blocks.append(section(f"*{STATUS[job.status]}:* {esc(clip(job.error, 2500))}"))
    fallback = f"Workmode · {STATUS.get(job.status, job.status)} · {clip(title or job.prompt, 120)}"
    if job.status == "completed" and job.result:
        fallback += "\n" + clip(job.result, 3000)
    return blocks, fallback


def question(requester: str, textvalue: str) -> tuple[list[dict], str]:
    body = f"{requester} :speech_balloon: *Question:* {esc(textvalue)}"
    return [section(body), context("Reply in this thread to answer.")], f"Question: {clip(textvalue, 2000)}"
