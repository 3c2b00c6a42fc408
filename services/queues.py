"""Celery queue names, task names and routes: the one place they are spelled.

Three queues, so that a burst of one kind of work never starves another:
  agent        agent steps (`workmode.agent.advance`)
  actions      side effects a person approved (`workmode.actions.execute`)
  maintenance  short housekeeping: the reconciler's tick and Slack notifications; every worker,
               embedded or not, consumes it
"""
from __future__ import annotations

AGENT = "agent"
ACTIONS = "actions"
MAINTENANCE = "maintenance"
QUEUES = (AGENT, ACTIONS, MAINTENANCE)
DEFAULT_QUEUE = AGENT

ADVANCE = "workmode.agent.advance"
EXECUTE = "workmode.actions.execute"
RECONCILE = "workmode.reconcile"
NOTIFY = "workmode.notify.job"
TRIAGE_RUN = "workmode.triage.run"  # args: [triage_run_id]; one pass of triage over new mail
SCHEDULES_TICK = "workmode.schedules.tick"  # starts what is due (beat, every minute)
TRIAGE_DIGEST = "workmode.triage.digest"  # args: [triage_run_id]; DM a finished run's digest, once

ROUTES: dict[str, str] = {
    ADVANCE: AGENT,
    EXECUTE: ACTIONS,
    RECONCILE: MAINTENANCE,
    NOTIFY: MAINTENANCE,
    TRIAGE_RUN: AGENT,
    SCHEDULES_TICK: MAINTENANCE,
    TRIAGE_DIGEST: MAINTENANCE,
}

RECONCILE_EVERY_S = 60.0  # the reconciler's tick (Celery beat)
SCHEDULES_TICK_EVERY_S = 60.0  # the schedules' tick (Celery beat); a slot starts within this of its time


def queue_of(task_name: str) -> str:
    """The queue a task is sent to (the default queue for a task not routed here)."""
    return ROUTES.get(task_name, DEFAULT_QUEUE)
