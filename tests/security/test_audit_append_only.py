"""The audit trail is append-only in the database itself (migration 0008), on both backends:
UPDATE and DELETE of `audit_event` fail whoever sends them (plain SQL or the ORM), and so does
TRUNCATE on PostgreSQL; appending still works, and the refused change leaves the row as it was."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from services import audit
from services.store.db import get_engine
from services.store.models import AuditEvent

STATEMENTS = ["UPDATE audit_event SET kind = 'nothing_happened' WHERE id = :id",
              "UPDATE audit_event SET data = '{}'",
              "DELETE FROM audit_event WHERE id = :id",
              "DELETE FROM audit_event"]


def _append(kind: str) -> int:
    with Session(get_engine()) as s:
        row = audit.record(s, org_id="org-1", kind=kind, actor="cli", subject="ann@acme.example", before="member",
                           after="admin")
        s.commit()
        return row.id


def test_update_and_delete_of_audit_rows_are_refused_by_the_database(store):
    first = _append("role_changed")
    for statement in STATEMENTS:
        with get_engine().connect() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
            conn.execute(sa.text(statement), {"id": first})
            conn.commit()
    if get_engine().dialect.name == "postgresql":
        with get_engine().connect() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
            conn.execute(sa.text("TRUNCATE audit_event"))
            conn.commit()

    with Session(get_engine()) as s, pytest.raises(sa.exc.DBAPIError, match="append-only"):
        row = s.get_one(AuditEvent, first)
        row.subject = "someone-else@acme.example"
        s.commit()
    with Session(get_engine()) as s, pytest.raises(sa.exc.DBAPIError, match="append-only"):
        s.delete(s.get_one(AuditEvent, first))
        s.commit()

    second = _append("person_deactivated")  # appending goes on
    with Session(get_engine()) as s:
        rows = list(s.exec(select(AuditEvent).order_by(AuditEvent.id)))
    assert [(r.id, r.kind, r.subject) for r in rows] == [(first, "role_changed", "ann@acme.example"),
                                                         (second, "person_deactivated", "ann@acme.example")]
    assert rows[0].data == {"before": "member", "after": "admin"}
