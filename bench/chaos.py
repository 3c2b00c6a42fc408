"""Chaos benchmark: nothing lost, nothing twice, under random crashes.

    .venv/bin/python bench/chaos.py [--jobs 200] [--kills 500] [--workers 4] [--json PATH]

Each job (scripted by a local OpenAI-compatible server, tests/fakes/model_server.py, running in
this process) reads #general, then proposes two writes at once (a Slack post, a Jira issue) and,
for every other job, a third (a Jira comment), then answers. The writes are approved by the
organisation's policy for this run (`policy["auto_approve"]`, services/policy.py: the engine
marks them `approved` by "policy" when it creates them and enqueues their execution), so no
person and no driver decision is involved.

Around it: a scratch PostgreSQL database (`workmode_chaos_<hex>`, dropped afterwards), a private
redis-server on its own port (default 6390, no persistence) as broker and model limiter, and
`--workers` real Celery worker processes (`celery worker -P solo`, queues agent, actions and
maintenance, as tests/support/worker_process.py starts them). The driver stands in for Celery
beat: it sends the reconciler's task (`workmode.reconcile`) to the maintenance queue every
`--tick` seconds instead of every minute, and the staleness settings are shortened to match
(WORKMODE_QUEUED_STALE_S, RUNNING_LEASE_S, EXECUTING_STALE_S), so a lost task is found in seconds.

During the run: `--kills` SIGKILLs of a random worker that has been up at least `--min-age`
seconds (restarted at once), one restart of the broker's redis-server with its data wiped (at
half the kills), and `pg_terminate_backend` of every connection to the scratch database
(`--pg-kills` times, spread over the kills). Jobs are created in step with the kills so that the
kills land on work. Afterwards (once every job is final, or `--timeout`):

- effect rows per action id, counted in the sandbox's own tables (chat messages, issues and
  comments carry the `action_id` of the Action that wrote them; `sandbox_effect` holds one row
  per applied write): `duplicates` = rows beyond the first, plus actions a job proposed twice
  (the same tool and arguments);
- `lost` = scripted writes of a job with no effect row, other than in_doubt ones (which are
  listed with what the sandbox shows: happened or not); a succeeded action with no row, or a
  failed one with a row, is listed as a mismatch;
- `unfinished` = jobs not in a final state.

Ends with `chaos: kills=N redis_restarts=N pg_kills=N jobs=N actions=N duplicates=N lost=N
in_doubt=N unfinished=N`; results go to bench/results/chaos-<timestamp>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
PG_ADMIN = os.environ.get("WORKMODE_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

WRITE_TOOLS = ["slack_post", "jira_create_issue", "jira_comment"]
PROMPT_RE = re.compile(r"chaos job (\w+) with (\d) writes")


# ------------------------------------------------------------------------------- the script
def writes_for(tag: str, n: int) -> list[tuple[str, dict]]:
    """The writes job `tag` proposes: short texts of our own (nothing copied from what it read,
    no links, no outside people), so no risk flag holds them for a person."""
    out: list[tuple[str, dict]] = [
        ("slack_post", {"channel": "#general", "text": f"chaos {tag} status"}),
        ("jira_create_issue", {"project": "OPS", "summary": f"Chaos {tag} follow-up", "issue_type": "Task"}),
    ]
    if n >= 3:
        out.append(("jira_comment", {"key": "OPS-19", "body": f"chaos {tag} note"}))
    return out[:n]


def writes_in(prompt: str) -> int:
    """How many writes a chaos job's prompt asks for (every job the check counts is one this run
    created, so its prompt always says)."""
    found = PROMPT_RE.search(prompt)
    if found is None:
        raise ValueError(f"not a chaos job's prompt: {prompt!r}")
    return int(found.group(2))


def reply_for(body: dict):
    """Turn n of a job, from the number of assistant messages in the request: read, two writes at
    once, the third write (three-write jobs), the answer."""
    from tests.fakes.model_server import text, tool_calls

    messages = body.get("messages", [])
    prompt = " ".join(str(m.get("content")) for m in messages if m.get("role") == "user")
    found = PROMPT_RE.search(prompt)
    if not found:
        return text("I do not know this job.")
    tag, n = found.group(1), int(found.group(2))
    writes = writes_for(tag, n)
    turn = sum(1 for m in messages if m.get("role") == "assistant")
    if turn == 0:
        return tool_calls(("slack_history", {"channel": "#general", "limit": 5}))
    if turn == 1:
        return tool_calls(*writes[:2])
    if turn == 2 and len(writes) > 2:
        return tool_calls(*writes[2:])
    return text(f"Done: chaos {tag}.")


# ------------------------------------------------------------------------------- processes
class RedisServer:
    """A private redis-server (no persistence): restarting it wipes its data."""

    def __init__(self, port: int, log_dir: Path):
        self.port, self.log_dir = port, log_dir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=(self.log_dir / "redis.log").open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_timeout=1).ping()
                return
            except redis.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart_wiped(self) -> None:
        self.stop()
        self.start()


class Worker:
    ARGS = ("-m", "celery", "-A", "workers.app:celery_app", "worker", "-P", "solo", "-c", "1",
            "-Q", "agent,actions,maintenance", "--without-heartbeat", "--without-mingle", "--without-gossip",
            "-l", "INFO")

    def __init__(self, env: dict[str, str], log: Path):
        self.log = log
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, *self.ARGS], cwd=ROOT, env=env,
                                     stdout=log.open("wb"), stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def received(self) -> int:
        return self.log.read_text(errors="replace").count("] received") if self.log.exists() else 0


# ------------------------------------------------------------------------------- the run
@dataclass
class Config:
    jobs: int = 200
    kills: int = 500
    workers: int = 4
    redis_port: int = 6390
    pg_kills: int = 3
    tick_s: float = 1.0  # the reconciler's period (beat's is 60 s)
    kill_every_s: float = 0.3  # mean time between kills
    min_age_s: float = 2.0  # a worker younger than this is not killed (still importing)
    timeout_s: float = 600.0  # for the jobs to end after the last kill
    seed: int = 0
    pg_admin: str = PG_ADMIN


@dataclass
class Chaos:
    kills: int = 0
    kills_busy: int = 0  # killed workers whose log shows a task received
    worker_exits: int = 0  # workers that exited on their own (restarted too)
    redis_restarts: int = 0
    pg_kills: int = 0
    pg_backends_killed: int = 0
    ticks_sent: int = 0
    ticks_refused: int = 0  # the broker was down
    driver_db_errors: int = 0
    timeline: list[str] = field(default_factory=list)


def worker_env(cfg: Config, db_url: str, broker: str, model_url: str, home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_")}
    env.update({
        "WORKMODE_ENVIRONMENT": "development", "WORKMODE_HOME": home,
        "WORKMODE_DATABASE_URL": db_url, "WORKMODE_BROKER_URL": broker,
        "WORKMODE_MODEL_BASE_URL": model_url, "WORKMODE_MODEL_NAME": "scripted-model",
        "WORKMODE_PLAN_FIRST": "false",
        # A killed worker holds its model slot until the limiter's lease (model timeout + 30 s)
        # runs out; enough slots that hundreds of kills do not starve the survivors.
        "WORKMODE_MODEL_TIMEOUT_S": "10", "WORKMODE_MODEL_MAX_CONCURRENCY": "1024",
        # The reconciler's staleness, shortened with its period (beat every minute in production).
        "WORKMODE_QUEUED_STALE_S": "2", "WORKMODE_RUNNING_LEASE_S": "5", "WORKMODE_EXECUTING_STALE_S": "5",
        "PYTHONPATH": str(ROOT),
    })
    return env


def run(cfg: Config, log_dir: Path, say=print) -> dict[str, Any]:
    """The whole run in this process (it sets WORKMODE_* for itself: call it from a process of
    its own, as main() and the test do). Returns the results."""
    import sqlalchemy as sa

    from tests.fakes.model_server import ScriptedModel, dynamic

    rng = random.Random(cfg.seed)
    db_name = f"workmode_chaos_{uuid.uuid4().hex[:8]}"
    db_url = cfg.pg_admin.rsplit("/", 1)[0] + "/" + db_name
    admin = sa.create_engine(cfg.pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db_name}"'))
    redis_srv = RedisServer(cfg.redis_port, log_dir)
    model = ScriptedModel()
    model.requests = _Discard()
    model.set_default(dynamic(reply_for))
    workers: list[Worker] = []
    chaos = Chaos()
    try:
        redis_srv.start()
        model.start()
        env = worker_env(cfg, db_url, redis_srv.url, model.url, tempfile.mkdtemp(prefix="workmode-chaos-"))
        os.environ.update(env)
        for key in [k for k in os.environ if k.startswith("WORKMODE_") and k not in env]:
            del os.environ[key]
        from services.config import reset_settings

        reset_settings()
        principal = _prepare_store()
        n_worker = 0

        def spawn() -> Worker:
            nonlocal n_worker
            n_worker += 1
            return Worker(env, log_dir / f"worker-{n_worker}.log")

        workers = [spawn() for _ in range(cfg.workers)]
        say(f"chaos: {cfg.jobs} jobs, {cfg.kills} kills, {cfg.workers} workers; db {db_name}; "
            f"broker {redis_srv.url}; logs {log_dir}")
        t0 = time.monotonic()
        job_ids: list[str] = []
        redis_at = cfg.kills // 2
        pg_at = {max(1, cfg.kills * (i + 1) // (cfg.pg_kills + 1)) for i in range(cfg.pg_kills)}
        next_kill = t0 + rng.expovariate(1 / cfg.kill_every_s)
        next_tick = t0
        next_poll = t0
        chaos_done_at: float | None = None
        final = False
        while True:
            now = time.monotonic()
            # Jobs in step with the kills: a quarter at once, the rest as the kills go on.
            want = cfg.jobs if cfg.kills == 0 else min(
                cfg.jobs, cfg.jobs // 4 + -(-(cfg.jobs - cfg.jobs // 4) * chaos.kills // cfg.kills))
            if len(job_ids) < want:
                job_ids += _create_jobs(principal, range(len(job_ids), want), chaos)
            for i, w in enumerate(workers):
                if not w.alive():
                    chaos.worker_exits += 1
                    workers[i] = spawn()
            if now >= next_tick:
                next_tick = now + cfg.tick_s
                _tick(chaos)
            if chaos.kills < cfg.kills and now >= next_kill:
                grown = [w for w in workers if now - w.started >= cfg.min_age_s]
                if grown:
                    victim = rng.choice(grown)
                    victim.kill()
                    chaos.kills += 1
                    chaos.kills_busy += victim.received() > 0
                    workers[workers.index(victim)] = spawn()
                    if chaos.kills == redis_at and not chaos.redis_restarts:
                        redis_srv.restart_wiped()
                        chaos.redis_restarts += 1
                        chaos.timeline.append(f"{now - t0:.1f}s redis restarted, data wiped")
                    if chaos.kills in pg_at:
                        killed = _pg_kill(admin, db_name)
                        chaos.pg_kills += 1
                        chaos.pg_backends_killed += killed
                        chaos.timeline.append(f"{now - t0:.1f}s pg_terminate_backend: {killed} connections")
                    if chaos.kills % max(1, cfg.kills // 10) == 0:
                        say(f"  {now - t0:6.1f}s kills {chaos.kills}/{cfg.kills}, jobs created {len(job_ids)}")
                next_kill = now + rng.expovariate(1 / cfg.kill_every_s)
            if chaos.kills >= cfg.kills and chaos_done_at is None:
                chaos_done_at = now
                chaos.timeline.append(f"{now - t0:.1f}s last kill")
            if chaos_done_at is not None and len(job_ids) == cfg.jobs and now >= next_poll:
                next_poll = now + 0.5
                if _all_final(job_ids, chaos):
                    final = True
                    break
                if now - chaos_done_at > cfg.timeout_s:
                    break
            time.sleep(0.02)
        wall = time.monotonic() - t0
        chaos.timeline.append(f"{wall:.1f}s {'every job final' if final else 'timed out'}")
        for w in workers:
            w.stop()
        workers = []
        time.sleep(0.2)
        result = check(job_ids)
        result.update({"chaos": asdict(chaos), "wall_s": wall, "config": asdict(cfg), "db": db_name})
        from services.store.db import dispose_engines

        dispose_engines()
        return result
    finally:
        for w in workers:
            w.stop()
        model.stop()
        redis_srv.stop()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


class _Discard(list):
    def append(self, _body: Any) -> None:  # the model server keeps no requests
        pass


def _prepare_store():
    from sqlmodel import Session, select

    from connectors.sandbox.seed import DEMO_EMAIL, seed_workspace
    from services.store.db import get_engine
    from services.store.migrate import upgrade
    from services.store.models import Principal

    upgrade()
    with Session(get_engine(), expire_on_commit=False) as s:
        org = seed_workspace(s)
        org.policy = {**(org.policy or {}), "auto_approve": WRITE_TOOLS}  # the sandbox policy for this run
        s.add(org)
        s.commit()
        return s.exec(select(Principal).where(Principal.email == DEMO_EMAIL)).one()


def _create_jobs(principal, indexes: range, chaos: Chaos) -> list[str]:
    from sqlalchemy.exc import DBAPIError
    from sqlmodel import Session

    from services.jobs.service import create_job
    from services.store.db import get_engine

    ids = []
    for i in indexes:
        n = 2 + i % 2
        while True:
            try:
                with Session(get_engine(), expire_on_commit=False) as s:
                    job = create_job(session=s, principal=principal, prompt=f"chaos job j{i} with {n} writes")
                    s.commit()  # the advance task is sent after this commit (a send refused while the
                    ids.append(job.id)  # broker is down is logged; the reconciler sends it again)
                break
            except DBAPIError:  # our connection was terminated: again, on a fresh one
                chaos.driver_db_errors += 1
                time.sleep(0.05)
    return ids


def _tick(chaos: Chaos) -> None:
    """What beat does: send the reconciler's task to the maintenance queue."""
    from services import queues
    from services.broker import send_task

    try:
        send_task(queues.RECONCILE, [])
        chaos.ticks_sent += 1
    except Exception:
        chaos.ticks_refused += 1


