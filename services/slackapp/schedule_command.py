"""`/work schedule …`: add, list, pause, resume, remove, run now — answered ephemerally, no thread.

    /work schedule add triage weekdays 08:00
    /work schedule add report every Monday 09:00 OPS tickets that changed last week, #support highlights
    /work schedule add request FREQ=WEEKLY;BYDAY=FR;BYHOUR=16 summarise what I shipped --deliver slack,email
    /work schedule list · pause <id> · resume <id> · remove <id> · run-now <id>
The time ends the readable "when" (it always ends with HH:MM; "hourly" and an RRULE are one word);
whatever follows is the prompt."""
from __future__ import annotations

import re

from sqlmodel import Session

from services.errors import Invalid, WorkmodeError
from services.schedules import service
from services.schedules.recurrence import TIME_RE
from services.slackapp import blocks as b
from services.store.models import Principal, Schedule

USAGE = (
    "*Schedules* run work for you at set times, in your time zone:\n"
    "• `/work schedule add triage weekdays 08:00`\n"
    "• `/work schedule add report every Monday 09:00 OPS tickets that changed last week, #support highlights`\n"
    "• `/work schedule add request daily 17:30 summarise today's customer mail --deliver slack,email`\n"
    "  (when: `weekdays 08:00`, `every Monday 09:00`, `daily 07:30`, `hourly`, or an RRULE like "
    "`FREQ=WEEKLY;BYDAY=MO;BYHOUR=9`)\n"
    "• `/work schedule list`, `/work schedule pause|resume|remove|run-now <id>`"
)
_RRULE = re.compile(r"^(RRULE:)?FREQ=\S+$", re.I)


def split_add(words: list[str]) -> tuple[str, str, str, str | None]:
    """["triage", "weekdays", "08:00", ...] → (kind, when, prompt, deliver)."""
    deliver = None
    if "--deliver" in words:
        at = words.index("--deliver")
        if at + 1 >= len(words):
            raise Invalid("deliver: say where, e.g. `--deliver slack,web,email`", "deliver")
        deliver = words[at + 1]
        words = words[:at] + words[at + 2:]
    if not words:
        raise Invalid("kind: say triage, report or request first", "kind")
    kind, rest = words[0].lower(), words[1:]
    if rest and (_RRULE.match(rest[0]) or rest[0].lower() == "hourly"):
        return kind, rest[0], " ".join(rest[1:]), deliver
    for i, word in enumerate(rest):
        if TIME_RE.match(word.lower()):
            return kind, " ".join(rest[: i + 1]), " ".join(rest[i + 1:]), deliver
    raise Invalid("when: end it with a time, e.g. `weekdays 08:00`, or give an RRULE", "when")


def line(sc: Schedule) -> str:
    state = f"next {b.when(sc.next_run_at)}" if sc.enabled else "paused"
    prompt = f" · {b.esc(b.clip(sc.prompt, 80))}" if sc.prompt else ""
    icon = ":large_green_circle:" if sc.enabled else ":white_circle:"
    return f"{icon} `{sc.id[:8]}` *{b.esc(sc.kind)}* {b.esc(sc.when_text)} ({b.esc(sc.time_zone)}) · {state}{prompt}"


def handle(s: Session, person: Principal, text: str) -> str:
    words = text.split()
    verb = words[0].lower() if words else "help"
    try:
        if verb in ("help", "?"):
            return USAGE
        if verb == "list":
            found = service.list_schedules(session=s, principal=person)
            return ("*Your schedules*\n" + "\n".join(line(sc) for sc in found)) if found else (
                "You have no schedules. " + USAGE)
        if verb == "add":
            kind, when, prompt, deliver = split_add(words[1:])
            sc = service.add_schedule(session=s, principal=person, kind=kind, when=when, prompt=prompt or None,
                                      delivery=deliver)
            s.commit()
            return f"Added: {line(sc)}"
        if verb in ("pause", "resume", "remove", "run-now") and len(words) == 2:
            if verb == "run-now":
                run = service.run_now(session=s, principal=person, ref=words[1])
                s.commit()
                return f"Started `{words[1]}` now" + (f" (job `{b.short(run.job_id)}`)." if run.job_id else ".")
            do = {"pause": service.pause, "resume": service.resume, "remove": service.remove}[verb]
            sc = do(session=s, principal=person, ref=words[1])
            s.commit()
            return f"{verb.capitalize()}d: {line(sc)}" if verb != "remove" else f"Removed `{sc.id[:8]}`."
        return f"I didn't understand `{b.esc(text)}`.\n{USAGE}"
    except WorkmodeError as exc:
        s.rollback()
        return f"Nothing changed: {b.esc(exc.message)}"
