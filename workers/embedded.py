"""The embedded default: broker `memory://`, and a worker running in a thread of this process
(the same tasks and code path as a real worker, without Redis).

The worker is Celery's own `WorkController` (what `celery worker` runs, without the process-level
parts: signal handlers, banner, pid file) with the solo pool, in a daemon thread. It stops with a
warm shutdown: Celery's shutdown flag (`celery.worker.state.should_stop`) is checked by the
worker's loop between tasks, so a task in hand finishes first.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from celery.utils.nodenames import anon_nodename
from celery.worker import state as worker_state

from services import queues
from workers.app import celery_app

SHUTDOWN_TIMEOUT_S = 10.0
QUIET_POLL_S = 0.02

# The worker running in this process, if any. Celery's shutdown flag is process-wide (it would stop
# every worker here), so there is at most one: a nested `embedded_worker()` uses it and stops nothing.
_running: threading.Thread | None = None


@contextmanager
def embedded_worker() -> Iterator[None]:
    """This process's worker for the duration: started here, or the one already running."""
    global _running
    if _running is not None and _running.is_alive():
        yield
        return
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
    _running = thread
    try:
        yield
    finally:
        worker_state.should_stop = 0  # warm shutdown, exit code 0
        thread.join(SHUTDOWN_TIMEOUT_S)
        worker_state.should_stop = None  # a later embedded worker in this process may start
        _running = None
        if thread.is_alive():
            raise RuntimeError(f"the embedded worker did not stop within {SHUTDOWN_TIMEOUT_S:.0f} s")


def quiesce(limit_s: float = 20.0) -> bool:
    """Leave this process's worker idle with nothing pending: the task in hand finishes, what waits
    in the embedded broker's queues is dropped, and what the worker holds for later (a countdown, a
    Retry-After) is revoked. For a caller that is done with the store those tasks belong to (an eval
    task's sandbox, a test's database) before it points the settings elsewhere: a task left behind
    would otherwise run against the next store. Returns False if a task was still running at the limit.
    """
    if _running is None:
        _purge_queues()  # no worker here: nothing in hand or held, only what waits in the queues
        return True
    deadline = time.monotonic() + limit_s
    quiet_polls = 0
    while quiet_polls < 2:  # idle twice in a row: a finishing task may have queued one more
        dropped = _purge_queues()
        held = [r for r in worker_state.reserved_requests if r not in worker_state.active_requests]
        for request in held:
            worker_state.revoked.add(request.id)  # the worker skips it when it comes due
        busy = bool(worker_state.active_requests)
        quiet_polls = 0 if busy or dropped else quiet_polls + 1
        if busy and time.monotonic() > deadline:
            return False
        if quiet_polls < 2:
            time.sleep(QUIET_POLL_S)
    return True


def _purge_queues() -> int:
    if not celery_app.conf.broker_url.startswith("memory://"):
        return 0  # only the in-process queues are this process's to empty
    dropped = 0
    with celery_app.connection_for_write() as conn:
        for name in queues.QUEUES:
            with contextlib.suppress(Exception):  # a queue never declared has nothing to purge
                dropped += conn.default_channel.queue_purge(name) or 0
    return dropped
