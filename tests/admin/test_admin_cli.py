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
