"""Fixtures for the schedules tests: the tasks sent (by name), and the CLI through click's runner."""
from __future__ import annotations

import contextlib

import pytest
from celery.signals import before_task_publish
from click.testing import CliRunner


@pytest.fixture
def sent():
    """(task name, args) of every task published while the test runs."""
    tasks: list[tuple[str, list]] = []

    def record(sender=None, body=None, **_kw):
        args = body[0] if isinstance(body, (list, tuple)) else (body or {}).get("args", [])
        tasks.append((sender, list(args)))

    before_task_publish.connect(record, weak=False)
    yield tasks
    before_task_publish.disconnect(record)
    _purge()


def _purge() -> None:
    """Drop what these tests published: nothing here consumes the triage tasks, and a worker started
    later (the session's embedded one) must not run them against another test's store."""
    from services import queues
    from services.broker import celery_app

    with celery_app.connection_for_write() as conn:
        for name in queues.QUEUES:
            with contextlib.suppress(Exception):  # a queue never declared has nothing to purge
                conn.default_channel.queue_purge(name)


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
