"""GET /metrics after real jobs: a real embedded worker, the real store (SQLite and PostgreSQL), the
scripted model over HTTP, and the FastAPI router scraped through its HTTP interface."""
from __future__ import annotations

import json
import re

import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from services.api.metrics import metrics_router
from services.config import reset_settings
from tests.fakes.model_server import error, text, tool_calls
from tests.support.jobs import decide_now, pending_action, start, wait_status
from tests.support.paths import repo_root

SEND = ("gmail_send", {"to": ["dana@northwind.example"], "subject": "Hi", "body": "Tuesday works."})


def scrape() -> dict[tuple[str, frozenset], float]:
    app = FastAPI()
    app.include_router(metrics_router())
    response = TestClient(app).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_after_a_job_runs(worker, workspace):
    _, people = workspace
    worker.push(tool_calls(SEND, prompt_tokens=100, completion_tokens=7),
                text("Sent.", prompt_tokens=150, completion_tokens=5))
    before = scrape()
    job_id = start(people["alex"])
    action = pending_action(job_id)

    waiting = scrape()
    assert value(waiting, "workmode_jobs", status="waiting") == 1
    assert value(waiting, "workmode_actions", status="pending") == 1
    assert value(waiting, "workmode_approvals_pending") == 1
    assert ("workmode_approvals_oldest_pending_age_seconds", frozenset()) in waiting

    decide_now(action, people["alex"], decision="approve")
    wait_status(job_id, "completed")
    after = scrape()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "workmode_jobs", status="completed") == 1
    assert value(after, "workmode_jobs", status="waiting") == 0
    assert value(after, "workmode_approvals_pending") == 0
    assert value(after, "workmode_approvals_oldest_pending_age_seconds") == 0
    assert value(after, "workmode_actions", status="succeeded") == 1
    assert delta("workmode_step_duration_seconds_count", outcome="waiting") == 1
    assert delta("workmode_step_duration_seconds_count", outcome="completed") == 1
    assert delta("workmode_model_request_duration_seconds_count", outcome="ok") == 2
    assert delta("workmode_model_tokens_total", direction="in") == 250
    assert delta("workmode_model_tokens_total", direction="out") == 12
    assert delta("workmode_action_outcomes_total", outcome="succeeded") == 1
    assert value(after, "workmode_metrics_source_up", source="store") == 1


def test_model_errors_are_counted_by_kind(worker, workspace):
    _, people = workspace
    worker.push(error(503), error(429, retry_after=0), text("Done."))
    before = scrape()
    wait_status(start(people["alex"], prompt="Say done"), "completed")
    after = scrape()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("workmode_model_errors_total", kind="server_error") == 1
    assert delta("workmode_model_errors_total", kind="rate_limited") == 1
    assert delta("workmode_model_request_duration_seconds_count", outcome="error") == 2
    assert delta("workmode_model_request_duration_seconds_count", outcome="ok") == 1


def test_queue_depth_is_read_from_redis(pg_store, redis_url, monkeypatch):
    monkeypatch.setenv("WORKMODE_BROKER_URL", redis_url)
    reset_settings()
    from services.broker import make_app

    app = make_app()
    try:
        for i in range(3):
            app.send_task("workmode.agent.advance", args=[f"job-{i}", 0])
        app.send_task("workmode.actions.execute", args=["action-1"])
    finally:
        app.close()
    samples = scrape()
    assert value(samples, "workmode_queue_depth", queue="agent") == 3
    assert value(samples, "workmode_queue_depth", queue="actions") == 1
    assert value(samples, "workmode_queue_depth", queue="maintenance") == 0
    assert value(samples, "workmode_metrics_source_up", source="broker") == 1


def test_unreachable_store_and_broker_still_answer(monkeypatch):
    monkeypatch.setenv("WORKMODE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/nothing?connect_timeout=2")
    monkeypatch.setenv("WORKMODE_BROKER_URL", "redis://127.0.0.1:9/0")
    reset_settings()
    samples = scrape()
    assert value(samples, "workmode_metrics_source_up", source="store") == 0
    assert value(samples, "workmode_metrics_source_up", source="broker") == 0
    assert ("workmode_jobs", frozenset({("status", "queued")})) not in samples  # no made-up zeros


def exposed_names() -> set[str]:
    """Every series name /metrics can serve (histogram and counter suffixes included)."""
    from prometheus_client import REGISTRY

    from services.api.metrics import STATE_REGISTRY

    suffixes = {"histogram": ("_bucket", "_count", "_sum"), "counter": ("_total",), "gauge": ("",)}
    names = set()
    for registry in (REGISTRY, STATE_REGISTRY):
        for family in registry.collect():
            names.update(family.name + s for s in suffixes.get(family.type, ("",)))
    return names


def test_dashboard_and_alerts_only_use_series_that_exist(pg_store, redis_url, monkeypatch):
    monkeypatch.setenv("WORKMODE_BROKER_URL", redis_url)
    reset_settings()
    names = exposed_names()
    root = repo_root() / "infra"
    dashboard = json.loads((root / "grafana" / "workmode-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    alerts = yaml.safe_load((root / "prometheus" / "alerts.yml").read_text())
    exprs += [r["expr"] for g in alerts["groups"] for r in g["rules"]]
    used = {m for e in exprs for m in re.findall(r"\bworkmode_[a-z_]+", e)}
    assert used, "the dashboard shows no Workmode series"
    assert used <= names, f"not exposed by /metrics: {sorted(used - names)}"
    # Every Workmode series has a panel.
    families = {n for n in names if n.startswith("workmode_")}
    shown = {re.sub(r"_(bucket|count|sum|total)$", "", u) for u in used}
    missing = {re.sub(r"_(bucket|count|sum|total)$", "", n) for n in families} - shown
    assert not missing, f"no dashboard panel for {sorted(missing)}"
