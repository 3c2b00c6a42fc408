"""schemathesis against /openapi.json: generated requests, valid and invalid, to every operation
of the real app on the real PostgreSQL store (with a real worker running the jobs they create)
never get a server error. Bounded: a fixed number of examples per operation and mode."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from services.config import reset_settings
from tests.fakes.model_server import text
from tests.support.web import api_token

EXAMPLES = 25


@pytest.fixture
def store(pg_store):
    return pg_store


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_no_server_errors(worker, workspace, mode, monkeypatch):
    # Google configured (nothing is sent to Google: starting only builds its URL; callbacks with
    # generated state are refused before any exchange).
    monkeypatch.setenv("WORKMODE_GOOGLE_CLIENT_ID", "test-client.apps.example")
    monkeypatch.setenv("WORKMODE_GOOGLE_CLIENT_SECRET", "test-secret")
    reset_settings()
    # Generated requests create any number of jobs: each gets the same short answer.
    worker.set_default(text("done"))
    from services.api.app import create_app

    app = create_app()
    _, people = workspace
    auth = api_token(people["alex"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    exercised = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            case.call_and_validate(headers=auth, checks=[not_a_server_error])

        try:
            call()
            exercised += 1
        except Unsatisfiable:  # nothing can be wrong about it (e.g. GET /healthz has no inputs)
            assert mode is GenerationMode.NEGATIVE, operation.label
    assert exercised >= 8
