"""Fixtures for the schedules tests: the tasks sent (by name), and the CLI through click's runner."""
from __future__ import annotations

import pytest
from celery.signals import before_task_publish
from click.testing import CliRunner

from services.config import reset_settings


@pytest.fixture
def sent(redis_url, monkeypatch):
    """(task name, args) of every task published while the test runs. They go to Redis, where no
    worker listens (this process's embedded worker takes the in-process queues): the tests look at
    what was sent, and nothing runs it."""
    tasks: list[tuple[str, list]] = []

    def record(sender=None, body=None, **_kw):
        args = body[0] if isinstance(body, (list, tuple)) else (body or {}).get("args", [])
        tasks.append((sender, list(args)))

    monkeypatch.setenv("WORKMODE_BROKER_URL", redis_url)
    reset_settings()
    before_task_publish.connect(record, weak=False)
    yield tasks
    before_task_publish.disconnect(record)


@pytest.fixture
def cli():
    from services.cli import main

    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run
