"""Run tasks as real jobs through the real engine, each on a fresh sandbox organisation in an
embedded store (a temporary SQLite under a temporary WORKMODE_HOME, migrated once and copied per
task, then seeded), on the embedded broker and worker `workmode run` uses, with the scripted
reviewer deciding approvals and answering questions."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from sqlmodel import Session, select

from services.config import DEMO_EMAIL, reset_settings
from services.evals.reviewer import Reviewer
from services.evals.tasks import Task, check
from services.evals.world import EndState, Look, capture
from services.store.models import FINAL_JOB_STATUSES, Job, Principal

POLL_S = 0.1


@dataclass
class RunConfig:
    model_url: str = ""  # empty: the local demo model (services/model/local.py)
    model_name: str = ""
    tool_mode: str = ""  # native | json; empty: the model's default (json for the local model)
    runs: int = 1
    task_timeout_s: float = 600.0


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set WORKMODE_* variables for the duration (settings and engines follow), then restore them."""
    from services.store.db import dispose_engines

    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    reset_settings()
    try:
        yield
    finally:
        dispose_engines()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()


@contextmanager
def model_env(cfg: RunConfig) -> Iterator[dict[str, str]]:
    """The model settings for the run: the given server, or the local demo model started here."""
    if cfg.model_url:
        env = {"WORKMODE_MODEL_BASE_URL": cfg.model_url}
        if cfg.model_name:
            env["WORKMODE_MODEL_NAME"] = cfg.model_name
        if cfg.tool_mode:
            env["WORKMODE_TOOL_MODE"] = cfg.tool_mode
        yield env
        return
    from services.model.local import LocalModel, LocalModelUnavailable, available, local_env

    reason = available()
    if reason:
        raise LocalModelUnavailable(f"no model: give --model-url, or install the demo model ({reason})")
    with LocalModel() as base_url:
        env = local_env(base_url)
        if cfg.tool_mode:
            env["WORKMODE_TOOL_MODE"] = cfg.tool_mode
        yield env


class Harness:
    """Runs tasks one after another; `root` holds the migrated template and each task's store."""

    def __init__(self, cfg: RunConfig, model: dict[str, str], root: Path):
        self.cfg, self.model, self.root = cfg, model, root
        self.template: Optional[Path] = None

    def env(self, home: Path) -> dict[str, str]:
        return {**self.model, "WORKMODE_HOME": str(home), "WORKMODE_DATABASE_URL": "",
                "WORKMODE_BROKER_URL": "memory://", "WORKMODE_USER_EMAIL": DEMO_EMAIL}

    def _fresh_store(self, home: Path) -> None:
        home.mkdir(parents=True)
        if self.template is None:
            from services.store.migrate import upgrade

            tmpl = self.root / "template"
            with environment(self.env(tmpl)):
                upgrade()
            self.template = tmpl / "workmode.db"
        shutil.copy(self.template, home / "workmode.db")

    def run(self, task: Task, n: int = 0) -> dict[str, Any]:
        from workers.embedded import embedded_worker, quiesce

        if task.skip:
            return {"id": task.id, "suite": task.suite, "kind": task.kind, "run": n, "skipped": task.skip}
        home = self.root / f"{task.id}-{n}"
        self._fresh_store(home)
        with environment(self.env(home)), embedded_worker():  # started per task, or the one running here
            try:
                return self._run(task, n)
            finally:
                # What the task left behind (the step in hand after a cancel, a digest, a retry held
                # for later) must not run against the next task's store: it ends or is dropped here.
                quiesce(self.cfg.task_timeout_s)

    def _run(self, task: Task, n: int) -> dict[str, Any]:
        from connectors.sandbox.seed import seed_workspace
        from services.errors import WorkmodeError
        from services.jobs.service import cancel_job, create_job
        from services.store.db import get_engine

        with Session(get_engine(), expire_on_commit=False) as s:
            org = seed_workspace(s)
            s.flush()
            look = Look(s, org)
            if task.attack is not None:
                task.attack.plant(s, look)
            s.commit()
            actor = s.exec(select(Principal).where(Principal.email == DEMO_EMAIL)).one()
        if task.kind == "triage":
            return self._run_triage(task, n, org, actor)
        reviewer = Reviewer(task, actor)
        timed_out = False
        t0 = time.monotonic()
        with Session(get_engine(), expire_on_commit=False) as s:
            job = create_job(session=s, principal=actor, prompt=task.prompt, source="eval",
                             max_steps=task.max_steps)
            s.commit()
            job_id = job.id
        while True:
            with Session(get_engine(), expire_on_commit=False) as s:
                job = s.get_one(Job, job_id)
                if job.status in FINAL_JOB_STATUSES:
                    break
                if time.monotonic() - t0 > self.cfg.task_timeout_s:
                    timed_out = True
                    cancel_job(session=s, job_id=job_id, actor=actor, reason="eval task timeout")
                    s.commit()
                    continue
                if job.status == "waiting":
                    try:
                        reviewer.step(s, job, Look(s, s.get_one(type(org), org.id)))
                    except WorkmodeError:  # the job moved on (ended, decided elsewhere): look again
                        s.rollback()
            time.sleep(POLL_S)
        wall = time.monotonic() - t0
        with Session(get_engine(), expire_on_commit=False) as s:
            org = s.get_one(type(org), org.id)
            look = Look(s, org)
            end = capture(s, org, s.get_one(Job, job_id))
            failures = check(task, end, look)
        return result(task, n, end, failures, wall, timed_out)

    def _run_triage(self, task: Task, n: int, org: Any, actor: Principal) -> dict[str, Any]:
        """The labelled set in the person's inbox (and nothing else new), one triage run through the
        pipeline with the model under test, checked against the labels (services/evals/triage_check)."""
        from connectors.sandbox.fixture_triage import seed_labelled
        from connectors.sandbox.models import SandboxMailMessage
        from services.evals.triage_check import accuracy, check_triage, triaged
        from services.store.db import get_engine
        from services.store.models import TriageRun, utcnow
        from services.triage.run import execute_run, start_run

        t0 = time.monotonic()
        with Session(get_engine(), expire_on_commit=False) as s:
            for m in s.exec(select(SandboxMailMessage).where(SandboxMailMessage.owner == actor.email)):
                m.labels = [x for x in m.labels if x != "INBOX"]  # the demo mailbox is not part of the set
                s.add(m)
            seed_labelled(s, org.id, utcnow(), owner=actor.email, start_ago_minutes=120)
            run = start_run(s, actor, trigger="manual")
            s.commit()
            run_id = run.id
        done = execute_run(run_id)
        with Session(get_engine(), expire_on_commit=False) as s:
            got = triaged(s, run_id)
            run = s.get_one(TriageRun, run_id)
        failures = ([f"triage run failed: {done.error}"] if done.status != "done" else []) + check_triage(got)
        counts = run.counts or {}
        return {"id": task.id, "suite": task.suite, "kind": task.kind, "run": n, "success": not failures,
                "failures": failures, "status": done.status, "steps": 1,
                "model_turns": int(counts.get("model_requests") or 0),
                "prompt_tokens": int(counts.get("prompt_tokens") or 0),
                "completion_tokens": int(counts.get("completion_tokens") or 0),
                "tokens": int(counts.get("prompt_tokens") or 0) + int(counts.get("completion_tokens") or 0),
                "wall_s": round(time.monotonic() - t0, 2), "timed_out": False, "questions": 0,
                "unapproved_side_effects": 0, "actions": [], "answer": "", **accuracy(got)}


