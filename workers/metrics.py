"""A Celery worker's own /metrics, on WORKMODE_METRICS_PORT (0: off).

Tasks run in the worker's pool processes, so counters are kept in prometheus-client's
multiprocess mode: `celeryd_init` (in the main process, before the pool forks and before
prometheus_client is imported) points PROMETHEUS_MULTIPROC_DIR at an empty directory; every process writes its
counters there; `worker_ready` starts an HTTP server in the main process that adds them up.
Only a real `celery worker` sends `celeryd_init`: the embedded worker (demo, tests) serves none.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

from celery import signals

from services.config import get_settings

log = logging.getLogger(__name__)
_ENV = "PROMETHEUS_MULTIPROC_DIR"


@signals.celeryd_init.connect
def prepare_multiprocess_dir(**_) -> None:
    settings = get_settings()
    if not settings.metrics_port:
        return
    directory = Path(settings.metrics_dir or tempfile.mkdtemp(prefix="workmode-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # files of a previous run would be added to this one's
        stale.unlink()
    os.environ[_ENV] = str(directory)
    if "prometheus_client" in sys.modules:  # it picks its value store when first imported
        log.warning("prometheus_client was imported before multiprocess mode was on; "
                    "pool processes' counters may be missing from this worker's /metrics")


@signals.worker_ready.connect
def serve_metrics(**_) -> None:
    settings = get_settings()
    if not settings.metrics_port or not os.environ.get(_ENV):
        return
    from prometheus_client import start_http_server

    from services.metrics import process_registry

    start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=process_registry())
    log.info("worker metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)
