"""One approval: the action as it will happen, risk flags, what the agent read before, and the
decisions (approve; edit and approve; reject with a reason; respond with feedback). Every form
carries the args_hash the page showed: if the action changed since, the decision is refused."""
from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from services.agent.toolbox import job_tools
from services.api.access import visible_action
from services.api.deps import DbDep, FormDep, WebUser, check_csrf, org_of
from services.api.errors import status_of
from services.api.web.forms import apply_errors, form_fields, read_form, validate
from services.api.web.templating import flash, page
from services.api.web.views import action_view
from services.approvals.service import Decision, decide
from services.errors import Invalid, WorkmodeError
from services.policy import may_decide
from services.store.models import Action, ActionStatus, Job, Organisation, Principal

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)


def _page(request: Request, db: Session, me: Principal, action: Action, job: Job, *, fields=None,
          error: str = "", status: int = 200, open_edit: bool = False) -> Response:
    org = org_of(db, me)
    ref = job_tools(org).get(action.tool)
    if fields is None and ref is not None:
        fields = form_fields(ref.tool.json_schema(), action.arguments)
    can = action.status == ActionStatus.pending and may_decide(db.get_one(Organisation, job.org_id), job, me)
    return page(request, "approval.html", {
        "a": action, "job": job, "view": action_view(db, action, job, me), "fields": fields or [],
        "requester": db.get(Principal, job.principal_id), "decider": db.get(Principal, action.decided_by or ""),
        "can_decide": can, "error": error, "open_edit": open_edit or bool(error)}, status=status, user=me)


@router.get("/approvals/{action_id}")
def show(action_id: str, request: Request, me: WebUser, db: DbDep) -> Response:
    action, job = visible_action(db, me, action_id)
    return _page(request, db, me, action, job)


@router.post("/approvals/{action_id}/decide")
def decide_form(action_id: str, request: Request, me: WebUser, db: DbDep, form: FormDep) -> Response:
    action, job = visible_action(db, me, action_id)
    decision = str(form.get("decision") or "")
    shown_hash = str(form.get("args_hash") or "")
    arguments = None
    if decision == "edit":
        ref = job_tools(org_of(db, me)).get(action.tool)
        if ref is None:
            raise Invalid(f"tool {action.tool} is no longer available", "tool")
        fields = form_fields(ref.tool.json_schema(), action.arguments)
        arguments, errors = read_form(fields, form)
        errors = errors or validate(ref.tool.args_model, arguments)
        if errors:
            rest = apply_errors(fields, errors)
            return _page(request, db, me, action, job, fields=fields, status=400,
                         error="Fix the highlighted fields" + (f": {rest}" if rest else "."))
        if ref.tool.args_model.model_validate(arguments).model_dump(mode="json") == action.arguments:
            decision, arguments = "approve", None  # nothing changed: a plain approval
    try:
        # Any word the form sent: decide() refuses one it does not know (InvalidDecision, shown on the page).
        decide(session=db, action_id=action.id, actor=me, decision=cast(Decision, decision), shown_hash=shown_hash,
               arguments=arguments, reason=str(form.get("reason") or "") or None,
               feedback=str(form.get("feedback") or "") or None)
        db.commit()
    except WorkmodeError as exc:
        db.rollback()
        status = status_of(exc)
        if status is None:
            raise
        action, job = visible_action(db, me, action_id)
        return _page(request, db, me, action, job, error=exc.message, status=status)
    words = {"approve": "Approved", "edit": "Edited and approved", "reject": "Rejected",
             "respond": "Feedback sent to the agent"}
    flash(request, f"{words.get(decision, 'Decided')}: {action.preview.get('title', action.tool)}")
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
