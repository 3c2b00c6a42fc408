"""The suite's one rule for skips (tests/support/require.py): a missing browser, Compose binary,
schema validator or demo model skips a test on a developer's machine, and fails it under CI."""
from __future__ import annotations

import pytest

from tests.support.require import fail_skip_in_ci, require, require_module


@pytest.fixture(params=["true", "1", "yes"])
def ci(request, monkeypatch):
    monkeypatch.setenv("CI", request.param)


@pytest.fixture(params=[None, "", "false", "0"])
def local(request, monkeypatch):
    if request.param is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", request.param)


def test_a_missing_requirement_skips_locally(local):
    require(True, "never seen")
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        require(False, "/usr/bin/chromium is missing: apt-get install -y chromium")
    with pytest.raises(pytest.skip.Exception, match="kubernetes-validate"):
        require_module("no_such_module_for_workmode", "pip install kubernetes-validate")


def test_a_missing_requirement_fails_under_ci(ci):
    require(True, "never seen")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        require(False, "/usr/bin/chromium is missing: apt-get install -y chromium")
    with pytest.raises(pytest.fail.Exception, match="kubernetes-validate"):
        require_module("no_such_module_for_workmode", "pip install kubernetes-validate")
    assert require_module("json", "the standard library").dumps([]) == "[]"


def skipped_report(when: str = "call") -> pytest.TestReport:
    return pytest.TestReport("tests/x.py::test_x", ("tests/x.py", 1, "test_x"), {}, "skipped",
                             ("tests/x.py", 1, "Skipped: no Docker Compose v2"), when)


def test_any_other_skip_fails_under_ci(ci):
    for report in (skipped_report("setup"), skipped_report("call"),
                   pytest.CollectReport("tests/x.py", "skipped", ("tests/x.py", 1, "Skipped: no module"), [])):
        fail_skip_in_ci(report)
        assert report.failed
        assert "skipped under CI" in str(report.longrepr) and "Skipped: no" in str(report.longrepr)


def test_other_skips_stay_skips_locally(local):
    report = skipped_report()
    fail_skip_in_ci(report)
    assert report.skipped


def test_passes_and_expected_failures_are_left_alone_under_ci(ci):
    passed = pytest.TestReport("tests/x.py::test_x", ("tests/x.py", 1, "test_x"), {}, "passed", None, "call")
    fail_skip_in_ci(passed)
    assert passed.passed
    xfailed = skipped_report()
    xfailed.wasxfail = "known bug"
    fail_skip_in_ci(xfailed)
    assert xfailed.skipped
