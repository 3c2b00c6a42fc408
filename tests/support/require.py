"""One rule for what a test needs from the machine (a browser, the Compose binary, a schema
validator, the demo model): `require(condition, why)`.

Locally a missing requirement skips the test and says how to install it. Under CI (the `CI`
environment variable set, as .ci/run and every common CI service do) it fails the test: CI
installs everything the suite needs, so a missing tool there is a broken CI, and a green run that
quietly tested less would hide it. `fail_skip_in_ci` (tests/conftest.py runs it on every report)
holds the same line for any other skip: a plugin's, a `skipif`, one added later.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def require(condition: object, why: str) -> None:
    """Go on when `condition` holds; else skip locally, fail under CI, with `why`."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"{why} (CI is set: a missing requirement fails the run instead of skipping)", pytrace=False)
    pytest.skip(why)


def require_module(name: str, why: str) -> ModuleType:
    """The imported module `name`, under `require`'s rule when it cannot be imported."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        require(False, f"{why} ({exc})")
        raise  # unreachable: require skipped or failed


def fail_skip_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Under CI, turn a skipped test or collector into a failure that gives the skip's reason."""
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped under CI, where every test must run: {reason}"
