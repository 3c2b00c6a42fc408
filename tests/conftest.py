"""Shared fixtures: the real PostgreSQL and SQLite stores, real Redis, environment isolation.

`store` is parametrised over both backends: a test that takes it runs on SQLite and PostgreSQL.
Each backend's database is created and migrated once per test session (`workmode db upgrade`'s
code path), and every table is emptied before each test.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

# The suite never depends on the shell it runs in: WORKMODE_* variables are cleared before any
# Workmode module reads them. In particular the Celery app (workers.app) is bound here, once, to
# the embedded broker; tests that need Redis send to it explicitly (services/dispatch.py).
for _key in [k for k in os.environ if k.startswith("WORKMODE_")]:
    del os.environ[_key]
import workers.app  # noqa: E402,F401

from connectors.sandbox import models as sandbox_models  # noqa: E402,F401  (every table on SQLModel.metadata)
from services.config import reset_settings
from services.store import models  # noqa: E402,F401
from services.store.db import dispose_engines, get_engine

pytest_plugins = ["tests.fakes.model_server", "tests.engine_fixtures"]

PG_ADMIN_URL = os.environ.get("WORKMODE_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("WORKMODE_TEST_REDIS", "redis://127.0.0.1:6379/15")

# Nothing in the test run may reach a real model endpoint: every test that needs a model starts
# the scripted server in tests/fakes and points WORKMODE_MODEL_BASE_URL at it.
_GUARD_MODEL_URL = "http://127.0.0.1:9/unreachable-real-model-guard/v1"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("WORKMODE_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WORKMODE_ENVIRONMENT", "test")
    monkeypatch.setenv("WORKMODE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKMODE_MODEL_BASE_URL", _GUARD_MODEL_URL)
    monkeypatch.setenv("OPENAI_API_KEY", "guard")
    reset_settings()
    yield
    reset_settings()
    dispose_engines()


@pytest.fixture(scope="session")
def pg_url():
    name = f"workmode_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'workmode.db'}"


_MIGRATED: set[str] = set()


def use_database(url: str, monkeypatch) -> str:
    """Point the settings at `url`, migrate it once per session, empty every table."""
    monkeypatch.setenv("WORKMODE_DATABASE_URL", url)
    reset_settings()
    dispose_engines()
    if url not in _MIGRATED:
        from services.store.migrate import upgrade

        upgrade()
        _MIGRATED.add(url)
    engine = get_engine()
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, monkeypatch):
    """A migrated, empty job store on each backend. Yields the database URL."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    yield use_database(url, monkeypatch)
    dispose_engines()


@pytest.fixture
def pg_store(pg_url, monkeypatch):
    """PostgreSQL only (tests that need a real worker process and Redis)."""
    yield use_database(pg_url, monkeypatch)
    dispose_engines()


@pytest.fixture
def redis_url():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent

