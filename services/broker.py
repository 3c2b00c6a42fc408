"""The Celery app object and sending tasks to it.

`celery_app` is built from the settings when this module is first imported (queues and routes
from `services.queues`). Reliability settings: late acks, requeue on a lost worker, prefetch 1, a
visibility timeout above the hard time limit, separate queues for agent steps, side effects and
housekeeping. The task functions are registered by `workers/app.py` (the worker's entry point);
a process that only sends tasks (the API, the CLI, Slack) sends them by name and never imports
`workers`.
"""
from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from services import queues
from services.config import Settings, get_settings


def make_app() -> Celery:
    settings = get_settings()
    app = Celery("workmode", broker=settings.broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.task_time_limit_s,
        task_soft_time_limit=settings.task_time_limit_s - 30,
        broker_transport_options=_transport_options(settings),
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_queues=[Queue(name) for name in queues.QUEUES],
        task_default_queue=queues.DEFAULT_QUEUE,
        task_routes={name: {"queue": queue} for name, queue in queues.ROUTES.items()},
        beat_schedule={"reconcile": {"task": queues.RECONCILE, "schedule": queues.RECONCILE_EVERY_S},
                       "schedules": {"task": queues.SCHEDULES_TICK, "schedule": queues.SCHEDULES_TICK_EVERY_S}},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


def _transport_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {"visibility_timeout": settings.task_time_limit_s * 2}
    if settings.embedded_broker:
        options["polling_interval"] = 0.05  # in-process queue: poll often, it costs nothing
    return options


celery_app = make_app()


def send_task(name: str, args: list[Any], countdown: float | None = None) -> None:
    """Send task `name` to its queue (`services.queues.queue_of`)."""
    queue = queues.queue_of(name)
    url = get_settings().broker_url
    if url == celery_app.conf.broker_url:
        celery_app.send_task(name, args=args, queue=queue, countdown=countdown)
        return
    # Settings changed after the app was built (tests switching brokers): send on that broker.
    with celery_app.connection_for_write(url) as conn:
        celery_app.send_task(name, args=args, queue=queue, countdown=countdown, connection=conn)
