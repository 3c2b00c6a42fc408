"""Fixtures of the eval tests: an empty migrated SQLite store (the checker tests seed it themselves)."""
from __future__ import annotations

import pytest

from services.store.db import dispose_engines
from tests.support.db import use_database


@pytest.fixture
def sqlite_store(sqlite_url, monkeypatch):
    yield use_database(sqlite_url, monkeypatch)
    dispose_engines()
