"""Reading the audit trail in tests."""
from __future__ import annotations

from sqlmodel import Session, col, select

from services.store.db import get_engine
from services.store.models import AuditEvent


def audit_rows(kind: str) -> list[AuditEvent]:
    """Every audit row of this kind, oldest first."""
    with Session(get_engine(), expire_on_commit=False) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.kind == kind).order_by(col(AuditEvent.id))))
