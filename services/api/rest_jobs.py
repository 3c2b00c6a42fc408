"""REST: jobs. `POST /api/jobs`, `GET /api/jobs`, `GET /api/jobs/{id}`, `POST /api/jobs/{id}/cancel`,
`GET /api/jobs/{id}/export`, `POST /api/jobs/import`."""
from __future__ import annotations

from typing import Annotated, Any, Optional

from fastapi import APIRouter, Body, Query
from sqlmodel import col, select

from services.api.access import jobs_page, visible_job
from services.api.deps import ApiUser, DbDep
from services.api.schemas import ActionPublic, EventPublic, JobCreate, JobDetail, JobPublic, MessagePublic, Page, page
from services.approvals.transfer import export_job, import_job
from services.jobs.service import cancel_job, create_job, job_actions, transcript
from services.store.models import Event, JobStatus

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.post("", status_code=201, response_model=JobPublic)
def create(body: JobCreate, me: ApiUser, db: DbDep) -> JobPublic:
    """Ask for work. The job is queued at once; poll `GET /api/jobs/{id}` for progress."""
    job = create_job(session=db, principal=me, prompt=body.prompt, source="api",
                     reasoning_effort=body.reasoning_effort, max_steps=body.max_steps,
                     max_tokens=body.max_tokens, deadline_s=body.deadline_s)
    db.commit()
    return JobPublic.of(job)


@router.get("", response_model=Page[JobPublic])
def list_(me: ApiUser, db: DbDep, limit: int = Query(20, ge=1, le=100), offset: int = Query(0, ge=0, le=10**9),
          status: Optional[JobStatus] = None) -> dict:
    """Jobs I asked for (approvers: every job of the organisation), newest first."""
    jobs, total = jobs_page(db, me, limit=limit, offset=offset, status=status.value if status else None)
    return page([JobPublic.of(j) for j in jobs], total, limit, offset)


@router.get("/{job_id}", response_model=JobDetail)
def detail(job_id: str, me: ApiUser, db: DbDep) -> JobDetail:
    """A job with its plan, transcript (every model turn and tool result), actions and events."""
    job = visible_job(db, me, job_id)
    events = db.exec(select(Event).where(Event.job_id == job.id).order_by(col(Event.id)))
    return JobDetail(**JobPublic.of(job).model_dump(),
                     messages=[MessagePublic.of(m) for m in transcript(session=db, job_id=job.id)],
                     actions=[ActionPublic.of(a) for a in job_actions(session=db, job_id=job.id)],
                     events=[EventPublic.of(e) for e in events])


@router.post("/{job_id}/cancel", response_model=JobPublic)
def cancel(job_id: str, me: ApiUser, db: DbDep) -> JobPublic:
    """Cancel a job that has not finished; its pending actions are rejected."""
    visible_job(db, me, job_id)
    job = cancel_job(session=db, job_id=job_id, actor=me, reason=f"cancelled by {me.email}")
    db.commit()
    return JobPublic.of(job)


@router.get("/{job_id}/export")
def export(job_id: str, me: ApiUser, db: DbDep) -> dict[str, Any]:
    """The job as one JSON document (transcript, plan, actions, timeline; never credentials), for
    `POST /api/jobs/import` on another installation."""
    return export_job(session=db, job=visible_job(db, me, job_id))


@router.post("/import", status_code=201, response_model=JobPublic)
def import_(document: Annotated[dict[str, Any], Body()], me: ApiUser, db: DbDep) -> JobPublic:
    """Continue an exported job here, as mine: its open actions are validated against this
    installation's tools and wait for a decision here. Refused (400) when it needs a tool this
    organisation does not have."""
    job = import_job(session=db, data=document, principal=me)
    db.commit()
    return JobPublic.of(job)
