"""Which tools a job has: the built-ins plus, for each family (mail, calendar, tickets, chat),
the tools of the connector the organisation configured for it (default: the sandbox)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from connectors.base import Tool
from connectors.registry import get_connector
from services.agent.builtins import BUILTINS
from services.store.models import Organisation

FAMILIES = {"gmail_": "mail", "calendar_": "calendar", "jira_": "tickets", "slack_": "chat"}
DEFAULT_CONNECTOR = "sandbox"


@dataclass(frozen=True)
class ToolRef:
    tool: Tool
    connector: Optional[str]  # None for built-ins

    @property
    def write(self) -> bool:
        return self.tool.write


def family_of(tool_name: str) -> Optional[str]:
    for prefix, family in FAMILIES.items():
        if tool_name.startswith(prefix):
            return family
    return None


def job_tools(org: Organisation) -> dict[str, ToolRef]:
    """All tools for jobs of this organisation, keyed by name, in a stable (sorted) order."""
    configured = (org.policy or {}).get("connectors", {})
    tools: dict[str, ToolRef] = {name: ToolRef(tool, None) for name, tool in BUILTINS.items()}
    for family in sorted(set(FAMILIES.values())):
        slug = configured.get(family, DEFAULT_CONNECTOR)
        for name, tool in get_connector(slug).tools.items():
            if family_of(name) == family:
                tools[name] = ToolRef(tool, slug)
    return dict(sorted(tools.items()))


# Specs are built from pydantic JSON schemas, which costs milliseconds per tool and per step;
# tools are immutable once registered, so each tool list's specs are built once per process.
# Each entry keeps its Tool objects alive, so an id() in a key cannot be reused while cached.
_SPECS: dict[tuple[tuple[str, str | None, int], ...], tuple[list[Tool], list[dict[str, Any]]]] = {}


def tool_specs(tools: dict[str, ToolRef]) -> list[dict[str, Any]]:
    """The OpenAI tool specs, in the tools' order. Treat the dicts as read-only (they are shared)."""
    key = tuple((name, ref.connector, id(ref.tool)) for name, ref in tools.items())
    entry = _SPECS.get(key)
    if entry is None:
        if len(_SPECS) >= 64:
            _SPECS.clear()
        refs = [ref.tool for ref in tools.values()]
        entry = _SPECS[key] = (refs, [tool.spec() for tool in refs])
    return list(entry[1])
