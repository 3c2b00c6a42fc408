"""`workmode triage ...`: run triage now or as a dry run, and what it learned."""
from __future__ import annotations

import click


@click.group()
def triage() -> None:
    """Inbox triage: run it now, try it on past mail, see and undo what it learned."""
