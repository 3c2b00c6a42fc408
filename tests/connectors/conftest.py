"""Fixtures for the connector tests: the seeded sandbox world (tests/support/sandbox.py)."""
from __future__ import annotations

import pytest

from tests.support.sandbox import World


@pytest.fixture
def world(store):
    w = World()
    yield w
    w.close()
