"""`workmode org|users|policy|audit` as real subprocesses against PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.reconcile import reconcile
from tests.admin.test_reminders import waiting
from tests.support.jobs import actions, kinds, last_tool_result, wait_status
from tests.support.paths import ROOT


@pytest.fixture
def wm(pg_store, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_")}
    env.update(WORKMODE_HOME=str(tmp_path / "home"), WORKMODE_DATABASE_URL=pg_store)

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(Path(sys.executable).parent / "workmode"), *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        if ok:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    return run


def test_org_users_policy_and_audit_export(wm):
    assert "Created Acme (acme.example, acme.io)" in wm("org", "create", "Acme", "--domain", "acme.example",
                                                      "--domain", "ACME.io").stdout
    assert "already exists" in wm("org", "create", "Acme", "--domain", "x.example", ok=False).stderr
    wm("users", "add", "Ann@acme.example", "--org", "Acme", "--role", "admin", "--name", "Ann", "--tz", "Europe/London")
    wm("users", "add", "bob@acme.example", "--org", "Acme", "--slack-id", "U0BOB")
    bad = wm("users", "add", "eve@elsewhere.example", "--org", "Acme", ok=False)
    assert bad.returncode == 2 and "not in Acme's domains" in bad.stderr
    assert "not an IANA time zone" in wm("users", "add", "c@acme.example", "--org", "Acme", "--tz", "Mars/Base",
                                         ok=False).stderr
    assert "Acme\tacme.example, acme.io\t2 active" in wm("org", "list").stdout
    listed = wm("users", "list", "--org", "Acme").stdout
    assert "ann@acme.example\tAnn\tAcme\tadmin\tactive" in listed and "bob@acme.example" in listed
    assert "bob@acme.example is now approver." in wm("users", "role", "bob@acme.example", "approver").stdout
    assert "role:         approver" in wm("users", "show", "bob@acme.example").stdout

    shown = json.loads(wm("policy", "set", "--org", "Acme", "--approvers", "ann@acme.example,bob@acme.example",
                          "--auto-approve", "calendar_create_event", "--connector", "mail=gmail",
                          "--allow-domain", "partner.example", "--egress-mode", "block", "--approval-ttl", "2h",
                          "--remind-after", "30m", "--remind-before-expiry", "1h", "--summary-hour", "8",
                          "--reasoning-effort", "none", "--jit", "on").stdout)
    assert shown["approvers"] == ["ann@acme.example", "bob@acme.example"]
    assert shown["connectors"]["mail"] == "gmail" and shown["egress"] == {"allowed_domains": ["partner.example"],
                                                                          "mode": "block"}
    assert shown["approval_ttl_s"] == 7200 and shown["reminders"] == {"after_s": 1800, "before_expiry_s": 3600,
                                                                      "summary_hour": 8}
    assert shown["reasoning_effort"] == "none" and shown["jit_sign_in"] is True
    assert json.loads(wm("policy", "show", "--org", "Acme").stdout) == shown
    refused = wm("policy", "set", "--org", "Acme", "--auto-approve", "gmail_search", ok=False)
    assert "not a write tool" in refused.stderr
    assert "no mail tools" in wm("policy", "set", "--org", "Acme", "--connector", "mail=jira", ok=False).stderr
    assert "a duration like" in wm("policy", "set", "--org", "Acme", "--approval-ttl", "soon", ok=False).stderr

    out = wm("users", "deactivate", "bob@acme.example").stdout
    assert "Deactivated bob@acme.example" in out
    assert "already deactivated" in wm("users", "deactivate", "bob@acme.example", ok=False).stderr
    assert "last admin" in wm("users", "deactivate", "ann@acme.example", ok=False).stderr

    rows = [json.loads(line) for line in wm("audit", "export", "--since", "2000-01-01").stdout.splitlines()]
    kinds = [r["kind"] for r in rows]
    assert kinds == ["org_created", "person_added", "person_added", "role_changed", "policy_changed",
                     "person_deactivated"]
    change = rows[4]
    assert change["actor_id"] == "cli" and change["at"]
    assert change["data"]["changes"]["approval_ttl_s"] == {"before": None, "after": 7200}
    table = list(csv.DictReader(io.StringIO(wm("audit", "export", "--since", "2000-01-01", "--format", "csv").stdout)))
    assert [r["kind"] for r in table] == kinds and json.loads(table[-1]["data"])["schedules"] == 0
    assert wm("audit", "export", "--since", "2999-01-01").stdout == ""
    assert "a date or time like" in wm("audit", "export", "--since", "yesterday", ok=False).stderr


def test_deactivating_the_requester_with_no_approver_left_expires_their_approvals(wm, worker, workspace):
    org, people = workspace
    wm("policy", "set", "--org", org.name, "--approvers", "")  # no one named, and no one by role: only the
    for who in ("alex", "dana"):                               # requester may decide their approvals
        assert "is now member" in wm("users", "role", f"{who}@northwind.example", "member").stdout
    action = waiting(worker, people["priya"], answer="The approval expired, so the mail to Dana was not sent.")

    out = wm("users", "deactivate", "priya@northwind.example").stdout
    assert "0 approval(s) handed to the approvers, 1 expired." in out
    (ended,) = actions(action.job_id)
    assert ended.status == "expired" and ended.decided_via == "system"
    assert "approval_expired" in kinds(action.job_id) and "approval_reassigned" not in kinds(action.job_id)
    reconcile(stale_s=0)  # the CLI's own in-memory broker ended with it: the reconciler resumes the job
    wait_status(action.job_id, "completed")
    assert "expired without a decision" in last_tool_result(worker.requests[-1])  # the job's model was told

    rows = [json.loads(line) for line in wm("audit", "export", "--since", "2000-01-01").stdout.splitlines()]
    (expired,) = [r for r in rows if r["kind"] == "approval_expired"]
    assert expired["action_id"] == action.id and expired["data"]["requester_id"] == people["priya"].id
    (gone,) = [r for r in rows if r["kind"] == "person_deactivated"]
    assert gone["actor_id"] == "cli" and gone["data"]["expired"] == 1 and gone["data"]["reassigned"] == 0
    assert not [r for r in rows if r["kind"] == "approval_reassigned"]
