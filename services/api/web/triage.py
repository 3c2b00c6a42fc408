"""The triage digest on the web (/triage/<run>) and what triage learned (/triage/memory).

Only the person whose inbox it is and the approvers of their organisation see a digest (anything
else is 'not found'); what was learned is only ever the person's own. Every form carries the CSRF
token; every decision carries the argument hash the page showed (the low-risk batch: the
fingerprint of the batch), so a changed action is refused, never decided blind."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from services.api.deps import DbDep, FormDep, WebUser, check_csrf
from services.api.web.templating import flash, page
from services.digest.batch import Outcome, approve_low_risk, decide_picked, fingerprint
from services.digest.build import build, low_risk, visible_run
from services.errors import Conflict, Invalid, NotFound, WorkmodeError
from services.store.models import Principal, TriageRun
from services.triage.run import enqueue_run, start_run
from services.triage_memory import accept, decline, forget, listing
from services.triage_memory.learn import tool_label

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
MAX_DRY_RUN_DAYS = 60  # as `workmode triage run --dry-run --days`
MEMORY_ACTIONS = {"forget": forget, "accept": accept, "decline": decline}


def _report(request: Request, out: Outcome) -> None:
    verb = "Approved" if out.decision == "approve" else "Rejected"
    flash(request, f"{verb} {out.done} of {out.total}.")
    for message in out.failed:
        flash(request, f"Not decided: {message}", "error")


@router.get("/triage/memory")
def memory_page(request: Request, me: WebUser, db: DbDep) -> Response:
    rows = listing(db, me.id)
    db.commit()  # what learn() just found is kept
    return page(request, "triage_memory.html", {"rows": rows, "tool_label": tool_label}, user=me)


@router.post("/triage/memory/{memory_id}/{verb}")
def memory_change(memory_id: str, verb: str, request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    change = MEMORY_ACTIONS.get(verb)
    if change is None:
        raise Invalid("choose forget, accept or decline", "verb")
    try:
        change(db, me, memory_id)
        db.commit()
        flash(request, {"forget": "Forgotten: triage no longer uses it.", "accept": "Rule added.",
                        "decline": "Suggestion declined."}[verb])
    except NotFound:
        raise
    except WorkmodeError as exc:
        db.rollback()
        flash(request, exc.message, "error")
    back = str(form.get("back") or "")
    ok = back.startswith("/triage/") and "//" not in back and "\\" not in back
    return RedirectResponse(back if ok else "/triage/memory", status_code=303)


@router.post("/triage/dry-run")
def dry_run(request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    """Try triage on the past days of one's own mail: a run that proposes nothing and shows, on its
    digest page, what it would have proposed (the CLI's `workmode triage run --dry-run`)."""
    raw = str(form.get("days") or "1").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DRY_RUN_DAYS:
        raise Invalid(f"days must be a whole number from 1 to {MAX_DRY_RUN_DAYS}", "days")
    busy = db.exec(select(TriageRun.id).where(TriageRun.principal_id == me.id, TriageRun.dry_run == True,  # noqa: E712  (builds SQL: dry_run = true)
                                              col(TriageRun.status).not_in(["done", "failed"]))).first()
    if busy is not None:  # one at a time: each costs model requests over many emails
        raise Conflict(f"a dry run is still running: see /triage/{busy}")
    run = start_run(db, me, dry_run=True, days=int(raw))
    enqueue_run(db, run.id)
    db.commit()
    flash(request, f"Dry run started on the past {raw} day(s) of mail: nothing will be proposed.")
    return RedirectResponse(f"/triage/{run.id}", status_code=303)


@router.get("/triage/{run_id}")
def digest_page(run_id: str, request: Request, me: WebUser, db: DbDep) -> Response:
    run = visible_run(db, me, run_id)
    digest = build(db, run)
    owner: Principal = digest.person
    return page(request, "triage.html", {
        "d": digest, "owner": owner, "batch": digest.low_risk_pending, "batch_fp": fingerprint(digest.low_risk_pending),
        "low_risk": low_risk}, user=me)


@router.post("/triage/{run_id}/low-risk")
def approve_batch(run_id: str, request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    run = visible_run(db, me, run_id)
    try:
        _report(request, approve_low_risk(db, run, me, str(form.get("batch") or "")))
    except WorkmodeError as exc:
        db.rollback()
        flash(request, exc.message, "error")
    return RedirectResponse(f"/triage/{run.id}", status_code=303)


@router.post("/triage/{run_id}/decide")
def decide_items(run_id: str, request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    run = visible_run(db, me, run_id)
    picks = [tuple(v.split(":", 1)) for v in form.getlist("pick") if isinstance(v, str) and ":" in v]
    try:
        out = decide_picked(db, run, me, [(a, h) for a, h in picks], str(form.get("decision") or ""),
                            str(form.get("reason") or ""))
        _report(request, out)
    except WorkmodeError as exc:
        db.rollback()
        flash(request, exc.message, "error")
    return RedirectResponse(f"/triage/{run.id}", status_code=303)
