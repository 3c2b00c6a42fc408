"""Turns the demo world's data into rows, with every date relative to `now`.

The calendar covers the current working week (next week's, on a weekend) and the one after, so
"next week" always has a full diary; mail, tickets and chat are dated in the recent past.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from connectors.sandbox.chat import make_ts
from connectors.sandbox.fixture_data import CHANNELS, CHAT, DMS, LONDON, PEOPLE, TICKETS, WEEKLY, WORKFLOW
from connectors.sandbox.fixture_mail import ALEX, THREADS
from connectors.sandbox.models import (
    SandboxChannel,
    SandboxChatMessage,
    SandboxComment,
    SandboxEvent,
    SandboxIssue,
    SandboxMailMessage,
    SandboxMailThread,
    SandboxProject,
    SandboxTransition,
)

ZONES = {email: tz for email, _name, tz, _slack, _roles in PEOPLE}


def local_at(now: datetime, days: int, hhmm: str, tz: str = LONDON) -> datetime:
    """`hhmm` local time in `tz`, `days` days from today (today as seen in `tz`)."""
    day = now.astimezone(ZoneInfo(tz)).date() + timedelta(days=days)
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=ZoneInfo(tz))


def first_monday(now: datetime) -> date:
    """Monday of the current working week, or of the next one on a weekend (London time)."""
    today = now.astimezone(ZoneInfo(LONDON)).date()
    if today.weekday() >= 5:
        return today + timedelta(days=7 - today.weekday())
    return today - timedelta(days=today.weekday())


def _mail_time(now: datetime, spec: dict) -> datetime:
    if "ago" in spec:
        return now - timedelta(minutes=spec["ago"])
    return min(local_at(now, spec["d"], spec["t"]), now - timedelta(minutes=5))


def mail(org_id: str, now: datetime) -> list[tuple[SandboxMailThread, list[SandboxMailMessage]]]:
    out = []
    for spec in THREADS:
        thread = SandboxMailThread(org_id=org_id, owner=ALEX, subject=spec["subject"])
        msgs: list[SandboxMailMessage] = []
        for i, m in enumerate(spec["messages"]):
            name, sender = m["from"]
            prev = msgs[-1] if msgs else None
            msgs.append(SandboxMailMessage(
                org_id=org_id, thread_id=thread.id, owner=ALEX, from_addr=sender, from_name=name,
                to_addrs=m.get("to", [ALEX]), cc_addrs=m.get("cc", []),
                subject=spec["subject"] if i == 0 else "Re: " + spec["subject"], body=m["body"],
                html_body=m.get("html"),
                labels=list(m["labels"]), date=_mail_time(now, m),
                message_id=f"<{uuid.uuid4().hex[:20]}@{sender.split('@')[1]}>",
                in_reply_to=prev.message_id if prev else None,
                references=[*prev.references, prev.message_id] if prev else []))
        thread.updated_at = msgs[-1].date
        out.append((thread, msgs))
    return out


def events(org_id: str, now: datetime) -> list[SandboxEvent]:
    monday, out = first_monday(now), []
    for week in (0, 1):
        for organiser, weekdays, start, end, summary, attendees, location in WEEKLY:
            tz = ZONES[organiser]
            for wd in weekdays:
                day = monday + timedelta(days=7 * week + wd)
                out.append(SandboxEvent(
                    org_id=org_id, calendar=organiser, summary=summary, attendees=list(attendees),
                    start=datetime.combine(day, time.fromisoformat(start), tzinfo=ZoneInfo(tz)),
                    end=datetime.combine(day, time.fromisoformat(end), tzinfo=ZoneInfo(tz)),
                    location=location, time_zone=tz, created_at=now - timedelta(days=30)))
    return out


def project(org_id: str) -> SandboxProject:
    return SandboxProject(org_id=org_id, key="OPS", name="Operations", lead=ALEX, next_number=len(TICKETS) + 1)


def transitions(project_id: str) -> list[SandboxTransition]:
    return [SandboxTransition(project_id=project_id, from_status=a, name=n, to_status=b) for a, n, b in WORKFLOW]


def tickets(org_id: str, proj: SandboxProject, now: datetime) -> list[tuple[SandboxIssue, list[SandboxComment]]]:
    out = []
    for n, (summary, kind, status, assignee, reporter, prio, labels, days, desc, comments) in enumerate(TICKETS, 1):
        created = min(local_at(now, -days, "10:00"), now - timedelta(hours=3))
        issue = SandboxIssue(
            org_id=org_id, project_id=proj.id, project_key=proj.key, number=n, key=f"{proj.key}-{n}",
            issue_type=kind, summary=summary, description=desc, status=status, assignee=assignee,
            reporter=reporter, labels=list(labels), priority=prio, created=created, updated=created)
        rows = []
        for author, ago_days, body in comments:
            when = min(max(local_at(now, -ago_days, "15:00"), created + timedelta(minutes=30)),
                       now - timedelta(minutes=30))
            rows.append(SandboxComment(org_id=org_id, issue_id=issue.id, author=author, body=body, created=when))
            issue.updated = max(issue.updated, when)
        if status != "To Do":
            issue.updated = max(issue.updated, min(created + timedelta(days=1), now - timedelta(hours=1)))
        out.append((issue, rows))
    return out


def channels(org_id: str, now: datetime) -> list[SandboxChannel]:
    rows = [SandboxChannel(id=cid, org_id=org_id, name=name, members=list(members), topic=topic,
                           created_at=now - timedelta(days=90)) for cid, name, members, topic in CHANNELS]
    rows += [SandboxChannel(id=cid, org_id=org_id, name="dm:" + ",".join(sorted(members)), is_dm=True,
                            members=sorted(members), created_at=now - timedelta(days=60)) for cid, members in DMS]
    return rows


def chat(org_id: str, now: datetime) -> list[SandboxChatMessage]:
    out = []
    for channel, user, ago, text, replies in CHAT:
        at = now - timedelta(minutes=ago)
        ts = make_ts(at)
        out.append(SandboxChatMessage(org_id=org_id, channel_id=channel, ts=ts, user=user, text=text, posted_at=at))
        for r_user, r_ago, r_text in replies:
            r_at = now - timedelta(minutes=r_ago)
            out.append(SandboxChatMessage(org_id=org_id, channel_id=channel, ts=make_ts(r_at), user=r_user,
                                          text=r_text, thread_ts=ts, posted_at=r_at))
    return out
