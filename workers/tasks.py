"""Thin tasks: take ids, call into services/, hold no logic of their own."""
from __future__ import annotations

from workers.app import celery_app


@celery_app.task(name="workmode.agent.advance")
def advance(job_id: str, version: int) -> str:
    from services.agent.runner import advance as run

    return run(job_id, version)


@celery_app.task(name="workmode.actions.execute")
def execute_action(action_id: str) -> str:
    from services.approvals.execute import execute_action as run

    return run(action_id)


@celery_app.task(name="workmode.reconcile")
def reconcile() -> dict:
    from services.reconcile import reconcile as run

    return run()
