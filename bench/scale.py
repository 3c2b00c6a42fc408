"""Scale benchmark: many concurrent jobs against a slow model that caps its own concurrency.

    .venv/bin/python bench/scale.py [--jobs 200] [--workers 1,2,4] [--turn-ms 200]
        [--server-slots 2] [--slots N] [--keep-db]
    make bench-scale

The model: the scripted OpenAI-compatible server of tests/fakes/model_server.py, in its own
process, answering the 11-step job of bench/engine.py (6 model turns + 5 sandbox reads; its
`reply_for` picks the turn). Each request holds one of `--server-slots` slots for `--turn-ms`
(a GPU server's batch slots); requests beyond them wait at the server. Workmode's own limit,
WORKMODE_MODEL_MAX_CONCURRENCY, is `--slots` (default: the server's slots).

Workmode: a scratch PostgreSQL database, the Redis broker of bench/engine.py (db 7, or
WORKMODE_BENCH_REDIS), and for each count in `--workers` that many real worker processes
(`celery worker -P solo -c 1`, one task at a time, as bench/engine.py runs one). All `--jobs`
jobs are created at once; each has a unique prompt, so the server can tell which job a
request belongs to.

Printed per worker count:
- utilisation: busy time of the server's slots / (slots x wall time), measured at the server
  (wall: first request in -> last reply out);
- job p50/p95 latency: created_at -> finished_at, from the store (queueing for a worker included);
- model turns/s and steps/s against the ideal: slots / turn time (turns), x 11/6 (steps).
Prefix stability, from the requests the server received in the same runs (`prefix_stability`):
- within_job: per request, the share of its bytes (tools + messages, serialised as sent, tools
  first as chat templates render them) that is a byte prefix of the same job's next request;
  the mean over requests. This is what vLLM's prefix cache can reuse. Target >= 0.95.
- across_jobs: the common prefix of every job's first request / the first request's length
  (tools, system prompt and the request's header line, shared by all jobs).
Results go to bench/results/scale-<timestamp>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.engine import (  # noqa: E402  (after the path set-up, like a script)
    MODEL_TURNS,
    PG_ADMIN,
    PROMPT,
    REDIS,
    RESULTS,
    STEPS,
    Worker,
    percentile,
    reply_for,
    wait_done,
)

TARGET_UTILISATION = 0.95
TARGET_PREFIX = 0.95


def job_prompt(tag: str) -> str:
    """A prompt unique to one job (the tag first, so the across-jobs share is not flattered)."""
    return f"[{tag}] {PROMPT}"


# ------------------------------------------------------------------------------- prefix stability
def request_bytes(body: dict) -> bytes:
    """What a prefix cache sees of a request: its tools, then its messages, serialised."""
    return json.dumps({"tools": body.get("tools") or [], "messages": body.get("messages") or []},
                      ensure_ascii=False).encode()


def job_key(body: dict) -> str:
    """The job a request belongs to: its first user message (the request, with its unique prompt)."""
    for m in body.get("messages") or []:
        if m.get("role") == "user":
            content = m.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def common_prefix_len(a: bytes, b: bytes) -> int:
    """Length of the longest common byte prefix (binary search over C-speed slice compares)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def prefix_stability(requests: Iterable[dict]) -> dict:
    """Prefix reuse of model requests, in the order the server received them (see the docstring)."""
    by_job: dict[str, list[bytes]] = {}
    for body in requests:
        by_job.setdefault(job_key(body), []).append(request_bytes(body))
    fractions = [common_prefix_len(a, b) / len(a) for reqs in by_job.values() for a, b in pairwise(reqs)]
    firsts = [reqs[0] for reqs in by_job.values()]
    shared = firsts[0] if firsts else b""
    for first in firsts[1:]:
        shared = shared[:common_prefix_len(shared, first)]
    first_len = statistics.mean(len(f) for f in firsts) if firsts else 0
    return {
        "jobs": len(by_job), "requests": sum(len(r) for r in by_job.values()),
        "within_job": statistics.mean(fractions) if fractions else float("nan"),
        "within_job_min": min(fractions) if fractions else float("nan"),
        "across_jobs": len(shared) / first_len if first_len else float("nan"),
        "shared_prefix_bytes": len(shared), "first_request_bytes": first_len,
    }


