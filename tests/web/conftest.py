"""Fixtures for the API, web and browser tests: the app and a client, a second organisation, and
`settle` (autouse), which lets the embedded worker finish between tests."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from services.store.db import get_engine
from services.store.models import Action, Job, Organisation, Principal
from tests.support.jobs import wait_until


@pytest.fixture(autouse=True)
def settle(workspace, scripted_model):
    """After each test, wait until the embedded worker has nothing in hand, so that it does not
    write into the next test's freshly emptied tables. (It holds the scripted model, so the model
    is still there while the last jobs finish.)"""
    yield

    def quiet():
        with Session(get_engine()) as s:
            busy_jobs = s.exec(select(Job.id).where(col(Job.status).in_(["queued", "running"]))).first()
            busy_actions = s.exec(select(Action.id).where(col(Action.status).in_(["approved", "executing"]))).first()
            return busy_jobs is None and busy_actions is None

    wait_until(quiet, timeout=30, what="the worker to finish its work")


@pytest.fixture
def other_org(workspace) -> Principal:
    """Globex, a second organisation with its own approver, Eve."""
    with Session(get_engine(), expire_on_commit=False) as s:
        org = Organisation(name="Globex", domains=["globex.example"], policy={"approvers": ["eve@globex.example"]})
        s.add(org)
        s.flush()
        eve = Principal(org_id=org.id, email="eve@globex.example", name="Eve Globex", roles=["approver"],
                        time_zone="Asia/Tokyo")
        s.add(eve)
        s.commit()
        return eve


@pytest.fixture
def app(workspace):
    from services.api.app import create_app

    return create_app()


@pytest.fixture
def client(app):
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
