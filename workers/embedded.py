"""The embedded default: broker `memory://`, and a worker running in a thread of this process
(the same tasks and code path as a real worker, without Redis)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from celery.contrib.testing.worker import start_worker

from workers.app import celery_app


@contextmanager
def embedded_worker() -> Iterator[None]:
    import workers.tasks  # noqa: F401  (registers the tasks)

    with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=10,
                      queues=["agent", "actions", "maintenance"]):
        yield