def result(task: Task, n: int, end: EndState, failures: list[str], wall_s: float, timed_out: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": task.id, "suite": task.suite, "kind": task.kind, "run": n, "success": not failures,
        "failures": failures, "status": end.status, "steps": end.steps, "model_turns": end.model_turns,
        "prompt_tokens": end.prompt_tokens, "completion_tokens": end.completion_tokens,
        "tokens": end.prompt_tokens + end.completion_tokens, "wall_s": round(wall_s, 2), "timed_out": timed_out,
        "questions": len(end.questions), "unapproved_side_effects": end.unapproved_side_effects,
        "actions": [{"tool": a.tool, "status": a.status, "risk_flags": [f.get("kind") for f in a.risk_flags]}
                    for a in end.actions],
        "answer": end.answer[:500],
    }
    if task.attack is not None:
        proposals = [a for a in end.actions if task.is_attack(a)]
        out["attack"] = {"vector": task.attack.vector, "goal": task.attack.goal, "proposed": bool(proposals),
                         "proposals": len(proposals), "flagged": sum(1 for a in proposals if a.risk_flags),
                         "executed": sum(1 for a in proposals if a.status == "succeeded")}
    return out


def run_suite(tasks: list[Task], cfg: RunConfig,
              on_result: Callable[[dict[str, Any]], None] = lambda r: None) -> list[dict[str, Any]]:
    """Every task `cfg.runs` times; results in order (one dict per run)."""
    results: list[dict[str, Any]] = []
    # ignore_cleanup_errors: a task's last housekeeping (a digest, a late tick) may still write into
    # its folder while the folder is removed; the results are already in hand.
    with (tempfile.TemporaryDirectory(prefix="workmode-eval-", ignore_cleanup_errors=True) as tmp,
          model_env(cfg) as model):
        harness = Harness(cfg, model, Path(tmp))
        for task in tasks:
            for n in range(1 if task.skip else cfg.runs):
                r = harness.run(task, n)
                results.append(r)
                on_result(r)
    return results
