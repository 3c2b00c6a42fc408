"""Thin notify task: bring a job's Slack messages up to date (see services/notify.py)."""
from __future__ import annotations

from workers.app import celery_app


@celery_app.task(name="workmode.notify.job")
def notify_job(job_id: str) -> str:
    from services.slackapp.sync import sync_job

    return sync_job(job_id)
