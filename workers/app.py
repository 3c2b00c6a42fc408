"""The worker's entry point (`celery -A workers.app:celery_app worker`): the Celery app built in
`services.broker`, with the task modules and the worker's /metrics signals registered."""
from __future__ import annotations

import workers.metrics
import workers.notify_tasks
import workers.tasks  # noqa: F401  (registers the engine's tasks)
from services.broker import celery_app

__all__ = ["celery_app"]
