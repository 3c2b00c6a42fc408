"""The worker's entry point (`celery -A workers.app:celery_app worker`): the Celery app built in
`services.broker`, with the task modules and the worker's /metrics signals registered."""
from __future__ import annotations

from services.broker import celery_app

import workers.metrics  # noqa: F401  (a real worker serves /metrics on WORKMODE_METRICS_PORT)
import workers.notify_tasks  # noqa: F401  (registers the notify task)
import workers.tasks  # noqa: F401  (registers the engine's tasks)

__all__ = ["celery_app"]
