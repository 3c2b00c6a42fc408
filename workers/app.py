"""The Celery app. Reliability settings: late acks, requeue on a lost worker, prefetch 1, a
visibility timeout above the hard time limit, separate queues for agent steps and side effects."""
from __future__ import annotations

from celery import Celery
from kombu import Queue

from services.config import get_settings


def make_app() -> Celery:
    settings = get_settings()
    app = Celery("workmode", broker=settings.broker_url, include=["workers.tasks", "workers.notify_tasks"])
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
        task_queues=[Queue("agent"), Queue("actions"), Queue("maintenance")],
        task_default_queue="agent",
        task_routes={
            "workmode.agent.*": {"queue": "agent"},
            "workmode.actions.*": {"queue": "actions"},
            "workmode.reconcile": {"queue": "maintenance"},
            "workmode.notify.*": {"queue": "maintenance"},
        },
        beat_schedule={"reconcile": {"task": "workmode.reconcile", "schedule": 60.0}},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


def _transport_options(settings) -> dict:
    options: dict = {"visibility_timeout": settings.task_time_limit_s * 2}
    if settings.embedded_broker:
        options["polling_interval"] = 0.05  # in-process queue: poll often, it costs nothing
    return options


celery_app = make_app()
import workers.metrics  # noqa: E402,F401  (a real worker serves /metrics on WORKMODE_METRICS_PORT)
