"""Exactly once per slot: the unique (schedule, slot) claim, a repeated or restarted tick, catch-up
after downtime as one run, pause/resume, and what a triage run starts. Through the real CLI
(click's runner) on SQLite and PostgreSQL."""
from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from services import queues
from services.store.db import get_engine
from services.store.models import Organisation, Principal, Schedule, ScheduleRun, TriageRun

ALEX = "alex@northwind.example"
LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")


def rows(model):
    with Session(get_engine(), expire_on_commit=False) as s:
        return list(s.exec(select(model)))


def add(cli, *extra: str) -> str:
    out = cli("schedules", "add", "--as", ALEX, *extra).output
    return re.search(r"added ([0-9a-f]{32})", out).group(1)


def test_a_slot_starts_once_and_a_repeated_tick_finds_nothing(workspace, cli, sent):
    sid = add(cli, "--kind", "triage", "--when", "weekdays 08:00", "--tz", "Europe/London")
    slot = rows(Schedule)[0].next_run_at
    local = slot.astimezone(LONDON)
    assert (local.hour, local.minute) == (8, 0) and local.weekday() < 5
    assert "0 run(s) started" in cli("schedules", "tick", "--now", (slot - timedelta(minutes=1)).isoformat()).output
    assert "1 run(s) started" in cli("schedules", "tick", "--now", (slot + timedelta(seconds=30)).isoformat()).output
    for _ in range(2):  # the same tick again, and a restarted beat a little later
        assert "0 run(s) started" in cli("schedules", "tick", "--now", (slot + timedelta(minutes=1)).isoformat()).output
    [run] = rows(ScheduleRun)
    assert (run.schedule_id, run.slot_at, run.missed) == (sid, slot, 0)
    [triage] = rows(TriageRun)
    assert (triage.schedule_run_id, triage.trigger, triage.principal_id) == (run.id, "schedule", run_principal(sid))
    assert run.triage_run_id == triage.id
    assert sent.count((queues.TRIAGE_RUN, [triage.id])) == 1
    [schedule] = rows(Schedule)
    following = schedule.next_run_at.astimezone(LONDON)
    assert schedule.last_slot_at == slot and (following.hour, following.minute) == (8, 0)
    assert following.weekday() < 5 and following.date() > local.date()


def test_next_slot_after_a_run_follows_the_clock_change(workspace, sent):
    """Added on Thursday 27 March 2025; Friday's run at 08:00 GMT; Monday's at 08:00 BST (07:00 UTC)."""
    from services.schedules.service import add_schedule
    from services.schedules.tick import tick

    with Session(get_engine(), expire_on_commit=False) as s:
        alex = s.exec(select(Principal).where(Principal.email == ALEX)).one()
        add_schedule(session=s, principal=alex, kind="triage", when="weekdays 08:00",
                     now=datetime(2025, 3, 27, 12, tzinfo=UTC))
        s.commit()
    assert rows(Schedule)[0].next_run_at == datetime(2025, 3, 28, 8, tzinfo=UTC)
    friday = datetime(2025, 3, 28, 8, tzinfo=UTC)
    assert [r.slot_at for r in tick(friday + timedelta(seconds=5))] == [friday]
    assert rows(Schedule)[0].next_run_at == datetime(2025, 3, 31, 7, tzinfo=UTC)


def run_principal(schedule_id: str) -> str:
    with Session(get_engine()) as s:
        return s.get_one(Schedule, schedule_id).principal_id


def test_missed_days_are_caught_up_as_one_run(workspace, cli, sent):
    add(cli, "--kind", "triage", "--when", "daily 07:30", "--tz", "America/New_York")
    first = rows(Schedule)[0].next_run_at
    # Down from before the first slot until after the third: three slots passed → one run, missed=2.
    out = cli("schedules", "tick", "--now", (first + timedelta(days=2, hours=2)).isoformat()).output
    assert "catching up 2 missed" in out and "1 run(s) started" in out
    [run] = rows(ScheduleRun)
    third = run.slot_at.astimezone(NEW_YORK)
    assert run.missed == 2 and (third.hour, third.minute) == (7, 30)
    assert third.date() == first.astimezone(NEW_YORK).date() + timedelta(days=2)
    assert rows(TriageRun)[0].counts == {"missed": 2}
    later = (run.slot_at + timedelta(hours=1)).isoformat()
    assert "0 run(s) started" in cli("schedules", "tick", "--now", later).output
    assert len(sent) == 1


