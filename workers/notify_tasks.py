"""Thin notify task: bring a job's Slack messages up to date (see services/jobs/notify.py)."""
from __future__ import annotations

from services import queues
from services.broker import celery_app


@celery_app.task(name=queues.NOTIFY)
def notify_job(job_id: str) -> str:
    from services.slackapp.sync import sync_job

    return sync_job(job_id)


@celery_app.task(name=queues.TRIAGE_DIGEST)
def triage_digest(triage_run_id: str) -> str:
    from services.slackapp.digest import deliver_once

    return deliver_once(triage_run_id)
