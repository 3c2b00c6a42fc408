"""REST: approvals. `GET /api/approvals`, `GET /api/approvals/{id}`, `POST /api/approvals/{id}/decision`."""
from __future__ import annotations

from typing import Literal, Optional

from fastapi import APIRouter, Query

from services.api.access import approvals, visible_action
from services.api.deps import ApiUser, DbDep
from services.api.schemas import ActionPublic, DecisionIn, Page, page
from services.approvals.service import decide
from services.store.models import ActionStatus

router = APIRouter(prefix="/api/approvals", tags=["approvals"])
RiskFilter = Literal["any", "none", "outside_recipient", "link", "untrusted_content"]


@router.get("", response_model=Page[ActionPublic])
def list_(me: ApiUser, db: DbDep, status: ActionStatus = ActionStatus.pending,
          job_id: Optional[str] = Query(None, max_length=64), connector: Optional[str] = Query(None, max_length=64),
          risk: Optional[RiskFilter] = None,
          limit: int = Query(20, ge=1, le=100), offset: int = Query(0, ge=0, le=10**9)) -> dict:
    """Approvals I may decide (status=pending, the default) or have seen decided; newest first."""
    rows = approvals(db, me, status=status.value, job_id=job_id, connector=connector, risk=risk)
    return page([ActionPublic.of(a) for a, _ in rows[offset:offset + limit]], len(rows), limit, offset)


@router.get("/{action_id}", response_model=ActionPublic)
def detail(action_id: str, me: ApiUser, db: DbDep) -> ActionPublic:
    action, _ = visible_action(db, me, action_id)
    return ActionPublic.of(action)


@router.post("/{action_id}/decision", response_model=ActionPublic)
def decision(action_id: str, body: DecisionIn, me: ApiUser, db: DbDep) -> ActionPublic:
    """Approve; edit (send the full changed `arguments`) and approve; reject with a `reason`; or
    respond with `feedback`. `args_hash` must be the hash you were shown: if the action changed
    since, or someone decided first, the answer is 409 and nothing happens."""
    visible_action(db, me, action_id)
    action = decide(session=db, action_id=action_id, actor=me, decision=body.decision, shown_hash=body.args_hash,
                    arguments=body.arguments, reason=body.reason, feedback=body.feedback)
    db.commit()
    return ActionPublic.of(action)