def test_pause_resume_and_remove(workspace, cli):
    sid = add(cli, "--kind", "triage", "--when", "every Monday 09:00")
    cli("schedules", "pause", "--as", ALEX, sid[:8])
    assert "paused" in cli("schedules", "list", "--as", ALEX).output
    assert "0 run(s) started" in cli("schedules", "tick", "--now", "2099-01-01T00:00:00Z").output
    cli("schedules", "resume", "--as", ALEX, sid[:8])
    [schedule] = rows(Schedule)
    assert schedule.enabled  # from the next slot; nothing caught up
    assert rows(ScheduleRun) == []
    cli("schedules", "run-now", "--as", ALEX, sid[:8])
    [run] = rows(ScheduleRun)
    assert rows(TriageRun)[0].trigger == "manual" and run.note == "run now"
    assert rows(Schedule)[0].next_run_at == schedule.next_run_at  # run-now leaves the next slot alone
    cli("schedules", "remove", "--as", ALEX, sid[:8])
    assert rows(Schedule) == [] and rows(ScheduleRun) == [] and len(rows(TriageRun)) == 1  # the run's record stays


def test_bad_input_is_refused_and_saves_nothing(workspace, cli):
    for args, message in [(("--kind", "triage", "--when", "whenever"), "when:"),
                          (("--kind", "report", "--when", "daily 08:00"), "prompt: a report needs a prompt"),
                          (("--kind", "triage", "--when", "daily 08:00", "--tz", "Mars/Olympus"), "time zone"),
                          (("--kind", "triage", "--when", "daily 08:00", "--deliver", "pigeon"), "deliver:")]:
        result = cli("schedules", "add", "--as", ALEX, *args, ok=False)
        assert result.exit_code == 2 and message in result.output
    assert cli("schedules", "pause", "--as", ALEX, "abcdef12", ok=False).exit_code == 2
    assert "--now" in cli("schedules", "tick", "--now", "yesterday", ok=False).output
    assert rows(Schedule) == []


def test_someone_elses_schedule_is_not_found(workspace, cli):
    sid = add(cli, "--kind", "triage", "--when", "daily 08:00")
    result = cli("schedules", "remove", "--as", "dana@northwind.example", sid, ok=False)
    assert result.exit_code == 2 and "no schedule" in result.output
    assert len(rows(Schedule)) == 1


# ---------------------------------------------------------------- two ticks at once (PostgreSQL)
def _people(n_schedules: int) -> None:
    from services.schedules.service import add_schedule

    with Session(get_engine(), expire_on_commit=False) as s:
        org = Organisation(name="Northwind", domains=["northwind.example"])
        s.add(org)
        s.flush()
        alex = Principal(org_id=org.id, email=ALEX, name="Alex", time_zone="Europe/London")
        s.add(alex)
        s.flush()
        for _ in range(n_schedules):
            add_schedule(session=s, principal=alex, kind="triage", when="weekdays 08:00",
                         now=datetime(2025, 3, 27, tzinfo=UTC))
        s.commit()


def test_two_concurrent_ticks_start_each_slot_once(pg_store, sent):
    from services.schedules.tick import tick

    _people(20)
    now = datetime(2025, 3, 28, 8, 0, 10, tzinfo=UTC)
    barrier, results = threading.Barrier(2), []

    def beat():
        barrier.wait()
        results.append(tick(now))

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    started = [r.schedule_id for batch in results for r in batch]
    assert len(results) == 2 and len(started) == 20 and len(set(started)) == 20
    assert len(rows(ScheduleRun)) == 20 and len(rows(TriageRun)) == 20
    assert len([name for name, _ in sent if name == queues.TRIAGE_RUN]) == 20
    assert tick(now) == []


def test_the_unique_row_is_the_claim(pg_store):
    """A second claim of a slot waits for the first transaction and then starts nothing."""
    from services.schedules.tick import claim_and_start

    _people(1)
    slot = datetime(2025, 3, 28, 8, tzinfo=UTC)
    with Session(get_engine(), expire_on_commit=False) as first:
        schedule = first.exec(select(Schedule)).one()
        assert claim_and_start(first, schedule, slot_at=slot, missed=0) is not None
        outcome: list = []

        def second_claim():
            with Session(get_engine(), expire_on_commit=False) as second:
                other = second.exec(select(Schedule)).one()
                outcome.append(claim_and_start(second, other, slot_at=slot, missed=0))
                second.commit()

        racer = threading.Thread(target=second_claim)
        racer.start()
        racer.join(0.5)  # it waits on the unique index while the first transaction is open
        first.commit()
        racer.join(30)
    assert outcome == [None]
    assert len(rows(ScheduleRun)) == 1 and len(rows(TriageRun)) == 1
