"""The approval queue: pending approvals I may decide, newest first, filtered by job, connector
and risk flag; several can be approved or rejected together. static/queue.js polls the rows
fragment and swaps it in when something changed (new approvals, or others decided). A batch item
that is unknown and one the person may not see get the same answer, so ids cannot be probed."""
from __future__ import annotations

import hashlib
from typing import Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from services.api.access import approvals, visible_action
from services.api.deps import DbDep, FormDep, WebUser, check_csrf
from services.api.web.templating import flash, page
from services.approvals.reminders import aware, reminders_of
from services.approvals.service import decide
from services.errors import NotFound, WorkmodeError
from services.store.models import Principal, utcnow

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
RISKS = {"any": "any risk flag", "none": "no risk flags", "outside_recipient": "outside recipient",
         "link": "contains a link", "untrusted_content": "text from someone else"}


def _filters(job: Optional[str], connector: Optional[str], risk: Optional[str]) -> dict:
    return {"job": job or "", "connector": connector or "", "risk": risk if risk in RISKS else ""}


def _people(db: Session, me: Principal) -> dict[str, Principal]:
    return {p.id: p for p in db.exec(select(Principal).where(Principal.org_id == me.org_id))}


def _rows(db: Session, me: Principal, f: dict):
    rows = approvals(db, me, job_id=f["job"] or None, connector=f["connector"] or None, risk=f["risk"] or None)
    reminded = reminders_of(db, [a.id for a, _ in rows])
    fingerprint = hashlib.sha256("|".join(f"{a.id}:{a.args_hash}:{reminded.get(a.id, 0)}" for a, _ in rows)
                                 .encode()).hexdigest()[:16]
    return rows, fingerprint, reminded


def _waiting(rows) -> dict[str, int]:
    """Whole hours each approval has waited (shown with its reminders)."""
    now = utcnow()
    return {a.id: int((now - aware(a.created_at)).total_seconds() // 3600) for a, _ in rows}


@router.get("/")
def home() -> Response:
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue")
def queue(request: Request, me: WebUser, db: DbDep, job: Optional[str] = None, connector: Optional[str] = None,
          risk: Optional[str] = None) -> Response:
    f = _filters(job, connector, risk)
    rows, fingerprint, reminded = _rows(db, me, f)
    everything = approvals(db, me)
    jobs = {j.id: j for _, j in everything}
    connectors = sorted({a.connector for a, _ in everything if a.connector})
    return page(request, "queue.html", {"rows": rows, "fingerprint": fingerprint, "filters": f, "jobs": jobs,
                                        "connectors": connectors, "risks": RISKS, "total": len(everything),
                                        "people": _people(db, me), "reminded": reminded,
                                        "waited": _waiting(rows)}, user=me)


@router.get("/queue/rows")
def queue_rows(request: Request, me: WebUser, db: DbDep, job: Optional[str] = None, connector: Optional[str] = None,
               risk: Optional[str] = None) -> Response:
    f = _filters(job, connector, risk)
    rows, fingerprint, reminded = _rows(db, me, f)
    response = page(request, "_queue_rows.html", {"rows": rows, "people": _people(db, me), "reminded": reminded,
                                                  "waited": _waiting(rows)}, user=me)
    response.headers["X-Fingerprint"] = fingerprint
    response.headers["X-Count"] = str(len(rows))
    return response


@router.post("/queue/batch")
def batch(request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    decision = form.get("decision")
    reason = str(form.get("reason") or "").strip()
    picked = [v for v in form.getlist("pick") if isinstance(v, str) and ":" in v]
    back = str(form.get("back") or "/queue")
    back = back if back.startswith("/queue") else "/queue"
    if decision not in ("approve", "reject"):
        flash(request, "choose Approve or Reject", "error")
    elif not picked:
        flash(request, "select at least one approval first", "error")
    elif decision == "reject" and not reason:
        flash(request, "a rejection needs a reason (the agent is told)", "error")
    else:
        done, failed = 0, []
        for value in picked:
            action_id, shown_hash = value.split(":", 1)
            try:
                visible_action(db, me, action_id)  # NotFound alike for unknown and not visible
                decide(session=db, action_id=action_id, actor=me, shown_hash=shown_hash,
                       decision="approve" if decision == "approve" else "reject",
                       reason=reason or None)
                db.commit()
                done += 1
            except NotFound:
                db.rollback()
                failed.append(f"no approval {action_id[:64]} that you may decide")
            except WorkmodeError as exc:  # each item stands alone; every refusal is reported below
                db.rollback()
                failed.append(exc.message)
        verb = "Approved" if decision == "approve" else "Rejected"
        flash(request, f"{verb} {done} of {len(picked)}.")
        for message in failed:
            flash(request, f"Not decided: {message}", "error")
    return RedirectResponse(back, status_code=303)
