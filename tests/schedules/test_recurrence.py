"""When schedules run: the readable grammar and RRULEs (python-dateutil), and slots on the
person's wall clock across the DST changes of Europe/London and America/New_York."""
from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice

import pytest

from services.errors import Invalid
from services.schedules.recurrence import anchor_for, parse_when, slots_after


def slots(when: str, tz: str, after: datetime, n: int) -> list[str]:
    stored = parse_when(when).stored(anchor_for(after, tz))
    return [s.strftime("%Y-%m-%d %H:%M") for s in islice(slots_after(stored, tz, after), n)]


def test_weekdays_at_eight_in_london_across_the_march_change():
    # Clocks go forward on Sunday 30 March 2025: 08:00 is 08:00 UTC before, 07:00 UTC after.
    assert slots("weekdays 08:00", "Europe/London", datetime(2025, 3, 27, 12, tzinfo=UTC), 3) == [
        "2025-03-28 08:00", "2025-03-31 07:00", "2025-04-01 07:00"]


def test_weekdays_at_eight_in_london_across_the_october_change():
    # Clocks go back on Sunday 26 October 2025.
    assert slots("weekdays 08:00", "Europe/London", datetime(2025, 10, 23, 12, tzinfo=UTC), 3) == [
        "2025-10-24 07:00", "2025-10-27 08:00", "2025-10-28 08:00"]


def test_new_york_across_the_march_and_november_changes():
    # US: forward on Sunday 9 March 2025, back on Sunday 2 November 2025. 09:00 EST = 14:00 UTC, EDT = 13:00 UTC.
    assert slots("every Monday 09:00", "America/New_York", datetime(2025, 3, 1, tzinfo=UTC), 3) == [
        "2025-03-03 14:00", "2025-03-10 13:00", "2025-03-17 13:00"]
    assert slots("every Monday 09:00", "America/New_York", datetime(2025, 10, 25, tzinfo=UTC), 2) == [
        "2025-10-27 13:00", "2025-11-03 14:00"]


def test_same_rule_different_zones_are_different_instants():
    after = datetime(2025, 3, 20, tzinfo=UTC)  # between the US (9 March) and EU (30 March) changes
    assert slots("daily 07:30", "Europe/London", after, 1) == ["2025-03-20 07:30"]
    assert slots("daily 07:30", "America/New_York", after, 1) == ["2025-03-20 11:30"]


def test_a_skipped_wall_time_runs_once_after_the_change_and_a_repeated_one_runs_once():
    # 01:30 does not exist in London on 30 March 2025 (01:00 → 02:00): it runs at 02:30 BST (01:30 UTC).
    assert slots("daily 01:30", "Europe/London", datetime(2025, 3, 29, 2, tzinfo=UTC), 3) == [
        "2025-03-30 01:30", "2025-03-31 00:30", "2025-04-01 00:30"]
    # 01:30 happens twice on 2 November 2025 in New York: once, at the first (EDT, 05:30 UTC).
    assert slots("daily 01:30", "America/New_York", datetime(2025, 11, 1, 12, tzinfo=UTC), 3) == [
        "2025-11-02 05:30", "2025-11-03 06:30", "2025-11-04 06:30"]


def test_rrule_strings_go_through_dateutil():
    assert parse_when("RRULE:FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=15").rule == \
        "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=15;BYSECOND=0"
    assert slots("FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9", "Europe/London", datetime(2025, 3, 15, tzinfo=UTC), 2) == [
        "2025-04-01 08:00", "2025-05-01 08:00"]


@pytest.mark.parametrize("when", ["sometimes", "weekdays", "weekdays 25:00", "blursday 08:00", "FREQ=SOMETIMES",
                                  "FREQ=MINUTELY", "FREQ=DAILY", "FREQ=DAILY;BYHOUR=8;COUNT=3",
                                  "FREQ=HOURLY;BYMINUTE=0,5,10", "DTSTART:20250101T000000 FREQ=DAILY", ""])
def test_bad_when_is_refused_clearly(when):
    with pytest.raises(Invalid) as err:
        parse_when(when)
    assert err.value.field == "when" and err.value.message.startswith("when:")


def test_readable_forms():
    assert parse_when("Every Mon, Wed and Fri at 9.15").rule == \
        "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=9;BYMINUTE=15;BYSECOND=0"
    assert parse_when("mondays 09:00").rule == parse_when("every Monday 09:00").rule
    assert parse_when("weekends 10:00").rule.startswith("FREQ=WEEKLY;BYDAY=SA,SU;")
