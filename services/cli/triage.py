"""`workmode triage ...`: run triage now or as a dry run, and what it learned."""
from __future__ import annotations

from typing import TYPE_CHECKING

import click

from services.cli.common import fail, session

if TYPE_CHECKING:
    from services.store.models import TriageRun


@click.group()
def triage() -> None:
    """Inbox triage: run it now, try it on past mail, see and undo what it learned."""


@triage.command("run")
@click.option("--as", "as_email", default=None, help="The person whose inbox to triage.")
@click.option("--dry-run", is_flag=True, help="Show what would happen to past mail; propose nothing.")
@click.option("--days", type=click.IntRange(1, 60), default=None,
              help="Dry run: the past days of mail to look at (default: one day).")
def triage_run(as_email: str | None, dry_run: bool, days: int | None) -> None:
    """Triage new mail now (or, with --dry-run, show what triage would do with past mail)."""
    from services.errors import WorkmodeError
    from services.identity import cli_principal
    from services.triage.run import execute_run, start_run

    if days is not None and not dry_run:
        fail("--days goes with --dry-run (a real run reads the mail since the last run)")
    with session() as s:
        try:
            principal = cli_principal(s, as_email)
            run = start_run(s, principal, dry_run=dry_run, days=days)
            s.commit()
        except WorkmodeError as exc:
            fail(str(exc))
    done = execute_run(run.id)
    if done.status != "done":
        fail(f"triage run {done.id} failed: {done.error}")
    _show_run(done)


def _show_run(run: TriageRun) -> None:
    c = run.counts or {}
    head = "Dry run (nothing proposed)" if run.dry_run else "Triage run"
    click.echo(f"{head} {run.id}: {c.get('triaged', 0)} email(s), {c.get('model_requests', 0)} model request(s), "
               f"{c.get('prompt_tokens', 0)} prompt tokens")
    if run.gap_note:
        click.echo(click.style("gap: ", fg="yellow") + run.gap_note)
    if run.dry_run:
        for item in run.digest.get("items", []):
            flag = "  FLAGGED" if item.get("flagged") else ""
            click.echo(f"- [{item.get('category') or 'unclassified'}/{item.get('priority') or '-'}] "
                       f"{item['subject']}  <{item['sender']}>{flag}")
            if item.get("reason"):
                click.echo(f"    why: {item['reason']}")
            for rule in item.get("rules", []):
                click.echo(f"    rule {rule['rule_key'][:8]} v{rule['version']}: {rule['text']}")
            for would in item.get("would", []):
                click.echo(f"    would propose {would['tool']}: {would['preview'].get('title', '')}")
            for note in item.get("notes", []):
                click.echo(f"    note: {note}")
        return
    from sqlmodel import select

    from services.store.models import TriageItem

    with session() as s:
        for item in s.exec(select(TriageItem).where(TriageItem.run_id == run.id)):
            rules = f"  rules: {', '.join(r[:8] for r in item.rule_ids)}" if item.rule_ids else ""
            click.echo(f"- [{item.category or 'unclassified'}/{item.priority or '-'}] {item.subject}  "
                       f"<{item.sender}>  {len(item.action_ids)} proposal(s){rules}")
    click.echo(f"proposed {c.get('proposed', 0)} action(s), {c.get('auto_approved', 0)} run by policy; "
               "decide the rest with `workmode approvals list`")


@triage.group("rules")
def triage_rules() -> None:
    """Your triage rules, in plain language ("Newsletters: label Reading and archive")."""


@triage_rules.command("add")
@click.option("--as", "as_email", default=None)
@click.argument("text")
def rules_add(as_email: str | None, text: str) -> None:
    from services.errors import WorkmodeError
    from services.identity import cli_principal
    from services.triage.rules import add_rule

    with session() as s:
        try:
            rule = add_rule(s, cli_principal(s, as_email), text)
            s.commit()
        except WorkmodeError as exc:
            fail(str(exc))
    click.echo(f"rule {rule.rule_key[:8]} v{rule.version}: {rule.text}\n  match {rule.match}  actions {rule.actions}")


@triage_rules.command("edit")
@click.option("--as", "as_email", default=None)
@click.argument("rule_id")
@click.argument("text")
def rules_edit(as_email: str | None, rule_id: str, text: str) -> None:
    """A new version of a rule (the old one is kept, inactive)."""
    from services.errors import WorkmodeError
    from services.identity import cli_principal
    from services.triage.rules import edit_rule

    with session() as s:
        try:
            rule = edit_rule(s, cli_principal(s, as_email), rule_id, text)
            s.commit()
        except WorkmodeError as exc:
            fail(str(exc))
    click.echo(f"rule {rule.rule_key[:8]} v{rule.version}: {rule.text}")


@triage_rules.command("list")
@click.option("--as", "as_email", default=None)
def rules_list(as_email: str | None) -> None:
    from services.errors import WorkmodeError
    from services.identity import cli_principal
    from services.triage.rules import active_rules, is_prefilter

    with session() as s:
        try:
            principal = cli_principal(s, as_email)
        except WorkmodeError as exc:
            fail(str(exc))
        rules = active_rules(s, principal.id)
    if not rules:
        click.echo("no rules")
    for r in rules:
        kind = "pre-filter" if is_prefilter(r) else "after classification"
        click.echo(f"{r.rule_key[:8]} v{r.version}  ({kind})  {r.text}")


@triage_rules.command("remove")
@click.option("--as", "as_email", default=None)
@click.argument("rule_id")
def rules_remove(as_email: str | None, rule_id: str) -> None:
    from services.errors import WorkmodeError
    from services.identity import cli_principal
    from services.triage.rules import remove_rule

    with session() as s:
        try:
            rule = remove_rule(s, cli_principal(s, as_email), rule_id)
            s.commit()
        except WorkmodeError as exc:
            fail(str(exc))
    click.echo(f"removed rule {rule.rule_key[:8]}: {rule.text}")


@triage.group("memory")
def memory() -> None:
    """What triage learned from your decisions: list it, forget (undo) any of it."""


@memory.command("list")
@click.option("--as", "as_email", default=None, help="The person (default: WORKMODE_USER_EMAIL or the demo user).")
def memory_list(as_email: str | None) -> None:
    """Everything learned, newest first: examples and suggested rules, with their status."""
    from services.cli.common import fail, session
    from services.errors import WorkmodeError
    from services.identity import cli_principal
    from services.triage_memory import listing

    with session() as s:
        try:
            rows = listing(s, cli_principal(s, as_email).id)
            s.commit()
        except WorkmodeError as exc:
            fail(exc.message)
            return
        if not rows:
            click.echo("Nothing learned yet.")
        for m in rows:
            kind = "rule?" if m.kind == "suggestion" else "example"
            click.echo(f"{m.id}  {kind:<8} {m.status:<10} {m.content.get('text', '')}")


@memory.command("forget")
@click.argument("memory_id")
@click.option("--as", "as_email", default=None, help="The person (default: WORKMODE_USER_EMAIL or the demo user).")
def memory_forget(memory_id: str, as_email: str | None) -> None:
    """Undo one thing learned (an accepted rule is deactivated)."""
    from services.cli.common import fail, session
    from services.errors import WorkmodeError
    from services.identity import cli_principal
    from services.triage_memory import forget

    with session() as s:
        try:
            m = forget(s, cli_principal(s, as_email), memory_id)
            s.commit()
        except WorkmodeError as exc:
            fail(exc.message)
            return
        click.echo(f"Forgotten: {m.content.get('text', m.id)}")
