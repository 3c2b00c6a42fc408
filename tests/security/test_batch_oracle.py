"""Finding 9 (part): /queue/batch answers alike for an approval id that does not exist, one in
another organisation, and one in the person's own organisation that they may not decide: the
answer cannot tell anyone which ids exist."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from services.store.db import get_engine
from services.store.models import Action, Job, Organisation, Principal
from tests.support.web import sign_in


@pytest.fixture
def store(pg_store):
    return pg_store


def pending_action(principal: Principal) -> Action:
    with Session(get_engine(), expire_on_commit=False) as s:
        job = Job(org_id=principal.org_id, principal_id=principal.id, prompt="send the numbers",
                  status="waiting", waiting_for="approval")
        s.add(job)
        s.flush()
        action = Action(job_id=job.id, tool_call_id="call-1", connector="sandbox", tool="send_email",
                        arguments={"to": ["x@example.com"]}, args_hash="a" * 64, status="pending")
        s.add(action)
        s.commit()
        return action


def globex_person() -> Principal:
    with Session(get_engine(), expire_on_commit=False) as s:
        org = Organisation(name="Globex", domains=["globex.example"], policy={"approvers": ["eve@globex.example"]})
        s.add(org)
        s.flush()
        eve = Principal(org_id=org.id, email="eve@globex.example", name="Eve", roles=["approver"], time_zone="UTC")
        s.add(eve)
        s.commit()
        return eve


def refusals(html: str) -> list[str]:
    return re.findall(r"Not decided: ([^<]*)", html)


def test_unknown_and_invisible_ids_get_the_same_answer(workspace):
    _, people = workspace
    colleague = pending_action(people["sam"])  # Priya is no approver: Sam's jobs are not hers to see
    elsewhere = pending_action(globex_person())
    unknown = "0" * len(colleague.id)
    from services.api.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        csrf = sign_in(c, people["priya"])
        answers = []
        for action_id in (unknown, colleague.id, elsewhere.id):
            r = c.post("/queue/batch", data={"csrf_token": csrf, "decision": "approve",
                                             "pick": f"{action_id}:{'a' * 64}"})
            assert r.status_code == 200 and "Approved 0 of 1" in r.text
            (said,) = refusals(r.text)
            answers.append(said.replace(action_id, "<id>"))
    assert answers[0] == answers[1] == answers[2], answers
    with Session(get_engine()) as s:
        assert {s.get(Action, a.id).status for a in (colleague, elsewhere)} == {"pending"}
