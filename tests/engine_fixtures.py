"""Fixtures for engine tests: a seeded sandbox workspace, the scripted model, an embedded worker."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from services.config import reset_settings
from services.store.db import get_engine
from services.store.models import Principal


@pytest.fixture
def workspace(store):
    from connectors.sandbox.seed import seed_workspace

    with Session(get_engine(), expire_on_commit=False) as s:
        org = seed_workspace(s)
        s.commit()
        people = {p.email.split("@")[0]: p for p in s.exec(select(Principal))}
    return org, people


@pytest.fixture
def fast_model(monkeypatch):
    """Tiny backoffs so retry paths run quickly."""
    monkeypatch.setenv("WORKMODE_MODEL_BACKOFF_BASE_S", "0.01")
    monkeypatch.setenv("WORKMODE_MODEL_BACKOFF_MAX_S", "0.05")
    monkeypatch.setenv("WORKMODE_MODEL_MAX_RETRIES", "2")
    monkeypatch.setenv("WORKMODE_MODEL_TIMEOUT_S", "2")
    # Scripts say which turn comes first; tests of the plan-first rule turn it back on.
    monkeypatch.setenv("WORKMODE_PLAN_FIRST", "false")
    reset_settings()


@pytest.fixture(scope="session")
def embedded():
    """A real Celery worker (solo pool) in a thread of this process, on the embedded broker.
    Shared by the tests: tasks read the settings and the store at run time."""
    from workers.embedded import embedded_worker

    with embedded_worker():
        yield


@pytest.fixture
def worker(embedded, workspace, scripted_model, fast_model):
    yield scripted_model
