"""The test databases and Redis: where they are, and pointing the settings at a migrated, empty store."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text
from sqlmodel import SQLModel

from services.config import reset_settings
from services.store.db import dispose_engines, get_engine

PG_ADMIN_URL = os.environ.get("WORKMODE_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("WORKMODE_TEST_REDIS", "redis://127.0.0.1:6379/15")

_MIGRATED: set[str] = set()


def use_database(url: str, monkeypatch) -> str:
    """Point the settings at `url`, migrate it once per session, empty every table."""
    monkeypatch.setenv("WORKMODE_DATABASE_URL", url)
    reset_settings()
    dispose_engines()
    if url not in _MIGRATED:
        from services.store.migrate import upgrade

        upgrade()
        _MIGRATED.add(url)
    engine = get_engine()
    with engine.begin() as conn, _audit_guard_lifted(conn):
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())
    return url


@contextmanager
def _audit_guard_lifted(conn: Connection) -> Iterator[None]:
    """Between tests only: the audit table's append-only triggers (migration 0008) are lifted for
    the emptying and put back in the same transaction (PostgreSQL: disabled and enabled again, as
    the table's owner may; SQLite, which cannot disable a trigger: dropped and created again from
    their own stored SQL)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        yield
        conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
        return
    triggers = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                 "AND tbl_name = 'audit_event'")).all()
    for name, _sql in triggers:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in triggers:
        conn.execute(text(sql))
