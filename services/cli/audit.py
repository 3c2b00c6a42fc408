"""`workmode audit export --since DATE [--format jsonl|csv]`: the audit trail for a SIEM."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Optional

import click

from services.cli.common import fail, session


@click.group()
def audit() -> None:
    """The organisation-wide audit trail."""


def _date(text: str, option: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option}: a date or time like 2026-01-31 or 2026-01-31T09:00:00+00:00, not {text!r}")
        raise
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@audit.command("export")
@click.option("--since", required=True, help="From this date or time (ISO 8601; UTC unless it says).")
@click.option("--until", default=None, help="Up to (not including) this date or time.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--org", "org_name", default=None, help="Only this organisation (default: all).")
def export(since: str, until: Optional[str], fmt: str, org_name: Optional[str]) -> None:
    """Write the trail, oldest first, to standard output."""
    from services import audit as trail
    from services.admin.people import list_orgs, org_by_name
    from services.errors import WorkmodeError

    start, end = _date(since, "--since"), _date(until, "--until") if until else None
    with session() as s:
        try:
            orgs = [org_by_name(s, org_name)] if org_name else [o for o, _ in list_orgs(session=s)]
        except WorkmodeError as exc:
            fail(str(exc))
            return
        rows = [r for o in orgs if o is not None
                for r in trail.query(s, org_id=o.id, since=start, until=end, limit=None, oldest_first=True)]
        rows.sort(key=lambda r: (r.at, r.id or 0))
        for piece in trail.export(rows, fmt):
            click.echo(piece, nl=False)
