"""Finding the issue an action created, without trusting the search index to be current.

Every issue the connector creates carries the action's id in an issue property `workmode.action`
(set in the create request itself, so it exists from the issue's first moment) and, when the
create screen has Labels, the label `workmode-<action id>`.

Jira Cloud's search is eventually consistent: "The API doesn't provide read-after-write consistency
by default ... The delay might vary from a few seconds to minutes" (Atlassian, "Search after write
with search and reconcile"); `reconcileIssues` helps only for issue ids one already knows, and after
a crash we do not know the id. Data Center's index lags the same way across cluster nodes. So a
search that finds nothing proves nothing about a recent create. What is read-after-write is
reading one issue by key (GET issue/{key}, with its properties), and issue keys are handed out by
the project's counter in order. So:

1. Search for the label: found → it happened (an index never shows a label an issue lacks).
2. Read the project's newest keys from the index (ORDER BY key DESC, with the property): found →
   it happened.
3. Read directly, by key, every key the index should have shown but did not (gaps below its newest
   key) and the keys after its newest one, until several in a row do not exist. These reads are
   current, so an issue created moments ago is among them even when search has not caught up.
Only when all three find nothing is the answer "absent". If the index is so far behind that the
direct reads would be too many, the answer is CannotVerify (a person checks), never "absent".
"""
from __future__ import annotations

from typing import Optional

from jira import JIRAError

from connectors.base import CannotVerify
from connectors.jira.client import Jira
from connectors.jira.read import search_page

CREATE_PROPERTY = "workmode.action"
WINDOW = 100  # the newest keys read from the index
LOOKAHEAD = 3  # keys in a row that do not exist past the newest: the end (deleted issues leave gaps)
MAX_READS = 50  # direct reads before giving up as "cannot tell"


def marker_label(action_id: str) -> str:
    return f"workmode-{action_id}"


def _marked(raw: dict, action_id: str) -> bool:
    labels = (raw.get("fields") or {}).get("labels") or []
    prop = (raw.get("properties") or {}).get(CREATE_PROPERTY) or {}
    return marker_label(action_id) in labels or prop.get("action_id") == action_id


def _found(raw: dict) -> dict:
    return {"key": raw["key"], "id": str(raw["id"])}


def _number(key: str, project: str) -> Optional[int]:
    prefix, _, n = key.rpartition("-")
    return int(n) if prefix.upper() == project and n.isdigit() else None


def find_created(jira: Jira, project: str, action_id: str) -> Optional[dict]:
    """{"key", "id"} of the issue in `project` that action `action_id` created, None when it
    surely does not exist; raises CannotVerify when Jira's search is too far behind to tell."""
    project = project.strip().upper()
    page = search_page(jira, f'labels = "{marker_label(action_id)}" ORDER BY created ASC', 0, 5, ["labels"])
    if page["issues"]:
        return _found(page["issues"][0])
    newest = search_page(jira, f'project = "{project}" ORDER BY key DESC', 0, WINDOW, ["labels"],
                         properties=CREATE_PROPERTY)["issues"]
    for raw in newest:
        if _marked(raw, action_id):
            return _found(raw)
    seen = {n for n in (_number(r["key"], project) for r in newest) if n is not None}
    top = max(seen, default=0)
    low = min(seen) if len(newest) >= WINDOW else 1
    reads = 0

    def read(n: int) -> Optional[dict]:
        nonlocal reads
        reads += 1
        if reads > MAX_READS:
            raise CannotVerify(f"Jira's search is far behind on {project} (more than {MAX_READS} recent issues "
                               "it does not show yet); check by hand whether the issue was created", later=True)
        try:
            return jira.api.issue(f"{project}-{n}", fields="labels", properties=CREATE_PROPERTY).raw
        except JIRAError as exc:
            if exc.status_code == 404:  # never existed, deleted, or hidden from us
                return None
            raise

    for n in range(low, top):
        if n not in seen and (raw := read(n)) is not None and _marked(raw, action_id):
            return _found(raw)
    n, misses = top, 0
    while misses < LOOKAHEAD:
        n += 1
        raw = read(n)
        misses = misses + 1 if raw is None else 0
        if raw is not None and _marked(raw, action_id):
            return _found(raw)
    return None