# ------------------------------------------------------------------------------- model server
class SlowModel:
    """The reply logic of bench/engine.py behind `slots` slots that each take `turn_s` per request."""

    def __init__(self, turn_s: float, slots: int):
        self.turn_s = turn_s
        self._slots = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self.turns: list[tuple[float, float, float]] = []  # (arrived, slot start, slot end), wall clock

    def reply(self, body: dict):
        arrived = time.time()
        with self._slots:
            start = time.time()
            time.sleep(self.turn_s)
            end = time.time()
        with self._lock:
            self.turns.append((arrived, start, end))
        return reply_for(body)

    def take(self) -> list[tuple[float, float, float]]:
        with self._lock:
            out, self.turns = self.turns, []
        return out


def serve_model(turn_ms: float, slots: int) -> None:
    """Subprocess entry point: run the slow scripted server until stdin closes; print its URL
    first. `take PATH`: write the requests received since the last take to PATH (JSON lines) and
    print their slot timings."""
    from tests.fakes.model_server import ScriptedModel, dynamic

    slow = SlowModel(turn_ms / 1000, slots)
    model = ScriptedModel()
    model.set_default(dynamic(slow.reply))
    model.start()
    print(model.url, flush=True)
    for line in sys.stdin:
        cmd, _, path = line.strip().partition(" ")
        if cmd == "take":
            with model._lock:
                requests, model.requests = model.requests, []
            with open(path, "w") as f:
                for body in requests:
                    f.write(json.dumps({"tools": body.get("tools"), "messages": body.get("messages")}) + "\n")
            print(json.dumps({"turns": slow.take(), "max_in_flight": model.max_in_flight}), flush=True)
            model.max_in_flight = 0
    model.stop()


class ModelServer:
    def __init__(self, turn_ms: float, slots: int):
        self.turn_ms, self.slots = turn_ms, slots

    def __enter__(self) -> Self:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-model", str(self.turn_ms), str(self.slots)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError("the slow scripted model server did not start")
        return self

    def take(self, path: Path) -> tuple[list[dict], dict]:
        """The requests received since the last take, and their slot timings."""
        self.proc.stdin.write(f"take {path}\n")
        self.proc.stdin.flush()
        stats = json.loads(self.proc.stdout.readline())
        requests = [json.loads(line) for line in path.read_text().splitlines()]
        path.unlink()
        return requests, stats

    def __exit__(self, *exc) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def utilisation(turns: list[list[float]], slots: int) -> dict:
    """Slot busy time over slots x (first request in -> last reply out), at the server."""
    if not turns:
        return {"utilisation": float("nan"), "server_wall_s": 0.0, "queued_ms_mean": 0.0}
    wall = max(t[2] for t in turns) - min(t[0] for t in turns)
    busy = sum(t[2] - t[1] for t in turns)
    return {"utilisation": busy / (slots * wall), "server_wall_s": wall,
            "queued_ms_mean": 1000 * statistics.mean(t[1] - t[0] for t in turns)}


# ------------------------------------------------------------------------------- workers and jobs
class Workers:
    """`n` worker processes (bench/engine.py's Worker, each with its own node name)."""

    def __init__(self, n: int, env: dict[str, str], logs: Path):
        self.procs = []
        for i in range(n):
            w = Worker(env, logs / f"scale-worker-{i}.log", None, None)
            w.ARGS = (*Worker.ARGS, "-n", f"scale{i}@%h")
            self.procs.append(w)
        self.log = logs / "scale-worker-*.log"

    def __enter__(self) -> Self:
        for w in self.procs:
            w.__enter__()
        return self

    def alive(self) -> bool:
        return all(w.alive() for w in self.procs)

    def __exit__(self, *exc) -> None:
        for w in self.procs:
            w.__exit__(*exc)


def create_jobs(principal, prompts: list[str]) -> list[str]:
    from sqlmodel import Session

    from services.jobs.service import create_job
    from services.store.db import get_engine

    ids = []
    with Session(get_engine(), expire_on_commit=False) as s:
        for prompt in prompts:
            job = create_job(session=s, principal=principal, prompt=prompt)
            s.commit()  # the advance task is sent after this commit
            ids.append(job.id)
    return ids


