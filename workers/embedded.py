"""The embedded default: broker `memory://`, and a worker running in a thread of this process
(the same tasks and code path as a real worker, without Redis).

The worker is Celery's own `WorkController` (what `celery worker` runs, without the process-level
parts: signal handlers, banner, pid file) with the solo pool, in a daemon thread. It stops with a
warm shutdown: Celery's shutdown flag (`celery.worker.state.should_stop`) is checked by the
worker's loop between tasks, so a task in hand finishes first.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from celery.utils.nodenames import anon_nodename
from celery.worker import state as worker_state

from services import queues
from workers.app import celery_app

SHUTDOWN_TIMEOUT_S = 10.0


@contextmanager
def embedded_worker() -> Iterator[None]:
    celery_app.finalize()
    celery_app.set_current()
    celery_app.set_default()
    celery_app.log.setup(loglevel=logging.WARNING)  # once per process: the worker logs warnings only

    ready = threading.Event()
    worker = celery_app.WorkController(
        hostname=anon_nodename(),
        pool="solo",
        concurrency=1,
        loglevel=logging.WARNING,
        queues=list(queues.QUEUES),
        ready_callback=lambda consumer: ready.set(),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    thread = threading.Thread(target=worker.start, name="workmode-embedded-worker", daemon=True)
    thread.start()
    while not ready.wait(0.05):
        if not thread.is_alive():
            raise RuntimeError("the embedded worker stopped while starting; see the log above")
    try:
        yield
    finally:
        worker_state.should_stop = 0  # warm shutdown, exit code 0
        thread.join(SHUTDOWN_TIMEOUT_S)
        worker_state.should_stop = None  # a later embedded worker in this process may start
        if thread.is_alive():
            raise RuntimeError(f"the embedded worker did not stop within {SHUTDOWN_TIMEOUT_S:.0f} s")
