"""A real Celery worker process (`celery worker`, solo pool) on Redis, for crash tests."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.support.paths import ROOT


class WorkerProcess:
    def __init__(self, *, fault_point: str = "", extra_env: dict[str, str] | None = None):
        self.env = dict(os.environ)
        self.env["WORKMODE_FAULT_POINT"] = fault_point
        self.env.update(extra_env or {})
        self.proc: subprocess.Popen | None = None
        self.log = ROOT / "test-artifacts" / f"worker-{os.getpid()}-{time.monotonic_ns()}.log"

    def start(self) -> WorkerProcess:
        self.log.parent.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.app:celery_app", "worker", "-P", "solo", "-c", "1",
             "-Q", "agent,actions,maintenance", "--without-heartbeat", "--without-mingle", "--without-gossip",
             "-l", "INFO"],
            cwd=ROOT, env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )
        return self

    def wait_killed(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
