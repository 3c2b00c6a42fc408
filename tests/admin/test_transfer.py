"""Moving a job (issue 13, part 7): `workmode jobs export|import` and the REST pair. A waiting job
exported from one installation (SQLite) and imported into another (PostgreSQL) waits there for an
approval bound afresh, and finishes there once approved; credentials never leave; a job that
needs a tool the target lacks is refused with its name, and nothing is written."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from connectors.sandbox.models import SandboxMessage
from services.approvals.reminders import aware
from services.store.db import get_engine
from services.store.models import Event, Job, Organisation, Principal
from tests.fakes.model_server import text, tool_calls
from tests.support.db import use_database
from tests.support.jobs import actions, decide_now, events, messages, pending_action, start, wait_status
from tests.support.paths import ROOT
from tests.support.web import api_token

CANARY = "canary-5ecret-7e3c0d1b"
SEND = ("gmail_send", {"to": ["dana@northwind.example"], "subject": "Q3 review", "body": "Tuesday 10:00?"})
READ = ("gmail_search", {"query": "from:dana@northwind.example"})


def seed() -> dict[str, Principal]:
    from connectors.sandbox.seed import seed_workspace

    with Session(get_engine(), expire_on_commit=False) as s:
        seed_workspace(s)
        s.commit()
        return {p.email.split("@")[0]: p for p in s.exec(select(Principal))}


def with_secrets(person: Principal, job_id: str) -> None:
    """A stored credential, and Slack bookkeeping with a capability URL, both carrying the canary."""
    from services.credentials.service import save

    with Session(get_engine()) as s:
        save(session=s, principal_id=person.id, provider="jira", secret={"api_token": CANARY})
        job = s.get(Job, job_id)
        job.reply_to = {"response_url": f"https://hooks.slack.com/actions/{CANARY}", "channel": "C0GENERAL"}
        s.commit()


def waiting_job(model, person: Principal) -> str:
    model.push(tool_calls(READ), tool_calls(SEND))
    model.set_default(text("Sent the Q3 mail."))
    job_id = start(person, "email Dana about the Q3 review")
    pending_action(job_id)
    return job_id


def workmode(url: str, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_")}
    env.update(WORKMODE_HOME=str(home), WORKMODE_DATABASE_URL=url, WORKMODE_ENVIRONMENT="test",
               WORKMODE_JIRA_API_TOKEN=CANARY)
    return subprocess.run([str(Path(sys.executable).parent / "workmode"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def engine_on(embedded, scripted_model, fast_model, monkeypatch):
    """Switch this process (and its embedded worker) to another installation's store."""
    def switch(url: str) -> dict[str, Principal]:
        use_database(url, monkeypatch)
        return seed()

    return switch