def wait_ready(n: int, timeout: float = 120) -> None:
    """Until n workers answer a ping (so the measured batch does not include their start-up)."""
    from services.broker import celery_app

    deadline = time.monotonic() + timeout
    while len(celery_app.control.ping(timeout=1.0) or []) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {n} workers answered a ping after {timeout:.0f} s")


def run_batch(principal, model: ModelServer, workers: int, args, env, logs: Path) -> tuple[dict, list[dict]]:
    turn_s = args.turn_ms / 1000
    with Workers(workers, env, logs) as pool:
        wait_ready(workers)
        wait_done(create_jobs(principal, [job_prompt(f"warm-up w{workers} {i}") for i in range(workers)]),
                  pool, 120, poll_s=0.1)
        model.take(logs / "requests.jsonl")  # the warm-up's requests and timings are dropped
        timeout = args.jobs * MODEL_TURNS * turn_s / min(workers, args.server_slots) * 3 + 120
        t0 = datetime.now(UTC)
        ids = create_jobs(principal, [job_prompt(f"w{workers} job {i:04d}") for i in range(args.jobs)])
        jobs = wait_done(ids, pool, timeout, poll_s=0.25)
        requests, stats = model.take(logs / "requests.jsonl")
    wall = (max(j.finished_at for j in jobs) - t0).total_seconds()
    steps = sum(j.steps for j in jobs)
    latencies = [(j.finished_at - j.created_at).total_seconds() for j in jobs]
    ideal_turns = args.server_slots / turn_s
    row = {
        "workers": workers, "jobs": args.jobs, "slots": args.slots, "server_slots": args.server_slots,
        "turn_ms": args.turn_ms, "wall_s": wall, "steps": steps, "model_requests": len(requests),
        "turns_per_s": len(requests) / wall, "ideal_turns_per_s": ideal_turns,
        "steps_per_s": steps / wall, "ideal_steps_per_s": ideal_turns * STEPS / MODEL_TURNS,
        "latency_p50_ms": 1000 * percentile(latencies, 50), "latency_p95_ms": 1000 * percentile(latencies, 95),
        "max_in_flight_at_server": stats["max_in_flight"],
        **utilisation(stats["turns"], args.server_slots),
    }
    return row, requests


