from sqlmodel import Session, select

from services.store.db import get_engine
from services.store.models import Job, Organisation, Principal


def test_store_roundtrip(store):
    with Session(get_engine()) as s:
        org = Organisation(name="Acme", domains=["acme.example"])
        p = Principal(org_id=org.id, email="ann@acme.example", name="Ann")
        s.add(org)
        s.flush()
        s.add(p)
        s.flush()
        s.add(Job(org_id=org.id, principal_id=p.id, prompt="hello"))
        s.commit()
    with Session(get_engine()) as s:
        job = s.exec(select(Job)).one()
        assert job.status == "queued" and job.version == 0
        assert job.created_at.tzinfo is not None
