"""Finding 2: a settings error names the setting and the rule, never a value. pydantic's own
message repeats the input (`input_value=…`), and for a rule about the whole model that input is
every setting, secrets included. Checked in the library and in what the commands print."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from services.config import Settings, SettingsInvalid
from tests.support.paths import ROOT

CANARY = "canary-signing-secret-7f3a9c"


@pytest.fixture
def canary(monkeypatch):
    monkeypatch.setenv("WORKMODE_SLACK_SIGNING_SECRET", CANARY)
    monkeypatch.setenv("WORKMODE_JIRA_API_TOKEN", CANARY + "-jira")
    return CANARY


def everything_printed(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc)


def test_a_rule_about_the_whole_model_shows_no_other_setting(canary, monkeypatch):
    monkeypatch.setenv("WORKMODE_ENVIRONMENT", "production")
    monkeypatch.setenv("WORKMODE_SECRET_KEY", "short-key-value")
    with pytest.raises(SettingsInvalid) as refused:
        Settings()
    printed = everything_printed(refused.value)
    assert "WORKMODE_SECRET_KEY" in printed
    assert canary not in printed and "short-key-value" not in printed and "input_value" not in printed


def test_a_broken_setting_is_named_without_its_value(canary, monkeypatch):
    monkeypatch.setenv("WORKMODE_MODEL_TIMEOUT_S", "twelve-and-a-bit")
    monkeypatch.setenv("WORKMODE_ENVIRONMENT", "staging-value")
    with pytest.raises(SettingsInvalid) as refused:
        Settings()
    printed = everything_printed(refused.value)
    assert "WORKMODE_MODEL_TIMEOUT_S: Input should be a valid number" in printed
    assert "WORKMODE_ENVIRONMENT: Input should be 'development', 'test' or 'production'" in printed
    for value in (canary, "twelve-and-a-bit", "staging-value", "input_value"):
        assert value not in printed


BROKEN = {  # a rule about the whole model (the key), and one setting of the wrong type
    "WORKMODE_SECRET_KEY": {"WORKMODE_SECRET_KEY": "short-key-value"},
    "WORKMODE_QUEUED_STALE_S": {"WORKMODE_QUEUED_STALE_S": "soon-ish"},
}


@pytest.mark.parametrize("broken", list(BROKEN))
@pytest.mark.parametrize("command", [["api"], ["worker"], ["jobs", "list"]])
def test_commands_print_the_rule_and_no_value(command, broken, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_")}
    env.update(WORKMODE_HOME=str(tmp_path / "home"), WORKMODE_ENVIRONMENT="production",
               WORKMODE_SECRET_KEY=secrets.token_urlsafe(48), WORKMODE_SLACK_SIGNING_SECRET=CANARY,
               WORKMODE_MODEL_API_KEY=CANARY + "-model")
    env.update(BROKEN[broken])
    proc = subprocess.run([str(Path(sys.executable).parent / "workmode"), *command], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    printed = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"{broken}: " in printed, printed
    for value in (CANARY, "short-key-value", "soon-ish", "input_value"):
        assert value not in printed, printed