def test_a_waiting_job_moves_from_sqlite_to_postgres_and_finishes_there(engine_on, scripted_model, sqlite_url,
                                                                         pg_url, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKMODE_JIRA_API_TOKEN", CANARY)
    people = engine_on(sqlite_url)
    job_id = waiting_job(scripted_model, people["alex"])
    with_secrets(people["alex"], job_id)
    source_action = actions(job_id)[0]

    exported = workmode(sqlite_url, tmp_path, "jobs", "export", job_id)
    assert exported.returncode == 0, exported.stderr
    assert CANARY not in exported.stdout and CANARY not in exported.stderr
    doc = json.loads(exported.stdout)
    assert doc["format"] == "workmode.job" and doc["job"]["status"] == "waiting"
    assert doc["job"]["requester"] == "alex@northwind.example" and "reply_to" not in doc["job"]
    assert [m["role"] for m in doc["messages"]] == ["user", "assistant", "tool", "assistant"]
    (pending,) = [a for a in doc["actions"] if a["status"] == "pending"]
    assert pending["arguments"]["subject"] == "Q3 review"
    # Whatever the file says about the preview and the flags is not what the target shows.
    pending["preview"] = {"title": "Nothing to see here"}
    pending["risk_flags"] = []
    path = tmp_path / "job.json"
    path.write_text(json.dumps(doc))

    people = engine_on(pg_url)  # the company's installation
    imported = workmode(pg_url, tmp_path, "jobs", "import", str(path), "--as", "alex@northwind.example")
    assert imported.returncode == 0, imported.stderr
    assert "1 approval to decide here" in imported.stdout
    new_id = imported.stdout.split("imported as job ")[1].split()[0]
    job = wait_status(new_id, "waiting")
    assert job.principal_id == people["alex"].id and job.source == "import" and job.reply_to == {}
    assert [m.content for m in messages(new_id)] == [m["content"] for m in doc["messages"]]
    (action,) = actions(new_id)
    assert action.status == "pending" and action.id != source_action.id
    assert action.args_hash == source_action.args_hash  # recomputed here from the same arguments
    assert action.preview["title"] == source_action.preview["title"] != "Nothing to see here"
    assert "imported" in [e.kind for e in events(new_id)]

    decide_now(action, people["alex"], decision="approve")
    done = wait_status(new_id, "completed")
    assert done.result == "Sent the Q3 mail."
    with Session(get_engine()) as s:
        (mail,) = s.exec(select(SandboxMessage).where(SandboxMessage.action_id == action.id)).all()
    assert mail.subject == "Q3 review"
    asked = scripted_model.requests[-1]["messages"]
    assert "email Dana about the Q3 review" in asked[0]["content"] + asked[1]["content"]
    assert any(m.get("tool_calls") and m["tool_calls"][0]["function"]["name"] == "gmail_search" for m in asked)


def test_rest_export_import_between_organisations_rebinds_and_refuses_missing_tools(
        engine_on, scripted_model, pg_url, monkeypatch):
    from services.api.app import create_app

    monkeypatch.setenv("WORKMODE_JIRA_API_TOKEN", CANARY)
    people = engine_on(pg_url)
    job_id = waiting_job(scripted_model, people["alex"])
    with_secrets(people["alex"], job_id)
    with Session(get_engine(), expire_on_commit=False) as s:  # Globex: another organisation and its approver
        org = Organisation(name="Globex", domains=["globex.example"],
                           policy={"approvers": ["eve@globex.example"], "approval_ttl_s": 2 * 3600})
        s.add(org)
        s.flush()
        eve = Principal(org_id=org.id, email="eve@globex.example", name="Eve", roles=["approver"])
        s.add(eve)
        s.commit()

    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        assert client.get(f"/api/jobs/{job_id}/export", headers=api_token(people["priya"])).status_code == 404
        assert client.get(f"/api/jobs/{job_id}/export", headers=api_token(eve)).status_code == 404
        r = client.get(f"/api/jobs/{job_id}/export", headers=api_token(people["alex"]))
        assert r.status_code == 200 and CANARY not in r.text
        doc = r.json()
        as_eve = api_token(eve)

        def count_jobs() -> int:
            with Session(get_engine()) as s:
                return s.exec(select(func.count()).select_from(Job)).one()

        before = count_jobs()
        missing = json.loads(json.dumps(doc))
        for a in missing["actions"]:
            a["tool"] = "calendar_teleport"
        refused = client.post("/api/jobs/import", json=missing, headers=as_eve)
        assert refused.status_code == 400 and "calendar_teleport" in refused.json()["error"]["message"]
        for broken in ({"format": "workmode.job", "version": 1}, {"format": "something else"}, [1, 2],
                       {**doc, "messages": [{**doc["messages"][0], "content": "a\x00b"}]},
                       {**doc, "job": {**doc["job"], "max_steps": 10**12}}):
            bad = client.post("/api/jobs/import", json=broken, headers=as_eve)
            assert bad.status_code in (400, 422), bad.text
        assert count_jobs() == before  # nothing written by any refusal

        r = client.post("/api/jobs/import", json=doc, headers=as_eve)
        assert r.status_code == 201, r.text
        new_id = r.json()["id"]
        detail = client.get(f"/api/jobs/{new_id}", headers=as_eve).json()
        assert detail["status"] == "waiting"
        (action,) = [a for a in detail["actions"] if a["status"] == "pending"]
        # Dana is outside Globex: the target's own flags, not the source's (Dana was inside Northwind).
        assert "outside_recipient" in [f["kind"] for f in action["risk_flags"]]
        assert "outside_recipient" not in [f["kind"] for f in doc["actions"][0]["risk_flags"]]
        (stored,) = [a for a in actions(new_id) if a.status == "pending"]  # Globex's approvals wait 2h, not 24h
        assert (aware(stored.expires_at) - aware(stored.created_at)).total_seconds() == 2 * 3600
        decided = client.post(f"/api/approvals/{action['id']}/decision", headers=as_eve,
                              json={"decision": "approve", "args_hash": action["args_hash"]})
        assert decided.status_code == 200, decided.text
    assert wait_status(new_id, "completed").result == "Sent the Q3 mail."
    with Session(get_engine()) as s:
        imported = s.exec(select(Event).where(Event.job_id == new_id, Event.kind == "imported")).one()
    assert imported.data["from_job"] == job_id and imported.data["from_organisation"] == "Northwind Labs"
    assert wait_status(job_id, "waiting")  # the source job is untouched: it still waits there


def test_cli_refusals_are_clear(engine_on, sqlite_url, tmp_path):
    engine_on(sqlite_url)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = workmode(sqlite_url, tmp_path, "jobs", "import", str(bad), "--as", "alex@northwind.example")
    assert proc.returncode == 2 and "not JSON" in proc.stderr
    bad.write_text(json.dumps({"format": "workmode.job", "version": 7}))
    proc = workmode(sqlite_url, tmp_path, "jobs", "import", str(bad), "--as", "alex@northwind.example")
    assert proc.returncode == 2 and "version 1" in proc.stderr
    proc = workmode(sqlite_url, tmp_path, "jobs", "import", str(bad), "--as", "nobody@nowhere.example")
    assert proc.returncode == 2
    proc = workmode(sqlite_url, tmp_path, "jobs", "export", "no-such-job")
    assert proc.returncode == 2 and "not found" in proc.stderr
