"""Jobs: my jobs and a form to ask for work; one job's page (plan checklist, timeline, every
model turn and tool call with untrusted content marked, token usage, cancel, answer a question).
static/job.js reloads the page when the job moves on."""
from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from services.api.access import jobs_page, visible_job
from services.api.deps import DbDep, FormDep, WebUser, check_csrf
from services.api.web.templating import flash, page
from services.errors import WorkmodeError
from services.jobs.service import answer_question, cancel_job, create_job, job_actions, transcript
from services.store.models import FINAL_JOB_STATUSES, Event, Principal

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
PAGE = 25


def pretty(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(arguments)


@router.get("/jobs")
def jobs(request: Request, me: WebUser, db: DbDep, offset: int = Query(0, ge=0, le=10**9)) -> Response:
    rows, total = jobs_page(db, me, limit=PAGE, offset=offset)
    people = {p.id: p for p in db.exec(select(Principal).where(Principal.org_id == me.org_id))}
    return page(request, "jobs.html", {"jobs": rows, "total": total, "offset": offset, "limit": PAGE,
                                       "people": people}, user=me)


@router.post("/jobs")
def new_job(request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    try:
        job = create_job(session=db, principal=me, prompt=str(form.get("prompt") or ""), source="web",
                         reasoning_effort=str(form.get("effort") or "") or None)
        db.commit()
    except WorkmodeError as exc:
        db.rollback()
        flash(request, exc.message, "error")
        return RedirectResponse("/jobs", status_code=303)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}")
def job_page(job_id: str, request: Request, me: WebUser, db: DbDep) -> Response:
    job = visible_job(db, me, job_id)
    events = list(db.exec(select(Event).where(Event.job_id == job.id).order_by(col(Event.id))))
    people = {p.id: p for p in db.exec(select(Principal).where(Principal.org_id == job.org_id))}
    question = next((e.data.get("question") for e in reversed(events) if e.kind == "question_asked"), None)
    return page(request, "job.html", {
        "job": job, "requester": people.get(job.principal_id), "people": people, "events": events,
        "messages": transcript(session=db, job_id=job.id), "actions": job_actions(session=db, job_id=job.id),
        "final": job.status in FINAL_JOB_STATUSES, "can_cancel": job.status not in FINAL_JOB_STATUSES,
        "question": question if job.waiting_for == "answer" and me.id == job.principal_id else None,
        "pretty": pretty, "state": _state(job, events)}, user=me)


def _state(job, events) -> str:
    return f"{job.status}:{job.version}:{events[-1].id if events else 0}"


@router.get("/jobs/{job_id}/state")
def job_state(job_id: str, me: WebUser, db: DbDep) -> dict:
    job = visible_job(db, me, job_id)
    last = db.exec(select(Event).where(Event.job_id == job.id).order_by(col(Event.id).desc()).limit(1)).first()
    return {"state": _state(job, [last] if last else []), "final": job.status in FINAL_JOB_STATUSES}


@router.post("/jobs/{job_id}/cancel")
def cancel(job_id: str, request: Request, me: WebUser, db: DbDep) -> Response:
    visible_job(db, me, job_id)
    try:
        cancel_job(session=db, job_id=job_id, actor=me, reason=f"cancelled by {me.email} in the web")
        db.commit()
        flash(request, "Job cancelled.")
    except WorkmodeError as exc:
        db.rollback()
        flash(request, exc.message, "error")
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/jobs/{job_id}/answer")
def answer(job_id: str, request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    visible_job(db, me, job_id)
    try:
        answer_question(session=db, job_id=job_id, actor=me, text=str(form.get("answer") or ""))
        db.commit()
        flash(request, "Answer sent; the job goes on.")
    except WorkmodeError as exc:
        db.rollback()
        flash(request, exc.message, "error")
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
