"""The image's entry points, started outside Docker as the containers start them (`workmode …` in
production mode) against real PostgreSQL and Redis, answering the health checks that
docker-compose.yml and the Kubernetes probes use."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from services.config import reset_settings
from services.store.db import get_engine
from tests.fakes.model_server import text, tool_calls
from tests.support.db import PG_ADMIN_URL
from tests.support.jobs import wait_status, wait_until
from tests.support.paths import repo_root

WORKMODE = str(Path(sys.executable).parent / "workmode")
ARTIFACTS = repo_root() / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_")}
    env.update(WORKMODE_ENVIRONMENT="production", WORKMODE_SECRET_KEY="deploy-test-" + uuid.uuid4().hex,
               WORKMODE_HOME=os.environ["WORKMODE_HOME"], **values)
    return env


class Entry:
    """One `workmode …` process with its output in test-artifacts/."""

    def __init__(self, *args: str, env: dict[str, str], cwd: Path | None = None):
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = ARTIFACTS / f"entry-{args[0]}-{os.getpid()}-{time.monotonic_ns()}.log"
        self.proc = subprocess.Popen([WORKMODE, *args], env=env, cwd=cwd or repo_root(),
                                     stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> Entry:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def answers(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


@pytest.fixture
def stack(pg_store, redis_url, scripted_model, monkeypatch):
    """PostgreSQL, Redis DB for tests, the scripted model; this process enqueues on the same Redis."""
    monkeypatch.setenv("WORKMODE_BROKER_URL", redis_url)
    reset_settings()
    return production_env(WORKMODE_DATABASE_URL=pg_store, WORKMODE_BROKER_URL=redis_url,
                          WORKMODE_MODEL_BASE_URL=scripted_model.url)


def test_db_upgrade_migrates_an_empty_database():
    name = f"workmode_deploy_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = sa.create_engine(url)
    try:
        for _ in range(2):  # the migrate service runs on every `up`: the second run changes nothing
            result = subprocess.run([WORKMODE, "db", "upgrade"], env=production_env(WORKMODE_DATABASE_URL=url),
                                    capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, result.stderr
            assert "database at revision head" in result.stdout
            assert "postgresql" in result.stdout and name in result.stdout
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
            assert conn.execute(sa.text("SELECT count(*) FROM job")).scalar() == 0
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_api_answers_healthz_and_readyz(stack):
    help_text = subprocess.run([WORKMODE, "api", "--help"], capture_output=True, text=True, env=stack)
    assert help_text.returncode == 0, help_text.stderr  # an entry point that crashes fails the test
    port = free_port()
    with Entry("api", "--host", "127.0.0.1", "--port", str(port), env=stack) as api:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/healthz") == 200 or not api.alive(), timeout=60,
                   what="the API to answer /healthz")
        assert api.alive(), api.output()
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"


def test_worker_answers_ping_and_serves_its_metrics_after_a_job(stack, scripted_model):
    from connectors.sandbox.seed import seed_workspace
    from services.store.models import Principal
    from tests.support.jobs import start

    with Session(get_engine(), expire_on_commit=False) as s:
        seed_workspace(s)
        s.commit()
        alex = s.exec(select(Principal).where(Principal.email == "alex@northwind.example")).one()
    port = free_port()
    env = {**stack, "WORKMODE_METRICS_PORT": str(port), "WORKMODE_METRICS_HOST": "127.0.0.1"}
    with Entry("worker", "--queues", "agent,actions,maintenance", "--concurrency", "1", env=env) as worker:
        # The compose/Kubernetes health check: a ping over the broker.
        def pong() -> bool:
            ping = subprocess.run([sys.executable, "-m", "celery", "-A", "workers.app:celery_app", "inspect", "ping",
                                   "--timeout", "2"], env=stack, cwd=repo_root(), capture_output=True, text=True)
            assert worker.alive(), worker.output()
            return ping.returncode == 0 and "pong" in ping.stdout

        wait_until(pong, timeout=60, interval=0.5, what="the worker to answer a ping")
        assert answers(f"http://127.0.0.1:{port}/metrics") == 200

        plan = ("update_plan", {"steps": [{"title": "Say done", "status": "in_progress"}]})
        scripted_model.push(tool_calls(plan, prompt_tokens=40), text("Done.", prompt_tokens=2, completion_tokens=3))
        wait_status(start(alex, prompt="Say done"), "completed", timeout=60)
        body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text  # gathered from the pool process
        samples = {(s.name, frozenset(s.labels.items())): s.value
                   for f in text_string_to_metric_families(body) for s in f.samples}
        assert samples[("workmode_step_duration_seconds_count", frozenset({("outcome", "completed")}))] == 1
        assert samples[("workmode_model_tokens_total", frozenset({("direction", "in")}))] == 42
        assert samples[("workmode_model_request_duration_seconds_count", frozenset({("outcome", "ok")}))] == 2
        worker.stop()
    assert "worker metrics on http://127.0.0.1" in worker.output()


def test_beat_starts_and_stays_up(stack, tmp_path):
    with Entry("beat", env=stack, cwd=tmp_path) as beat:
        wait_until(lambda: "beat: Starting" in beat.output() or not beat.alive(), timeout=60,
                   what="beat to start")
        for _ in range(10):  # it keeps running (the scheduler loop), rather than exiting after start
            assert beat.alive(), beat.output()
            time.sleep(0.3)
    assert list(tmp_path.glob("celerybeat-schedule*")), "beat keeps its schedule in the working directory"
