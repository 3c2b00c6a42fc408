"""the audit trail is append-only in the database: triggers refuse UPDATE, DELETE (and, on
PostgreSQL, TRUNCATE) of audit_event

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 06:00:00.000000

`services/audit.py` only appends; these triggers make the database refuse the rest too, whoever
asks (the application, a script, a person at a SQL prompt). The table's owner can still drop or
disable them: this guards against mistakes and against code, not against the database owner
(docs/security.md). On SQLite a later batch migration of audit_event (copy, drop, rename) loses
the triggers with the old table: such a migration must create them again.
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

MESSAGE = "audit_event is append-only: rows cannot be changed or deleted"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
            END
            $$""")
        op.execute("""CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
                      FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""")
        op.execute("""CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
                      FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""")
    else:  # SQLite
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event
                           BEGIN SELECT RAISE(ABORT, '{MESSAGE} ({verb} refused)'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
