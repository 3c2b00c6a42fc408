"""What the `workmode` subcommands share: a database session, the error exit, the safe store URL.

Subcommand modules import this module, never `services.cli` (the package that assembles them)."""
from __future__ import annotations

import sys

import click
from sqlmodel import Session

from services.config import get_settings


def session() -> Session:
    from services.store.db import get_engine

    return Session(get_engine(), expire_on_commit=False)


def fail(message: str) -> None:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(2)


def safe_url() -> str:
    """The store's URL with the password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(get_settings().db_url).render_as_string(hide_password=True)
