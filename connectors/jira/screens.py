"""What Jira's screens accept: a project's create screen per issue type, and a transition's screen.

Jira refuses a field that is not on the screen ("Field 'priority' cannot be set. It is not on the
appropriate screen, or unknown.") and one the screen requires but the request lacks, so the
connector reads the screen first and sends only what it has:
- create: GET issue/createmeta/{project}/issuetypes, then .../issuetypes/{issueTypeId} (Cloud
  REST v3 "Get create metadata issue types / field metadata for a project and issue type id"; Data
  Center 8.4+ the same under /rest/api/2). Cloud pages the lists under "issueTypes" and "fields",
  Data Center under "values".
- transition: GET issue/{key}/transitions?expand=transitions.fields lists each transition's screen
  fields, with `required`, `hasDefaultValue` and `defaultValue`.
A required field the tool has no argument for is filled with the default Jira offers, or the tool
says plainly that it cannot do it; nothing is sent then.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from jira import JIRAError

from connectors.base import ToolError
from connectors.jira.client import Jira

META_PAGE = 50
MAX_META = 1000  # issue types or fields read, at most


@dataclass
class CreateScreen:
    project: str
    issue_type_id: str
    issue_type: str
    fields: dict[str, dict] = field(default_factory=dict)  # field id -> its createmeta

    def has(self, field_id: str) -> bool:
        return field_id in self.fields

    def name(self, field_id: str) -> str:
        return str(self.fields.get(field_id, {}).get("name") or field_id)

    def unfillable(self, given: set[str]) -> list[str]:
        """Names of the required fields the request lacks and Jira has no default for."""
        return [self.name(fid) for fid, meta in self.fields.items()
                if meta.get("required") and fid not in given and not meta.get("hasDefaultValue")]

    def allowed(self, field_id: str) -> Optional[list[str]]:
        values = self.fields.get(field_id, {}).get("allowedValues")
        return [str(v.get("name") or v.get("value")) for v in values] if values else None


def _pages(jira: Jira, path: str, list_keys: tuple[str, ...]) -> list[dict]:
    out: list[dict] = []
    while len(out) < MAX_META:
        page = jira.rest("GET", path, params={"startAt": len(out), "maxResults": META_PAGE}) or {}
        items: list[dict] = next((page[k] for k in list_keys if isinstance(page.get(k), list)), [])
        out.extend(items)
        total = page.get("total")
        if not items or page.get("isLast") or (total is not None and len(out) >= total):
            break
    return out


def create_screen(jira: Jira, project: str, issue_type: str) -> CreateScreen:
    """The create screen of `issue_type` in `project`; a clear ToolError for an unknown project or
    an issue type the project does not have (naming the ones it has)."""
    try:
        types = [t for t in _pages(jira, f"issue/createmeta/{project}/issuetypes", ("issueTypes", "values"))
                 if not t.get("subtask")]
    except JIRAError as exc:
        if exc.status_code == 404:
            raise ToolError(f"project {project!r} does not exist in Jira, or you may not create issues in it") \
                from None
        raise
    if not types:
        raise ToolError(f"you may not create issues in {project} (Jira offers no issue types there)")
    wanted = issue_type.strip().lower()
    chosen = next((t for t in types if str(t.get("name", "")).lower() == wanted), None)
    if chosen is None:
        names = ", ".join(str(t.get("name")) for t in types)
        raise ToolError(f"'{issue_type}' is not an issue type of {project}; its issue types are: {names}")
    fields = _pages(jira, f"issue/createmeta/{project}/issuetypes/{chosen['id']}", ("fields", "values"))
    return CreateScreen(project, str(chosen["id"]), str(chosen["name"]),
                        {str(f.get("fieldId") or f.get("key")): f for f in fields})


def transition_fields(transition: dict, key: str) -> dict[str, Any]:
    """What to send for the transition's screen: the default of each required field. A required
    field without a default cannot be filled by this tool: ToolError, nothing sent."""
    out: dict[str, Any] = {}
    missing = []
    for fid, meta in (transition.get("fields") or {}).items():
        if not meta.get("required"):
            continue
        default = meta.get("defaultValue")
        if meta.get("hasDefaultValue") and isinstance(default, dict) and (default.get("id") or default.get("name")):
            out[fid] = {"id": str(default["id"])} if default.get("id") else {"name": default["name"]}
        else:
            missing.append(str(meta.get("name") or fid))
    if missing:
        raise ToolError(f"the transition '{transition['name']}' on {key} asks for {', '.join(missing)}, which this "
                        "tool cannot fill; do that transition in Jira")
    return out


def default_names(transition: dict, sent: dict[str, Any]) -> dict[str, str]:
    """The values sent for a transition's screen, by field name, for the result."""
    fields = transition.get("fields") or {}
    return {str(fields[fid].get("name") or fid): str((fields[fid].get("defaultValue") or {}).get("name") or v)
            for fid, v in sent.items()}
