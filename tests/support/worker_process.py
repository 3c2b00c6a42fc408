"""A real Celery worker process (`celery worker`, solo pool) on Redis, for crash tests; and what
the tests read back from it: the tasks its log says it received, and the messages Redis holds
unacknowledged for a worker that died."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import redis

from tests.support.paths import ROOT

_RECEIVED = re.compile(r"Task (\S+)\[([0-9a-f-]+)\] received")
# Where kombu's Redis transport keeps the messages delivered to a consumer and not yet acked
# (acks_late): a sorted set of delivery tags scored by delivery time (kombu.transport.redis,
# Channel.unacked_index_key). A message older than the visibility timeout is put back on its
# queue by the next worker that starts (QoS.restore_visible on poll init).
UNACKED_INDEX = "unacked_index"


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

    def received(self, task_name: str | None = None) -> list[str]:
        """Ids of the tasks this worker's log says it received (of `task_name`, if given), in order."""
        return [task_id for name, task_id in _RECEIVED.findall(self.output()) if task_name in (None, name)]

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def unacked_delivered_at(redis_url: str) -> list[float]:
    """When each message Redis holds unacknowledged was delivered (Unix time), oldest first."""
    client = redis.Redis.from_url(redis_url)
    try:
        return [score for _, score in client.zrange(UNACKED_INDEX, 0, -1, withscores=True)]
    finally:
        client.close()


def wait_past_visibility(redis_url: str, visibility_timeout_s: float, timeout: float = 60) -> int:
    """Wait until every unacknowledged message is older than the visibility timeout, so that the
    next worker to start takes them back (Celery's redelivery after a lost worker). Returns how
    many there are."""
    deadline = time.monotonic() + timeout
    while True:
        delivered = unacked_delivered_at(redis_url)
        if not delivered or max(delivered) < time.time() - visibility_timeout_s - 0.5:
            return len(delivered)
        if time.monotonic() > deadline:
            raise AssertionError(f"unacked messages still inside the visibility timeout after {timeout}s")
        time.sleep(0.2)
