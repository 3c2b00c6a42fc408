"""Finding common free slots: a pure function over busy intervals, shared by the sandbox and the
Google Calendar connector.

All arithmetic is on aware datetimes (absolute time); each person's working hours are checked in
their own time zone with `astimezone`, so a daylight-saving change in any zone moves that person's
hours correctly. Candidates step on a 15-minute grid of absolute time, which stays on local
quarter-hours in every zone whose offset is a multiple of 15 minutes (all of them today).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]
STEP = timedelta(minutes=15)


@dataclass(frozen=True)
class WorkingHours:
    start: time = time(9, 0)
    end: time = time(17, 30)
    days: frozenset[int] = frozenset(range(5))  # Monday=0 … Friday=4

    def contains(self, start: datetime, end: datetime, tz: str) -> bool:
        a, b = start.astimezone(ZoneInfo(tz)), end.astimezone(ZoneInfo(tz))
        return a.weekday() in self.days and a.date() == b.date() and a.time() >= self.start and b.time() <= self.end


DEFAULT_HOURS = WorkingHours()


def merge_busy(intervals: Iterable[Interval], pad: timedelta = timedelta(0)) -> list[Interval]:
    """Sorted, merged busy intervals, each widened by `pad` on both sides (the buffer)."""
    merged: list[list[datetime]] = []
    for lo, hi in sorted((a - pad, b + pad) for a, b in intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def find_slots(
    *, window_start: datetime, window_end: datetime, duration: timedelta,
    busy: Mapping[str, Iterable[Interval]], zones: Mapping[str, str], buffer: timedelta = timedelta(0),
    max_results: int = 10, hours: Optional[Mapping[str, WorkingHours]] = None, step: timedelta = STEP,
) -> list[Interval]:
    """Non-overlapping slots of `duration` in [window_start, window_end], earliest first, when every
    person in `zones` is inside their working hours (in their zone) and free, with `buffer` of free
    time before and after. `busy` maps a person to raw busy intervals (merged and padded here)."""
    padded = {p: merge_busy(busy.get(p, ()), buffer) for p in zones}
    hours = hours or {}
    slots: list[Interval] = []
    epoch = datetime(2000, 1, 1, tzinfo=window_start.tzinfo)
    s = window_start + (-(window_start - epoch)) % step  # first grid point at or after the start
    while s + duration <= window_end and len(slots) < max_results:
        e = s + duration
        ok = all(hours.get(p, DEFAULT_HOURS).contains(s, e, tz) and not any(a < e and s < b for a, b in padded[p])
                 for p, tz in zones.items())
        if ok:
            slots.append((s, e))
            s = e
        else:
            s += step
    return slots


def describe(start: datetime, end: datetime, tz: str) -> str:
    """A slot as a person in `tz` reads it, e.g. 'Mon 10 Mar 09:00–09:30 EDT (America/New_York)'."""
    a, b = start.astimezone(ZoneInfo(tz)), end.astimezone(ZoneInfo(tz))
    return f"{a:%a %d %b %H:%M}–{b:%H:%M} {a.tzname()} ({tz})"