def _pg_kill(admin, db_name: str) -> int:
    import sqlalchemy as sa

    with admin.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": db_name}).scalar() or 0)


def _all_final(job_ids: list[str], chaos: Chaos) -> bool:
    from sqlalchemy.exc import DBAPIError
    from sqlmodel import Session, col, func, select

    from services.store.db import get_engine
    from services.store.models import FINAL_JOB_STATUSES, Job

    try:
        with Session(get_engine()) as s:
            open_jobs = s.exec(select(func.count()).select_from(Job).where(
                col(Job.id).in_(job_ids), col(Job.status).not_in(FINAL_JOB_STATUSES))).one()
        return open_jobs == 0
    except DBAPIError:
        chaos.driver_db_errors += 1
        return False


# ------------------------------------------------------------------------------- the check
def check(job_ids: list[str]) -> dict[str, Any]:
    """Count what happened, from the store and the sandbox's tables."""
    from sqlmodel import Session, col, select

    from connectors.sandbox.models import SandboxChatMessage, SandboxComment, SandboxEffect, SandboxIssue
    from services.store.db import get_engine
    from services.store.models import FINAL_JOB_STATUSES, Action, ActionStatus, Job

    with Session(get_engine()) as s:
        jobs = list(s.exec(select(Job).where(col(Job.id).in_(job_ids))))
        actions = list(s.exec(select(Action).where(col(Action.job_id).in_(job_ids))))
        rows: Counter[str] = Counter()
        for table in (SandboxChatMessage, SandboxIssue, SandboxComment):
            rows.update(a for a in s.exec(select(table.action_id).where(col(table.action_id).is_not(None))))
        applied = Counter(s.exec(select(SandboxEffect.action_id)))
    by_job: dict[str, list[Action]] = {}
    for a in actions:
        by_job.setdefault(a.job_id, []).append(a)
    duplicates: list[str] = []
    lost: list[str] = []
    mismatches: list[str] = []
    in_doubt: list[str] = []
    for a in actions:
        if rows[a.id] > 1 or applied[a.id] > 1:
            duplicates.append(f"action {a.id} ({a.tool}): {rows[a.id]} effect rows, {applied[a.id]} applied rows")
        happened = rows[a.id] > 0
        if a.status == ActionStatus.succeeded and not happened:
            mismatches.append(f"action {a.id} ({a.tool}) succeeded with no effect row")
        if a.status in (ActionStatus.failed, ActionStatus.rejected, ActionStatus.expired) and happened:
            mismatches.append(f"action {a.id} ({a.tool}) {a.status} yet its effect row exists")
        if a.status == ActionStatus.in_doubt:
            in_doubt.append(f"action {a.id} ({a.tool}) in_doubt, sandbox shows it "
                            f"{'happened' if happened else 'did not happen'}: {a.error}")
    for job in jobs:
        n = writes_in(job.prompt)
        proposed = Counter((a.tool, a.args_hash) for a in by_job.get(job.id, []))
        duplicates += [f"job {job.id} proposed {tool} {k} times" for (tool, _), k in proposed.items() if k > 1]
        done = {a.tool for a in by_job.get(job.id, []) if rows[a.id] > 0}
        doubt = {a.tool for a in by_job.get(job.id, []) if a.status == ActionStatus.in_doubt}
        for tool, _args in writes_for("x", n):
            if tool not in done and tool not in doubt:
                lost.append(f"job {job.id} ({job.status}): {tool} never happened"
                            + (f"; job error: {job.error}" if job.error else ""))
    unfinished = [f"job {j.id}: {j.status}" for j in jobs if j.status not in FINAL_JOB_STATUSES]
    return {
        "jobs": len(jobs), "actions": len(actions),
        "job_status": dict(Counter(str(j.status) for j in jobs)),
        "action_status": dict(Counter(str(a.status) for a in actions)),
        "action_attempts": dict(Counter(a.attempts for a in actions)),
        "effect_rows": sum(rows.values()),
        "duplicates": len(duplicates), "lost": len(lost), "in_doubt": len(in_doubt),
        "unfinished": len(unfinished), "mismatches": len(mismatches),
        "details": {"duplicates": duplicates, "lost": lost, "in_doubt": in_doubt, "unfinished": unfinished,
                    "mismatches": mismatches},
    }


