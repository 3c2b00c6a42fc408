"""`workmode triage memory list|forget`, as a real subprocess on the test store: what was learned
from two rejections is listed, and forgetting it retires it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from services.digest.batch import decide_picked
from services.store.db import get_engine
from services.store.models import TriageMemory, TriageRun
from tests.digest.support import triage_run
from tests.support.paths import ROOT

pytestmark = pytest.mark.usefixtures("settle")


def workmode(db_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKMODE_")}
    env.update(WORKMODE_DATABASE_URL=db_url)
    return subprocess.run([str(Path(sys.executable).parent / "workmode"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_memory_list_and_forget(worker, workspace, store):
    _, people = workspace
    alex = people["alex"]
    for reason in ("I read these", "Leave them"):
        run = triage_run(worker, alex)
        with Session(get_engine(), expire_on_commit=False) as s:
            out = decide_picked(s, s.get_one(TriageRun, run.run_id), alex,
                                [(run.labels.id, run.labels.args_hash)], "reject", reason)
            assert out.done == 1
    listed = workmode(store, "triage", "memory", "list", "--as", alex.email)
    assert listed.returncode == 0, listed.stderr
    assert "rejected 'Change labels' for mail from weeklybyte.example 2 times" in listed.stdout
    assert "Mail from weeklybyte.example: do not propose 'Change labels'" in listed.stdout
    with Session(get_engine()) as s:
        example = next(m for m in s.exec(select(TriageMemory)) if m.kind == "example")
    assert workmode(store, "triage", "memory", "forget", example.id, "--as", "dana@northwind.example").returncode == 2
    done = workmode(store, "triage", "memory", "forget", example.id, "--as", alex.email)
    assert done.returncode == 0 and "Forgotten" in done.stdout, done.stderr
    with Session(get_engine()) as s:
        assert {m.status for m in s.exec(select(TriageMemory))} == {"forgotten"}
