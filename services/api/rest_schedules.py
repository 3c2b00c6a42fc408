"""REST: my schedules. `GET/POST /api/schedules`, `POST /api/schedules/{id}/pause|resume|run-now`,
`DELETE /api/schedules/{id}`, `GET /api/schedules/{id}/runs`. Only the signed-in person's own."""
from __future__ import annotations

from fastapi import APIRouter, Response

from services.api.deps import ApiUser, DbDep
from services.api.schemas import ScheduleCreate, SchedulePublic, ScheduleRunPublic
from services.schedules import service

router = APIRouter(prefix="/api/schedules", tags=["schedules"])


@router.get("", response_model=list[SchedulePublic])
def list_(me: ApiUser, db: DbDep) -> list[SchedulePublic]:
    return [SchedulePublic.of(s) for s in service.list_schedules(session=db, principal=me)]


@router.post("", status_code=201, response_model=SchedulePublic)
def create(body: ScheduleCreate, me: ApiUser, db: DbDep) -> SchedulePublic:
    """Add a schedule; it first runs at the next slot (in `time_zone`, DST included)."""
    sc = service.add_schedule(session=db, principal=me, kind=body.kind, when=body.when, prompt=body.prompt,
                              tz=body.tz, delivery=body.deliver)
    db.commit()
    return SchedulePublic.of(sc)


@router.get("/{schedule_id}/runs", response_model=list[ScheduleRunPublic])
def runs(schedule_id: str, me: ApiUser, db: DbDep) -> list[ScheduleRunPublic]:
    sc = service.find_schedule(session=db, principal=me, ref=schedule_id)
    return [ScheduleRunPublic(**r.model_dump()) for r in service.recent_runs(session=db, schedule_id=sc.id)]


@router.post("/{schedule_id}/pause", response_model=SchedulePublic)
def pause(schedule_id: str, me: ApiUser, db: DbDep) -> SchedulePublic:
    sc = service.pause(session=db, principal=me, ref=schedule_id)
    db.commit()
    return SchedulePublic.of(sc)


@router.post("/{schedule_id}/resume", response_model=SchedulePublic)
def resume(schedule_id: str, me: ApiUser, db: DbDep) -> SchedulePublic:
    """Active again from the next slot (slots that passed while paused are not caught up)."""
    sc = service.resume(session=db, principal=me, ref=schedule_id)
    db.commit()
    return SchedulePublic.of(sc)


@router.post("/{schedule_id}/run-now", status_code=201, response_model=ScheduleRunPublic)
def run_now(schedule_id: str, me: ApiUser, db: DbDep) -> ScheduleRunPublic:
    run = service.run_now(session=db, principal=me, ref=schedule_id)
    db.commit()
    return ScheduleRunPublic(**run.model_dump())


@router.delete("/{schedule_id}", status_code=204)
def delete(schedule_id: str, me: ApiUser, db: DbDep) -> Response:
    service.remove(session=db, principal=me, ref=schedule_id)
    db.commit()
    return Response(status_code=204)
