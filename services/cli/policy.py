"""`workmode policy show|set`: an organisation's policy, as the operator. Every change is an audit
event."""
from __future__ import annotations

import json
from typing import Any, Optional

import click

from services.cli.common import fail, session


@click.group()
def policy() -> None:
    """The organisation's policy: approvers, auto-approved tools, connectors, egress, TTL, reminders."""


@policy.command("show")
@click.option("--org", "org_name", required=True)
def show(org_name: str) -> None:
    """The policy as JSON, every setting present."""
    from services.admin.people import org_by_name
    from services.admin.settings import show as show_policy
    from services.errors import WorkmodeError

    with session() as s:
        try:
            o = org_by_name(s, org_name)
        except WorkmodeError as exc:
            fail(str(exc))
            return
        assert o is not None
        click.echo(json.dumps(show_policy(o), indent=2, sort_keys=True))


def _on_off(value: Optional[str]) -> Optional[bool]:
    return None if value is None else value == "on"


@policy.command("set")
@click.option("--org", "org_name", required=True)
@click.option("--approvers", default=None, help="Emails, comma-separated ('' for none).")
@click.option("--auto-approve", default=None, help="Write tools approved without a person, comma-separated "
                                                    "('' for none). Never applies to an action with a risk flag.")
@click.option("--connector", "connectors", multiple=True, help="FAMILY=SLUG, e.g. mail=gmail (repeatable).")
@click.option("--allow-domain", "allow_domains", multiple=True, help="Outside domain reachable without a flag "
                                                                     "(repeatable; replaces the list).")
@click.option("--clear-allowed-domains", is_flag=True, help="No outside domain is allowed.")
@click.option("--egress-mode", type=click.Choice(["flag", "block"]), default=None)
@click.option("--approval-ttl", default=None, help="How long approvals wait: 90m, 24h, 2d.")
@click.option("--remind-after", default=None, help="First reminder after: 2h.")
@click.option("--remind-before-expiry", default=None, help="Last reminder this long before expiry: 1h.")
@click.option("--summary-hour", default=None,
              help="Daily 'waiting for you' summary at this hour (0-23, each approver's zone), or off.")
@click.option("--reasoning-effort", type=click.Choice(["none", "high"]), default=None)
@click.option("--jit", type=click.Choice(["on", "off"]), default=None, help="Just-in-time OIDC sign-in.")
def set_(org_name: str, approvers: Optional[str], auto_approve: Optional[str], connectors: tuple[str, ...],
         allow_domains: tuple[str, ...], clear_allowed_domains: bool, egress_mode: Optional[str],
         approval_ttl: Optional[str], remind_after: Optional[str], remind_before_expiry: Optional[str],
         summary_hour: Optional[str], reasoning_effort: Optional[str], jit: Optional[str]) -> None:
    """Change some of the policy; what is not named stays as it is."""
    from services.admin.people import org_by_name
    from services.admin.settings import parse_duration, update_policy
    from services.errors import WorkmodeError

    with session() as s:
        try:
            o = org_by_name(s, org_name)
            assert o is not None
            changes: dict[str, Any] = {}
            if approvers is not None:
                changes["approvers"] = [a for a in approvers.replace(",", " ").split() if a]
            if auto_approve is not None:
                changes["auto_approve"] = [a for a in auto_approve.replace(",", " ").split() if a]
            if connectors:
                pairs = [c.split("=", 1) for c in connectors]
                if any(len(p) != 2 for p in pairs):
                    fail("--connector: FAMILY=SLUG, e.g. mail=gmail")
                changes["connectors"] = {f.strip(): v.strip() for f, v in pairs}
            egress: dict[str, Any] = {}
            if allow_domains or clear_allowed_domains:
                egress["allowed_domains"] = list(allow_domains)
            if egress_mode:
                egress["mode"] = egress_mode
            if egress:
                changes["egress"] = egress
            if approval_ttl is not None:
                changes["approval_ttl_s"] = parse_duration(approval_ttl, "approval_ttl")
            reminders: dict[str, Any] = {}
            if remind_after is not None:
                reminders["after_s"] = parse_duration(remind_after, "remind_after")
            if remind_before_expiry is not None:
                reminders["before_expiry_s"] = parse_duration(remind_before_expiry, "remind_before_expiry")
            if summary_hour is not None:
                if summary_hour != "off" and not summary_hour.isdigit():
                    fail("--summary-hour: an hour from 0 to 23, or off")
                reminders["summary_hour"] = None if summary_hour == "off" else int(summary_hour)
            if reminders:
                changes["reminders"] = reminders
            if reasoning_effort is not None:
                changes["reasoning_effort"] = reasoning_effort
            if jit is not None:
                changes["jit_sign_in"] = _on_off(jit)
            if not changes:
                fail("nothing to change: see `workmode policy set --help`")
            shown = update_policy(session=s, org=o, changes=changes, by="cli")
        except WorkmodeError as exc:
            fail(str(exc))
            return
        s.commit()
        click.echo(json.dumps(shown, indent=2, sort_keys=True))
