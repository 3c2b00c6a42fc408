"""The `workmode` command: `main` assembles the subcommands, one module per area.

common.py     what the subcommands share (session, fail, safe_url)
db.py         db upgrade|seed
run.py        run (follows the job in the terminal: terminal.py)
demo.py       demo (uses run)
background.py worker, beat, reconcile
jobs.py       jobs list|show|export|import
approvals.py  approvals list|show|approve|edit|reject|feedback
web.py        api, login-link, tokens
slack.py      slack --socket
connect.py    connect google|jira|slack|status|remove
triage.py     triage run|memory
org.py        org create|list
users.py      users add|list|show|role|deactivate
policy.py     policy show|set
audit.py      audit export
eval.py       eval [--suite …] | eval --list | eval compare A B
schedules.py  schedules add|list|pause|resume|remove|run-now|tick
model.py      model serve|presets|check

The subcommand modules import `services.cli.common` (demo also `services.cli.run`), never this package.
"""
from __future__ import annotations

from typing import Any

import click

from services.cli import (
    approvals,
    audit,
    background,
    connect,
    db,
    demo,
    jobs,
    model,
    org,
    policy,
    run,
    schedules,
    slack,
    triage,
    users,
    web,
)
from services.cli import eval as eval_cmd
from services.cli.common import fail
from services.config import SettingsInvalid


class _Workmode(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SettingsInvalid as exc:  # names each setting and its rule, never a value
            fail(str(exc))


@click.group(cls=_Workmode)
def main() -> None:
    """Workmode: a self-hosted work agent. Nothing changes the outside world until a person approves it."""


for _command in (db.db, run.run, demo.demo, background.worker, background.beat, background.reconcile, jobs.jobs,
                 approvals.approvals, model.model, web.api, web.login_link, web.tokens, slack.slack, connect.connect,
                 triage.triage, org.org, users.users, policy.policy, audit.audit, eval_cmd.eval,
                 schedules.schedules):
    main.add_command(_command)
