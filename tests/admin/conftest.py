"""Administration tests run on PostgreSQL; `admin` makes Alex (an approver in the seed) the
organisation's admin."""
from __future__ import annotations

import pytest
from sqlmodel import Session

from services.admin.people import set_role
from services.store.db import get_engine
from services.store.models import Principal


@pytest.fixture
def store(pg_store):
    return pg_store


@pytest.fixture
def admin(workspace) -> Principal:
    _, people = workspace
    with Session(get_engine(), expire_on_commit=False) as s:
        alex = s.get_one(Principal, people["alex"].id)
        set_role(session=s, target=alex, role="admin", by="test")
        s.commit()
        return alex


@pytest.fixture
def client(workspace):
    from fastapi.testclient import TestClient

    from services.api.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c
