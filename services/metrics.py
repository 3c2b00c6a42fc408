"""Prometheus metrics (prometheus-client).

Counted where things happen (a line in the engine each):
    workmode_step_duration_seconds{outcome}            agent steps (runner)
    workmode_model_request_duration_seconds{outcome}   one HTTP request to the model server (ok | error)
    workmode_model_tokens_total{direction}             tokens in (prompt) and out (completion)
    workmode_model_errors_total{kind}                  timeout | connection | rate_limited | server_error
                                                       | rejected | invalid_response | other
    workmode_action_outcomes_total{outcome}            executed actions: succeeded | failed | in_doubt
Read from the store and the broker at scrape time (services/api/metrics.py, served by the API):
    workmode_jobs{status}, workmode_actions{status}, workmode_approvals_pending,
    workmode_approvals_oldest_pending_age_seconds, workmode_queue_depth{queue},
    workmode_metrics_source_up{source}

The API serves everything on GET /metrics (services.api.metrics.metrics_router()); Celery workers serve their own
counters on WORKMODE_METRICS_PORT (workers/metrics.py, prometheus multiprocess mode).
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)

STEP_SECONDS = Histogram("workmode_step_duration_seconds", "One agent step (model turn and tool calls), by outcome",
                         ["outcome"], buckets=_LATENCY_BUCKETS)
MODEL_SECONDS = Histogram("workmode_model_request_duration_seconds",
                          "One request to the model server (each retry counts), ok or error",
                          ["outcome"], buckets=_LATENCY_BUCKETS)
MODEL_TOKENS = Counter("workmode_model_tokens", "Model tokens: in = prompt, out = completion", ["direction"])
MODEL_ERRORS = Counter("workmode_model_errors", "Failed model requests, by kind", ["kind"])
ACTION_OUTCOMES = Counter("workmode_action_outcomes", "Executed actions by final outcome", ["outcome"])


def observe_step(outcome: str, started: float) -> None:
    """`started` is a time.perf_counter() reading taken before the step."""
    STEP_SECONDS.labels(outcome=outcome).observe(time.perf_counter() - started)


@contextmanager
def model_request() -> Iterator[None]:
    """Times one model HTTP request; a failure is counted by kind and re-raised."""
    started = time.perf_counter()
    try:
        yield
    except Exception as exc:
        MODEL_SECONDS.labels(outcome="error").observe(time.perf_counter() - started)
        MODEL_ERRORS.labels(kind=error_kind(exc)).inc()
        raise
    MODEL_SECONDS.labels(outcome="ok").observe(time.perf_counter() - started)


def error_kind(exc: BaseException) -> str:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429:
            return "rate_limited"
        return "server_error" if exc.status_code >= 500 else "rejected"
    if isinstance(exc, openai.APIResponseValidationError):
        return "invalid_response"
    return "other"


def step_histogram() -> dict[str, Any]:
    """This process's agent-step histogram (`workmode_step_duration_seconds`, all outcomes together):
    cumulative counts per upper bound, the count and the sum of seconds. Two readings taken around a
    piece of work give that work's steps (services.evals.report.step_latency)."""
    buckets: dict[float, float] = {}
    count = total = 0.0
    for metric in STEP_SECONDS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_bucket"):
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + sample.value
            elif sample.name.endswith("_count"):
                count += sample.value
            elif sample.name.endswith("_sum"):
                total += sample.value
    return {"buckets": sorted(buckets.items()), "count": count, "sum": total}


def count_tokens(prompt_tokens: int, completion_tokens: int) -> None:
    MODEL_TOKENS.labels(direction="in").inc(max(0, prompt_tokens))
    MODEL_TOKENS.labels(direction="out").inc(max(0, completion_tokens))


def action_settled(status: str) -> None:
    ACTION_OUTCOMES.labels(outcome=str(status)).inc()


# -- exposition --------------------------------------------------------------------------------

def process_registry() -> CollectorRegistry:
    """This process's metrics; all processes' when prometheus multiprocess mode is on."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY
