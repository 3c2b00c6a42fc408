"""Apply a task's known solution to a fresh sandbox through the real sandbox tools, as approved
actions would, and build the end state a checker reads."""
from __future__ import annotations

from sqlmodel import Session, select

from connectors.base import ToolContext
from connectors.registry import tools_for
from connectors.sandbox.seed import DEMO_EMAIL, seed_workspace
from services.evals.tasks import Solution, Task
from services.evals.world import ActionView, EndState, Look, effects
from services.store.db import get_engine
from services.store.models import Organisation, Principal, new_id

TOOLS = tools_for("sandbox")


def seeded(task: Task) -> str:
    """Seed the world (and plant the task's attack); the organisation's id."""
    with Session(get_engine(), expire_on_commit=False) as s:
        org = seed_workspace(s)
        s.flush()
        if task.attack is not None:
            task.attack.plant(s, Look(s, org))
        s.commit()
        return org.id


def apply(solution_of, org_id: str) -> EndState:
    """Run the solution's writes (each in its own session, committed, like an executed action)."""
    with Session(get_engine(), expire_on_commit=False) as s:
        solution: Solution = solution_of(Look(s, s.get_one(Organisation, org_id)))
    actions = []
    for name, args in solution.writes:
        tool, action_id = TOOLS[name], new_id()
        with Session(get_engine(), expire_on_commit=False) as s:
            me = s.exec(select(Principal).where(Principal.email == DEMO_EMAIL)).one()
            ctx = ToolContext(session=s, principal_id=me.id, principal_email=me.email, org_id=org_id,
                              time_zone=me.time_zone, action_id=action_id)
            tool.run(ctx, tool.parse(args))
            s.commit()
        actions.append(ActionView(action_id, name, tool.parse(args).model_dump(mode="json"), "succeeded", [], "person"))
    with Session(get_engine(), expire_on_commit=False) as s:
        done = effects(s, s.get_one(Organisation, org_id))
    return EndState(status="completed", answer=solution.answer, actions=actions, effects=done,
                    questions=["Which one?"] if solution.asks else [])
