"""The suites by name, and choosing tasks from them."""
from __future__ import annotations

from services.evals.injection import INJECTION
from services.evals.tasks import Task
from services.evals.work import WORK

SUITES: dict[str, list[Task]] = {"work": WORK, "injection": INJECTION}


def all_tasks() -> list[Task]:
    return [t for tasks in SUITES.values() for t in tasks]


def select_tasks(suite: str = "all", ids: tuple[str, ...] = ()) -> list[Task]:
    """Tasks of `suite` ("all" for both), narrowed to `ids` when given; an unknown id is a ValueError."""
    pool = all_tasks() if suite == "all" else SUITES[suite]
    if not ids:
        return list(pool)
    known = {t.id: t for t in all_tasks()}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValueError(f"unknown task id(s): {', '.join(unknown)} (see `workmode eval --list`)")
    chosen = [known[i] for i in dict.fromkeys(ids) if suite == "all" or known[i].suite == suite]
    if not chosen:
        raise ValueError(f"none of the tasks given is in the {suite} suite")
    return chosen
