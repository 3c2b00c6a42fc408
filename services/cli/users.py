"""`workmode users add|list|show|role|deactivate`: people and their roles, as the operator."""
from __future__ import annotations

from typing import Optional

import click

from services.cli.common import fail, session

ROLES = ("member", "approver", "admin")


@click.group()
def users() -> None:
    """People: add them, set their role, deactivate them."""


@users.command("add")
@click.argument("email")
@click.option("--org", "org_name", required=True, help="The organisation's name.")
@click.option("--name", default="", help="Display name.")
@click.option("--tz", default="UTC", show_default=True, help="IANA time zone, e.g. Europe/London.")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--slack-id", default=None, help="Their Slack user id (U…).")
def add(email: str, org_name: str, name: str, tz: str, role: str, slack_id: Optional[str]) -> None:
    """Add EMAIL to an organisation."""
    from services.admin.people import add_person, org_by_name
    from services.errors import WorkmodeError

    with session() as s:
        try:
            o = org_by_name(s, org_name)
            assert o is not None
            p = add_person(session=s, org=o, email=email, by="cli", name=name, tz=tz, role=role, slack_id=slack_id)
        except WorkmodeError as exc:
            fail(str(exc))
            return
        s.commit()
        click.echo(f"Added {p.email} to {o.name} as {role}.")


@users.command("list")
@click.option("--org", "org_name", default=None, help="Only this organisation.")
def list_(org_name: Optional[str]) -> None:
    """Everyone, with their role and whether they are active."""
    from services.admin.people import list_orgs, list_people, org_by_name, role_of
    from services.errors import WorkmodeError

    with session() as s:
        try:
            orgs = [org_by_name(s, org_name)] if org_name else [o for o, _ in list_orgs(session=s)]
        except WorkmodeError as exc:
            fail(str(exc))
            return
        for o in orgs:
            assert o is not None
            for p in list_people(session=s, org=o):
                state = "active" if p.active else "deactivated"
                click.echo(f"{p.email}\t{p.name}\t{o.name}\t{role_of(p)}\t{state}")


@users.command("show")
@click.argument("email")
def show(email: str) -> None:
    """One person: organisation, role, zone, Slack id, state."""
    from services.admin.people import person, role_of
    from services.errors import WorkmodeError
    from services.store.models import Organisation

    with session() as s:
        try:
            p = person(session=s, email=email)
        except WorkmodeError as exc:
            fail(str(exc))
            return
        o = s.get_one(Organisation, p.org_id)
        click.echo(f"email:        {p.email}\nname:         {p.name}\norganisation: {o.name}\n"
                   f"role:         {role_of(p)}\ntime zone:    {p.time_zone}\nslack id:     {p.slack_user_id or '-'}\n"
                   f"state:        {'active' if p.active else 'deactivated ' + str(p.deactivated_at)}")


@users.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
def role(email: str, role: str) -> None:
    """Set EMAIL's ROLE (member, approver or admin)."""
    from services.admin.people import person, set_role
    from services.errors import WorkmodeError

    with session() as s:
        try:
            p = set_role(session=s, target=person(session=s, email=email), role=role, by="cli")
        except WorkmodeError as exc:
            fail(str(exc))
            return
        s.commit()
        click.echo(f"{p.email} is now {role}.")


@users.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Deactivate EMAIL: sign them out everywhere, revoke their API tokens, pause their schedules,
    and hand their pending approvals to the approvers (or expire them)."""
    from services.admin.people import deactivate as do_deactivate
    from services.admin.people import person
    from services.errors import WorkmodeError

    with session() as s:
        try:
            d = do_deactivate(session=s, target=person(session=s, email=email), by="cli")
        except WorkmodeError as exc:
            fail(str(exc))
            return
        s.commit()
        click.echo(f"Deactivated {d.person.email}: {d.sessions} session(s) and {d.tokens} API token(s) revoked, "
                   f"{d.schedules} schedule(s) paused, {d.reassigned} approval(s) handed to the approvers, "
                   f"{d.expired} expired.")
