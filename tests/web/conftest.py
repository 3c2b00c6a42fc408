"""The API, web and browser tests let the embedded worker finish after each test (`settle`). Their
other fixtures (`app`, `client`, `other_org`) are shared with tests/digest, in tests/conftest.py."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _settled(settle):
    """Every test here settles (tests/conftest.py `settle`)."""
