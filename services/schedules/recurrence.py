"""When a schedule runs: a small, strict readable grammar mapped onto RFC 5545 recurrences, which
python-dateutil's rrule evaluates (no hand-written RRULE parser).

Readable forms (case-insensitive, an optional "at" before the time):
    daily 07:30 · every day 07:30 · weekdays 08:00 · weekends 10:00
    every Monday 09:00 · every mon,wed,fri 09:00 · mondays 09:00 · hourly (on the hour)
Anything else must be an RRULE ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0" or "RRULE:..."),
checked by dateutil.

The stored form (`Schedule.rrule`) is "DTSTART:<local wall time>\\nRRULE:<rule>": the rule runs on
the person's wall clock (naive times) and each slot is placed in `Schedule.time_zone` only when it
becomes an instant, so 08:00 stays 08:00 across DST. A wall time that does not exist (the hour the
clocks skip in spring) runs at the same distance past the change, i.e. an hour later by the clock
(01:30 in London on the last Sunday of March runs at 02:30 BST); a wall time that happens twice
(autumn) runs once, at its first occurrence.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.rrule import DAILY, MINUTELY, SECONDLY, rrule, rrulestr

from services.errors import Invalid

DAYS = {"mo": "MO", "tu": "TU", "we": "WE", "th": "TH", "fr": "FR", "sa": "SA", "su": "SU"}
DAY_NAMES = {"monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH", "friday": "FR",
             "saturday": "SA", "sunday": "SU", "mon": "MO", "tue": "TU", "tues": "TU", "wed": "WE",
             "thu": "TH", "thur": "TH", "thurs": "TH", "fri": "FR", "sat": "SA", "sun": "SU"}
TIME_RE = re.compile(r"^(?:at\s+)?([01]?\d|2[0-3])[:.h]([0-5]\d)$")
MAX_WHEN_CHARS = 300
# A standing request is not a cron job: at most every 15 minutes.
MIN_INTERVAL = timedelta(minutes=15)
EXAMPLES = '"weekdays 08:00", "every Monday 09:00", "daily 07:30" or an RRULE like "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9"'


class WhenInvalid(Invalid):
    def __init__(self, message: str):
        super().__init__(message, "when")


@dataclass(frozen=True)
class Recurrence:
    rule: str  # the RRULE part, without DTSTART ("FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=8;BYMINUTE=0;BYSECOND=0")

    def stored(self, anchor: datetime) -> str:
        """The canonical text kept in Schedule.rrule, anchored at a local wall time."""
        return f"DTSTART:{anchor.strftime('%Y%m%dT%H%M%S')}\nRRULE:{self.rule}"


def zone(name: str | None) -> ZoneInfo:
    """A time zone by its IANA name ("Europe/London"); a clear error otherwise."""
    value = (name or "").strip()
    if not value or (value not in available_timezones() and value != "UTC"):
        raise Invalid(f"time zone: {value!r} is not an IANA time zone name like Europe/London", "tz")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"time zone: {value!r} is not an IANA time zone name like Europe/London", "tz") from exc


def parse_when(text: str) -> Recurrence:
    """The readable form or an RRULE → a Recurrence; WhenInvalid (field "when") otherwise."""
    raw = " ".join((text or "").split())
    if not raw:
        raise WhenInvalid(f"when: say when, e.g. {EXAMPLES}")
    if len(raw) > MAX_WHEN_CHARS:
        raise WhenInvalid(f"when: at most {MAX_WHEN_CHARS} characters")
    upper = raw.upper()
    if upper.startswith(("RRULE:", "FREQ=")):
        return _from_rrule(raw.split(":", 1)[1] if upper.startswith("RRULE:") else raw)
    return _from_words(raw.lower())


def _at(hour: int, minute: int) -> str:
    return f"BYHOUR={hour};BYMINUTE={minute};BYSECOND=0"


def _from_words(text: str) -> Recurrence:
    if text == "hourly":
        return Recurrence("FREQ=HOURLY;BYMINUTE=0;BYSECOND=0")
    match = re.match(r"^(.*?)\s+(?:at\s+)?(\S+)$", text)
    if not match or not TIME_RE.match(match.group(2)):
        raise WhenInvalid(f"when: {text!r} is not a time I understand; try {EXAMPLES}")
    days_part, time_part = match.group(1).strip(), TIME_RE.match(match.group(2))
    assert time_part is not None
    at = _at(int(time_part.group(1)), int(time_part.group(2)))
    if days_part in ("daily", "every day", "everyday"):
        return Recurrence(f"FREQ=DAILY;{at}")
    if days_part in ("weekdays", "every weekday", "on weekdays"):
        return Recurrence(f"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;{at}")
    if days_part in ("weekends", "every weekend", "on weekends"):
        return Recurrence(f"FREQ=WEEKLY;BYDAY=SA,SU;{at}")
    words = days_part.removeprefix("every ").removeprefix("on ")
    names = [w for w in re.split(r"[\s,]+|\band\b", words) if w]
    days: list[str] = []
    for name in names:
        code = DAY_NAMES.get(name) or DAY_NAMES.get(name.removesuffix("s"))
        if code is None:
            raise WhenInvalid(f"when: {name!r} is not a day of the week; try {EXAMPLES}")
        if code not in days:
            days.append(code)
    if not days:
        raise WhenInvalid(f"when: say which days; try {EXAMPLES}")
    order = list(DAYS.values())
    return Recurrence(f"FREQ=WEEKLY;BYDAY={','.join(sorted(days, key=order.index))};{at}")


def _from_rrule(rule: str) -> Recurrence:
    rule = rule.strip().rstrip(";").upper()
    parts = dict(p.split("=", 1) for p in rule.split(";") if "=" in p)
    if "DTSTART" in rule or "COUNT" in parts:
        raise WhenInvalid("when: give the RRULE without DTSTART or COUNT (a schedule starts when it is added)")
    if "UNTIL" in parts:
        raise WhenInvalid("when: UNTIL is not supported; pause or remove the schedule instead")
    try:
        parsed = rrulestr(rule, dtstart=datetime(2024, 1, 1))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise WhenInvalid(f"when: not a valid RRULE ({exc}); try {EXAMPLES}") from exc
    if not isinstance(parsed, rrule):
        raise WhenInvalid("when: one RRULE only")
    freq = parsed._freq
    if freq in (SECONDLY, MINUTELY):
        raise WhenInvalid("when: at most every 15 minutes")
    # BYSECOND defaults to DTSTART's second (0); make the time of day explicit when the rule has none.
    if freq <= DAILY and "BYHOUR" not in parts:
        raise WhenInvalid("when: say the time of day (BYHOUR, and BYMINUTE), e.g. FREQ=DAILY;BYHOUR=7;BYMINUTE=30")
    if "BYMINUTE" not in parts:
        rule += ";BYMINUTE=0"
    if "BYSECOND" not in parts:
        rule += ";BYSECOND=0"
    checked = Recurrence(rule)
    _check_interval(checked)
    return checked


def _check_interval(rec: Recurrence) -> None:
    slots = list(_take(rule_of(rec.stored(datetime(2024, 1, 1))), datetime(2024, 1, 1), 50))
    if not slots:
        raise WhenInvalid("when: this rule never happens")
    if any(b - a < MIN_INTERVAL for a, b in itertools.pairwise(slots)):
        raise WhenInvalid("when: at most every 15 minutes")


def rule_of(stored: str) -> rrule:
    parsed = rrulestr(stored)
    assert isinstance(parsed, rrule)
    return parsed


def _take(rule: rrule, after: datetime, count: int) -> Iterator[datetime]:
    current = after
    for _ in range(count):
        nxt = rule.after(current)
        if nxt is None:
            return
        yield nxt
        current = nxt


def to_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """A local wall time → a UTC instant (fold=0: a skipped time lands after the change, a repeated
    time is its first occurrence)."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def slots_after(stored: str, tz_name: str, after: datetime) -> Iterator[datetime]:
    """The schedule's slots as UTC instants, strictly after `after`, in order, each once."""
    tz = zone(tz_name)
    if after.tzinfo is None:
        after = after.replace(tzinfo=UTC)
    rule = rule_of(stored)
    # Start a little before `after` on the wall clock: around a DST change wall time and UTC do not
    # move together, so the first slot after `after` may sit up to an hour "earlier" by the clock.
    wall = after.astimezone(tz).replace(tzinfo=None) - timedelta(hours=3)
    last: datetime | None = None
    while True:
        nxt = rule.after(wall)
        if nxt is None:
            return
        wall = nxt
        instant = to_instant(nxt, tz)
        if instant <= after or (last is not None and instant <= last):
            continue  # before the window, or a repeated wall time mapping onto an instant already given
        last = instant
        yield instant


def next_slot(stored: str, tz_name: str, after: datetime) -> datetime | None:
    return next(slots_after(stored, tz_name, after), None)


def anchor_for(now: datetime, tz_name: str) -> datetime:
    """DTSTART for a new schedule: local midnight of the day it is added (wall time, naive)."""
    local = now.astimezone(zone(tz_name))
    return local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)


def describe(rule_text: str) -> str:
    """The RRULE part of a stored rule, for display."""
    return rule_text.split("RRULE:", 1)[-1]