# ------------------------------------------------------------------------------- main
def print_table(rows: list[dict]) -> None:
    head = (f"{'workers':>7} {'jobs':>5} {'slots':>5} {'server':>6} {'wall s':>7} {'util':>5} "
            f"{'turns/s':>8} {'ideal':>6} {'steps/s':>8} {'ideal':>6} {'p50 ms':>8} {'p95 ms':>8} {'queued ms':>9}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['workers']:>7} {r['jobs']:>5} {r['slots']:>5} {r['server_slots']:>6} {r['wall_s']:>7.1f} "
              f"{r['utilisation']:>5.2f} {r['turns_per_s']:>8.2f} {r['ideal_turns_per_s']:>6.2f} "
              f"{r['steps_per_s']:>8.2f} {r['ideal_steps_per_s']:>6.2f} {r['latency_p50_ms']:>8.0f} "
              f"{r['latency_p95_ms']:>8.0f} {r['queued_ms_mean']:>9.1f}")
    print("-" * len(head))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=200, help="concurrent jobs per worker count (default 200)")
    ap.add_argument("--workers", default="1,2,4", help="worker process counts, comma-separated (default 1,2,4)")
    ap.add_argument("--turn-ms", type=float, default=200, help="model time per turn in ms (default 200)")
    ap.add_argument("--server-slots", type=int, default=2,
                    help="requests the model server works on at once; more wait (default 2)")
    ap.add_argument("--slots", type=int, default=None,
                    help="WORKMODE_MODEL_MAX_CONCURRENCY (default: --server-slots)")
    ap.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    args = ap.parse_args()
    args.slots = args.slots or args.server_slots
    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    if args.jobs < 1 or not counts or min(counts) < 1 or args.server_slots < 1:
        ap.error("--jobs, --workers and --server-slots must be at least 1")

    import redis
    import sqlalchemy as sa

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="workmode-scale-"))
    db_name = f"workmode_bench_{uuid.uuid4().hex[:8]}"
    db_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + db_name
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    broker = redis.Redis.from_url(REDIS)
    broker.flushdb()  # the benchmark's own db: stale tasks from an aborted run must not linger
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db_name}"'))
    rows: list[dict] = []
    all_requests: list[dict] = []
    try:
        with ModelServer(args.turn_ms, args.server_slots) as model:
            env = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_")}
            env.update({
                "WORKMODE_ENVIRONMENT": "development", "WORKMODE_HOME": str(logs),
                "WORKMODE_DATABASE_URL": db_url, "WORKMODE_BROKER_URL": REDIS,
                "WORKMODE_MODEL_BASE_URL": model.url, "WORKMODE_MODEL_NAME": "scripted-model",
                "WORKMODE_MODEL_MAX_RETRIES": "0", "WORKMODE_MODEL_MAX_CONCURRENCY": str(args.slots),
                "WORKMODE_PLAN_FIRST": "false",  # the job is bench/engine.py's 5 reads + an answer
            })
            os.environ.update(env)
            for key in [k for k in os.environ if k.startswith("WORKMODE_") and k not in env]:
                del os.environ[key]
            from sqlmodel import Session, select

            from connectors.sandbox.seed import DEMO_EMAIL, seed_workspace
            from services.config import reset_settings
            from services.store.db import dispose_engines, get_engine
            from services.store.migrate import upgrade
            from services.store.models import Principal

            reset_settings()
            upgrade()
            with Session(get_engine(), expire_on_commit=False) as s:
                seed_workspace(s)
                s.commit()
                principal = s.exec(select(Principal).where(Principal.email == DEMO_EMAIL)).one()
            print(f"scale: {args.jobs} jobs x {STEPS} steps; turn {args.turn_ms:.0f} ms; server slots "
                  f"{args.server_slots}; WORKMODE_MODEL_MAX_CONCURRENCY {args.slots}; workers {counts}; "
                  f"db {db_name}; broker {REDIS}", flush=True)
            for n in counts:
                row, requests = run_batch(principal, model, n, args, env, logs)
                rows.append(row)
                all_requests.extend(requests)
                print(f"  workers={n}: {row['wall_s']:.1f} s, utilisation {row['utilisation']:.2f}", flush=True)
            dispose_engines()
    finally:
        if not args.keep_db:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
        broker.flushdb()
        broker.close()

    prefix = prefix_stability(all_requests)
    print()
    print_table(rows)
    print("slots: WORKMODE_MODEL_MAX_CONCURRENCY; server: the model server's slots (utilisation is of these). "
          f"ideal = server slots / turn time ({args.server_slots} / {args.turn_ms / 1000:g} s) model turns/s; "
          f"x {STEPS}/{MODEL_TURNS} steps/s. Latency: created_at -> finished_at (queueing for a worker included).")
    print(f"prefix: {prefix['requests']} requests of {prefix['jobs']} jobs; within a job {prefix['within_job']:.3f} "
          f"(min {prefix['within_job_min']:.3f}) of each request's bytes is a prefix of the next "
          f"(target {TARGET_PREFIX}); {prefix['shared_prefix_bytes']} of {prefix['first_request_bytes']:.0f} bytes "
          f"of the first request shared by all jobs")
    out = RESULTS / f"scale-{stamp}.json"
    out.write_text(json.dumps({
        "timestamp": stamp, "args": vars(args), "steps_per_job": STEPS, "model_turns_per_job": MODEL_TURNS,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "loadavg": os.getloadavg(),
                    "platform": platform.platform()},
        "runs": rows, "prefix": prefix,
        "targets": {"utilisation": TARGET_UTILISATION, "prefix_within_job": TARGET_PREFIX},
    }, indent=2))
    print(f"results: {out.relative_to(ROOT)}")
    for r in rows:
        print(f"scale: workers={r['workers']} jobs={r['jobs']} slots={r['slots']} utilisation={r['utilisation']:.2f} "
              f"p50_ms={r['latency_p50_ms']:.0f} p95_ms={r['latency_p95_ms']:.0f}")
    print(f"prefix: within_job={prefix['within_job']:.2f} across_jobs={prefix['across_jobs']:.2f}")
    shutil.rmtree(logs, ignore_errors=True)  # the workers' logs are kept only when something went wrong
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--serve-model":
        serve_model(float(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(main())
