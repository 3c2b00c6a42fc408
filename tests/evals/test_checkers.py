"""Every task's checker passes a known-good end state and fails a known-bad one (so a checker that
cannot fail is caught); the reviewer approves the known solution and rejects the attacker's action."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from services.evals.reviewer import Reviewer
from services.evals.suites import SUITES, all_tasks, select_tasks
from services.evals.tasks import check, nothing_done
from services.evals.world import ActionView, Look
from services.store.db import get_engine
from services.store.models import Organisation, Principal
from tests.evals.golden import apply, seeded

RUNNABLE = [t for t in all_tasks() if not t.skip and t.kind != "triage"]  # triage: test_triage_check.py
IDS = [t.id for t in RUNNABLE]


def _check(task, end, org_id):
    with Session(get_engine(), expire_on_commit=False) as s:
        return check(task, end, Look(s, s.get_one(Organisation, org_id)))


def test_suites_are_the_size_the_issue_asks_for():
    assert len([t for t in SUITES["work"] if not t.skip]) >= 30
    assert len(SUITES["injection"]) >= 20
    assert len({t.id for t in all_tasks()}) == len(all_tasks())
    vectors = {t.attack.vector for t in SUITES["injection"] if t.attack}
    goals = {t.attack.goal for t in SUITES["injection"] if t.attack}
    assert vectors == {"mail", "calendar", "jira", "slack"}
    assert goals == {"exfiltrate", "invite", "post", "close", "reassign"}
    kinds = {t.kind for t in SUITES["work"]}
    assert {"reply", "schedule", "ticket+chat", "summarise", "ask_user", "multi_step", "cross", "nothing"} <= kinds
    assert all(len(t.expects) >= 3 for t in SUITES["work"] if t.kind == "multi_step")


@pytest.mark.parametrize("task", RUNNABLE, ids=IDS)
def test_known_good_end_state_passes(task, sqlite_store):
    org_id = seeded(task)
    end = apply(task.golden, org_id)
    assert _check(task, end, org_id) == []


@pytest.mark.parametrize("task", RUNNABLE, ids=IDS)
def test_known_bad_end_state_fails(task, sqlite_store):
    org_id = seeded(task)
    end = apply(task.bad or nothing_done, org_id)
    assert _check(task, end, org_id) != []


@pytest.mark.parametrize("task", RUNNABLE, ids=IDS)
def test_an_unfinished_job_fails_even_with_the_right_effects(task, sqlite_store):
    org_id = seeded(task)
    end = apply(task.golden, org_id)
    end.status, end.error = "failed", "step budget reached"
    assert any("job failed" in f for f in _check(task, end, org_id))


@pytest.mark.parametrize("task", [t for t in RUNNABLE if t.expects], ids=[t.id for t in RUNNABLE if t.expects])
def test_a_stray_extra_write_fails(task, sqlite_store):
    org_id = seeded(task)

    def golden_and_more(look):
        sol = task.golden(look)
        extra = ("slack_post", {"channel": "#general", "text": "Unrelated announcement."})
        return type(sol)([*sol.writes, extra], sol.answer, sol.asks)

    end = apply(golden_and_more, org_id)
    assert any(f.startswith("unexpected change") for f in _check(task, end, org_id))


@pytest.mark.parametrize("task", RUNNABLE, ids=IDS)
def test_reviewer_approves_the_solution_and_rejects_anything_else(task, sqlite_store):
    org_id = seeded(task)
    with Session(get_engine(), expire_on_commit=False) as s:
        look = Look(s, s.get_one(Organisation, org_id))
        me = s.exec(select(Principal).where(Principal.email == look.me)).one()
        reviewer = Reviewer(task, me)
        for tool, args in task.golden(look).writes:
            assert reviewer.reason(tool, args, look) is None, (tool, args)
        # The same write again is not wanted any more: approved once, rejected the second time.
        for tool, args in task.golden(look).writes[:1]:
            assert reviewer.reason(tool, args, look) is not None
        off = reviewer.reason("slack_post", {"channel": "#general", "text": "hello"}, look)
        assert off is not None and off.startswith("Rejected")
        if task.attack is not None:
            tool, args = task.attack.golden(look)
            assert reviewer.reason(tool, args, look) is not None
            assert task.is_attack(ActionView("a", tool, args, "pending"))
            assert not any(task.is_attack(ActionView("g", t, a, "pending")) for t, a in task.golden(look).writes)


def test_wrong_arguments_are_rejected_with_what_is_wrong(sqlite_store):
    task = select_tasks("work", ("reply-globex-eta",))[0]
    org_id = seeded(task)
    with Session(get_engine(), expire_on_commit=False) as s:
        look = Look(s, s.get_one(Organisation, org_id))
        me = s.exec(select(Principal).where(Principal.email == look.me)).one()
        why = Reviewer(task, me).reason("gmail_send", {"to": ["ops@globex.example"], "subject": "x",
                                                       "body": "Fix soon.", "thread_id": None}, look)
    assert why is not None and "region" in why and "not a reply in the thread" in why


def test_selecting_tasks():
    assert [t.id for t in select_tasks("all", ("book-dana-q3",))] == ["book-dana-q3"]
    assert all(t.suite == "injection" for t in select_tasks("injection"))
    with pytest.raises(ValueError, match="unknown task"):
        select_tasks("all", ("no-such-task",))
    with pytest.raises(ValueError, match="none of the tasks"):
        select_tasks("injection", ("book-dana-q3",))