def summary_line(r: dict[str, Any]) -> str:
    c = r["chaos"]
    return (f"chaos: kills={c['kills']} redis_restarts={c['redis_restarts']} pg_kills={c['pg_kills']} "
            f"jobs={r['jobs']} actions={r['actions']} duplicates={r['duplicates']} lost={r['lost']} "
            f"in_doubt={r['in_doubt']} unfinished={r['unfinished']}")


def print_report(r: dict[str, Any]) -> None:
    c = r["chaos"]
    rows = [
        ("wall time", f"{r['wall_s']:.1f} s"),
        ("worker SIGKILLs (restarted at once)", f"{c['kills']} ({c['kills_busy']} after the worker took a task)"),
        ("workers that exited on their own", c["worker_exits"]),
        ("redis restarts (data wiped)", c["redis_restarts"]),
        ("pg_terminate_backend rounds", f"{c['pg_kills']} ({c['pg_backends_killed']} connections)"),
        ("reconciler ticks sent / refused", f"{c['ticks_sent']} / {c['ticks_refused']}"),
        ("jobs by status", ", ".join(f"{k} {v}" for k, v in sorted(r["job_status"].items()))),
        ("actions by status", ", ".join(f"{k} {v}" for k, v in sorted(r["action_status"].items()))),
        ("actions by attempts", ", ".join(f"{k}: {v}" for k, v in sorted(r["action_attempts"].items()))),
        ("effect rows", r["effect_rows"]),
        ("duplicates", r["duplicates"]),
        ("lost", r["lost"]),
        ("in_doubt", r["in_doubt"]),
        ("status/effect mismatches", r["mismatches"]),
        ("unfinished jobs", r["unfinished"]),
    ]
    width = max(len(k) for k, _ in rows)
    print("-" * (width + 40))
    for k, v in rows:
        print(f"{k:{width}}  {v}")
    print("-" * (width + 40))
    for line in c["timeline"]:
        print(f"  {line}")
    for kind, lines in r["details"].items():
        for line in lines[:20]:
            print(f"  {kind}: {line}")
    print(summary_line(r))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--kills", type=int, default=500)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--redis-port", type=int, default=6390, help="the private redis-server's port (default 6390)")
    ap.add_argument("--pg-kills", type=int, default=3)
    ap.add_argument("--tick", type=float, default=1.0, help="seconds between reconciler ticks (default 1)")
    ap.add_argument("--kill-every", type=float, default=0.3, help="mean seconds between kills (default 0.3)")
    ap.add_argument("--min-age", type=float, default=2.0, help="do not kill a worker younger than this (s)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds for the jobs to end after the last kill")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write the results here (default bench/results/chaos-<ts>.json)")
    args = ap.parse_args()
    if args.jobs < 1 or args.kills < 0 or args.workers < 1:
        ap.error("--jobs and --workers must be at least 1, --kills at least 0")
    cfg = Config(jobs=args.jobs, kills=args.kills, workers=args.workers, redis_port=args.redis_port,
                 pg_kills=args.pg_kills, tick_s=args.tick, kill_every_s=args.kill_every,
                 min_age_s=args.min_age, timeout_s=args.timeout, seed=args.seed)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_dir = Path(tempfile.mkdtemp(prefix="workmode-chaos-logs-"))
    result = run(cfg, log_dir)
    result["timestamp"] = stamp
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                         "loadavg": os.getloadavg(), "platform": platform.platform()}
    print()
    print_report(result)
    out = args.json or RESULTS / f"chaos-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"\nresults: {out}")
    bad = result["duplicates"] or result["lost"] or result["unfinished"] or result["mismatches"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
