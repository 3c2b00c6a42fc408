"""The digest as an email draft, for a schedule whose delivery names "email": one
`gmail_create_draft` to the person, proposed with the run's other actions through the gate (it
waits for approval like any draft; nothing is sent). It lists each email triaged, its category and
how many proposals wait, and links to the run's page, where they are decided."""
from __future__ import annotations

from typing import Any

TOOL = "gmail_create_draft"
MAX_LINES = 100  # a long run: the page has the rest


def draft_arguments(*, run_id: str, to: str, public_url: str,
                    items: list[tuple[str, str, str | None, int]]) -> dict[str, Any]:
    """`items`: (subject, sender, category, proposals waiting) per email, in the run's order."""
    waiting = sum(n for *_rest, n in items)
    lines = [f"Inbox triage: {len(items)} new email(s), {waiting} proposal(s) waiting for your decision.",
             f"Decide them here: {public_url.rstrip('/')}/triage/{run_id}", ""]
    for subject, sender, category, n in items[:MAX_LINES]:
        more = f" — {n} proposal(s)" if n else ""
        lines.append(f"- [{category or 'unclassified'}] {subject or '(no subject)'} <{sender}>{more}")
    if len(items) > MAX_LINES:
        lines.append(f"… and {len(items) - MAX_LINES} more on the page.")
    return {"to": [to], "subject": f"Inbox triage digest: {len(items)} email(s)", "body": "\n".join(lines)}
