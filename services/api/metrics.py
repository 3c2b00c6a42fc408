"""GET /metrics: this process's counters (services.metrics) plus gauges read at scrape time from
the job store and the broker (not counted in code, so they are right after restarts and across any
number of workers). Served by the API only: one small query per scrape, not one per worker. A source
that cannot be read is reported as `workmode_metrics_source_up{source} 0`, and the scrape still
succeeds."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from prometheus_client import generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlmodel import Session, col

from services import queues
from services.config import get_settings
from services.metrics import process_registry
from services.store.db import get_engine
from services.store.models import Action, ActionStatus, Job, JobStatus, utcnow

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

# kombu's Redis transport keeps a queue's priority levels in extra lists: "<queue>\x06\x16<n>".
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
_redis_clients: dict[str, redis.Redis] = {}


def _aware(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _counts(s: Session, status: Any) -> dict[str, int]:
    """Rows per status of one table."""
    return {row[0]: row[1] for row in s.execute(select(status, func.count()).group_by(status))}


def store_families() -> list[GaugeMetricFamily]:
    with Session(get_engine()) as s:
        jobs = _counts(s, col(Job.status))
        actions = _counts(s, col(Action.status))
        pending, oldest = s.execute(select(func.count(), func.min(col(Action.created_at)))
                                    .where(col(Action.status) == ActionStatus.pending)).one()
    job_g = GaugeMetricFamily("workmode_jobs", "Jobs in the store by status", labels=["status"])
    for job_status in JobStatus:
        job_g.add_metric([job_status.value], jobs.get(job_status.value, 0))
    action_g = GaugeMetricFamily("workmode_actions", "Actions in the store by status", labels=["status"])
    for action_status in ActionStatus:
        action_g.add_metric([action_status.value], actions.get(action_status.value, 0))
    oldest_at = _aware(oldest)
    age = max(0.0, (utcnow() - oldest_at).total_seconds()) if oldest_at else 0.0
    return [
        job_g,
        action_g,
        GaugeMetricFamily("workmode_approvals_pending", "Actions waiting for a person's decision", value=pending),
        GaugeMetricFamily("workmode_approvals_oldest_pending_age_seconds",
                          "Age of the oldest pending approval (0 when none)", value=age),
    ]


def queue_names() -> list[str]:
    return list(queues.QUEUES)


def broker_families() -> list[GaugeMetricFamily]:
    url = get_settings().broker_url
    if not url.startswith(("redis://", "rediss://")):
        return []  # the embedded broker lives inside another process; nothing to read here
    client = _redis_clients.get(url)
    if client is None:
        import redis

        client = _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    names = queue_names()
    pipe = client.pipeline(transaction=False)
    for name in names:
        for suffix in _PRIORITY_SUFFIXES:
            pipe.llen(name + suffix)
    lengths = pipe.execute()
    depth = GaugeMetricFamily("workmode_queue_depth", "Tasks waiting in each Celery queue (Redis)", labels=["queue"])
    step = len(_PRIORITY_SUFFIXES)
    for i, name in enumerate(names):
        depth.add_metric([name], sum(lengths[i * step:(i + 1) * step]))
    return [depth]


class StateCollector(Collector):
    SOURCES: ClassVar[dict[str, Callable[[], list[GaugeMetricFamily]]]] = {
        "store": store_families, "broker": broker_families}

    def collect(self):
        up = GaugeMetricFamily("workmode_metrics_source_up", "1 if the source could be read for this scrape",
                               labels=["source"])
        for source, read in self.SOURCES.items():
            try:
                yield from read()
                up.add_metric([source], 1)
            except Exception as exc:  # reported as a metric and logged; the scrape goes on
                log.warning("metrics: cannot read %s: %s: %s", source, type(exc).__name__, exc)
                up.add_metric([source], 0)
        yield up

    def describe(self):
        return []  # collected only at scrape time; never at registration


STATE_REGISTRY = CollectorRegistry(auto_describe=False)
STATE_REGISTRY.register(StateCollector())


def exposition(*, state: bool = True) -> bytes:
    """The text exposition: this process's metrics, plus the store and broker gauges."""
    body = generate_latest(process_registry())
    if state:
        body += generate_latest(STATE_REGISTRY)
    return body


def metrics_router():
    """A FastAPI router serving GET /metrics: `app.include_router(metrics_router())`."""
    from fastapi import APIRouter
    from fastapi.responses import Response
    from prometheus_client import CONTENT_TYPE_LATEST

    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:  # sync: the store query runs in the threadpool
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    return router
