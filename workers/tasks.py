"""Thin tasks: take ids, call into services/, hold no logic of their own."""
from __future__ import annotations

from services import queues
from services.broker import celery_app


@celery_app.task(name=queues.ADVANCE)
def advance(job_id: str, version: int) -> str:
    from services.agent.runner import advance as run

    return run(job_id, version)


@celery_app.task(name=queues.EXECUTE)
def execute_action(action_id: str) -> str:
    from services.approvals.execute import execute_action as run

    return run(action_id)


@celery_app.task(name=queues.RECONCILE)
def reconcile() -> dict:
    from services.reconcile import reconcile as run

    return run()


@celery_app.task(name=queues.TRIAGE_RUN)
def triage_run(triage_run_id: str) -> str:
    from services.triage.run import execute_run

    return execute_run(triage_run_id).status
@celery_app.task(name=queues.SCHEDULES_TICK)
def schedules_tick() -> list[str]:
    from services.schedules.tick import tick

    return [run.run_id for run in tick()]
