"""Alembic environment: target metadata is SQLModel.metadata (job store + sandbox world)."""
from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from connectors.sandbox import models as sandbox_models  # noqa: F401  (registers the sandbox's tables)
from services.store import models  # noqa: F401  (registers the job store's tables on SQLModel.metadata)
from services.store.db import get_engine

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    with get_engine().connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `workmode db upgrade`")
run_migrations_online()
