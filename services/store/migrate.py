"""`workmode db upgrade`: run Alembic migrations explicitly, never on import."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from services.store.db import get_engine

INI = Path(__file__).with_name("alembic.ini")


def alembic_config() -> Config:
    return Config(str(INI))


def upgrade(revision: str = "head") -> None:
    cfg = alembic_config()
    with get_engine().begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def revision(message: str) -> None:
    """Developers: autogenerate a migration from the models (`workmode db revision -m ...`)."""
    cfg = alembic_config()
    with get_engine().begin() as connection:
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True)
