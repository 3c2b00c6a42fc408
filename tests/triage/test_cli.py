"""`workmode triage run --dry-run` and `workmode triage rules`, as real subprocesses on the
embedded defaults (SQLite, sandbox) with the scripted model over HTTP."""
from __future__ import annotations

import os

import pytest

from tests.fakes.model_server import dynamic
from tests.support.cli import workmode_runner
from tests.triage.helpers import classifier


@pytest.fixture
def cli(scripted_model, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_")}
    env.update(WORKMODE_HOME=str(tmp_path / "home"), WORKMODE_MODEL_BASE_URL=scripted_model.url,
               WORKMODE_MODEL_NAME="scripted-model")
    scripted_model.set_default(dynamic(classifier()))

    run = workmode_runner(env)

    run("db", "upgrade")
    run("db", "seed")
    return run


def test_dry_run_and_rules_from_the_command_line(cli, scripted_model):
    added = cli("triage", "rules", "add", "--as", "alex@northwind.example",
                "Newsletters: label Reading and archive").stdout
    key = added.split()[1]
    assert "v1" in added and "'category': 'newsletter'" in added
    assert "after classification" in cli("triage", "rules", "list").stdout

    out = cli("triage", "run", "--as", "alex@northwind.example", "--dry-run", "--days", "7").stdout
    assert out.startswith("Dry run (nothing proposed)")
    # The fixture's Weekly Byte newsletter: the rule fires and shows, with what it would propose.
    block = out.split("The Weekly Byte #212")[1].split("\n- ")[0]
    assert f"rule {key} v1: Newsletters: label Reading and archive" in block
    assert "would propose gmail_modify_labels" in block and "would propose gmail_archive" in block
    assert "workmode approvals" not in out
    assert "no pending approvals" in cli("approvals", "list").stdout or cli("approvals", "list").stdout.strip() == ""

    bad = cli("triage", "rules", "add", "Newsletters label Reading", ok=False)
    assert bad.returncode == 2 and "colon" in bad.stderr
    assert cli("triage", "run", "--days", "3", ok=False).returncode == 2
    assert "removed rule" in cli("triage", "rules", "remove", key).stdout
    assert cli("triage", "rules", "list").stdout.strip() == "no rules"
