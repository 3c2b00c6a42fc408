"""Imports every table module so SQLModel.metadata is complete (Alembic, tests)."""
from services.store import models  # noqa: F401
from connectors.sandbox import models as sandbox_models  # noqa: F401
