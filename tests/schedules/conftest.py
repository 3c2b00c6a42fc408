"""Fixtures for the schedules tests: the CLI through click's runner (`sent` is in tests/conftest.py)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner


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
