"""REST for an organisation's admins (role "admin"; anyone else gets 403): people, roles,
deactivation, the policy and the audit trail, always of the caller's own organisation.

`GET /api/admin/people`, `POST /api/admin/people`, `GET /api/admin/people/{email}`,
`POST /api/admin/people/{email}/role`, `POST /api/admin/people/{email}/deactivate`,
`GET|PATCH /api/admin/policy`, `GET /api/admin/audit` (filters), `GET /api/admin/audit/export`.
No route creates or lists organisations: an admin's role is within one organisation and there is
no installation-wide admin, so that stays an operator's `workmode org create|list`."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Optional

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from services import audit
from services.admin import people, settings
from services.api.deps import ApiUser, DbDep, org_of
from services.errors import Forbidden
from services.store.models import Principal

router = APIRouter(prefix="/api/admin", tags=["admin"])


def admin_user(me: ApiUser) -> Principal:
    if not people.is_admin(me):
        raise Forbidden("only an organisation admin may do this", "role")
    return me


AdminUser = Annotated[Principal, Depends(admin_user)]
Role = Literal["member", "approver", "admin"]


class PersonPublic(BaseModel):
    email: str
    name: str
    role: str
    time_zone: str
    slack_user_id: Optional[str]
    active: bool
    deactivated_at: Optional[datetime]


class PersonCreate(BaseModel):
    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=200)
    tz: str = Field(default="UTC", max_length=64)
    role: Role = "member"
    slack_id: Optional[str] = Field(default=None, max_length=32)


class RoleChange(BaseModel):
    role: Role


class DeactivationPublic(BaseModel):
    person: PersonPublic
    sessions: int
    tokens: int
    schedules: int
    reassigned: int
    expired: int


def _public(p: Principal) -> PersonPublic:
    return PersonPublic(email=p.email, name=p.name, role=people.role_of(p), time_zone=p.time_zone,
                        slack_user_id=p.slack_user_id, active=p.active, deactivated_at=p.deactivated_at)


@router.get("/people", response_model=list[PersonPublic])
def list_people(me: AdminUser, db: DbDep) -> list[PersonPublic]:
    return [_public(p) for p in people.list_people(session=db, org=org_of(db, me))]


@router.post("/people", status_code=201, response_model=PersonPublic)
def add_person(body: PersonCreate, me: AdminUser, db: DbDep) -> PersonPublic:
    p = people.add_person(session=db, org=org_of(db, me), email=body.email, by=me, name=body.name, tz=body.tz,
                          role=body.role, slack_id=body.slack_id)
    db.commit()
    return _public(p)


@router.get("/people/{email}", response_model=PersonPublic)
def show_person(email: str, me: AdminUser, db: DbDep) -> PersonPublic:
    return _public(people.person(session=db, email=email, org_id=me.org_id))


@router.post("/people/{email}/role", response_model=PersonPublic)
def set_role(email: str, body: RoleChange, me: AdminUser, db: DbDep) -> PersonPublic:
    p = people.set_role(session=db, target=people.person(session=db, email=email, org_id=me.org_id), role=body.role,
                        by=me)
    db.commit()
    return _public(p)


@router.post("/people/{email}/deactivate", response_model=DeactivationPublic)
def deactivate(email: str, me: AdminUser, db: DbDep) -> DeactivationPublic:
    d = people.deactivate(session=db, target=people.person(session=db, email=email, org_id=me.org_id), by=me)
    db.commit()
    return DeactivationPublic(person=_public(d.person), sessions=d.sessions, tokens=d.tokens, schedules=d.schedules,
                              reassigned=d.reassigned, expired=d.expired)


@router.get("/policy")
def show_policy(me: AdminUser, db: DbDep) -> dict[str, Any]:
    return settings.show(org_of(db, me))


@router.patch("/policy")
def change_policy(body: dict[str, Any], me: AdminUser, db: DbDep) -> dict[str, Any]:
    """A partial policy: only the keys given change (null removes one). Recorded in the audit trail."""
    shown = settings.update_policy(session=db, org=org_of(db, me), changes=body, by=me)
    db.commit()
    return shown


@router.get("/audit")
def audit_page(me: AdminUser, db: DbDep, since: Optional[datetime] = None, until: Optional[datetime] = None,
               kind: Optional[str] = Query(default=None, max_length=64),
               actor: Optional[str] = Query(default=None, max_length=320),
               job_id: Optional[str] = Query(default=None, max_length=64),
               limit: int = Query(default=100, ge=1, le=1000), offset: int = Query(default=0, ge=0)) -> list[dict]:
    rows = audit.query(db, org_id=me.org_id, since=since, until=until, kind=kind, actor_email=actor, job_id=job_id,
                       limit=limit, offset=offset)
    return [audit.as_dict(r) for r in rows]


@router.get("/audit/export")
def audit_export(me: AdminUser, db: DbDep, since: datetime, until: Optional[datetime] = None,
                 format: Literal["jsonl", "csv"] = "jsonl") -> StreamingResponse:
    rows = audit.query(db, org_id=me.org_id, since=since, until=until, limit=None, oldest_first=True)
    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    return StreamingResponse(audit.export(rows, format), media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="audit.{format}"'})
