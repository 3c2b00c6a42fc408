"""The one explicit registry of connectors, by slug."""
from __future__ import annotations

from connectors.base import Connector, Tool


def _load() -> dict[str, Connector]:
    from connectors.gcal.tools import connector as gcal
    from connectors.gmail.tools import connector as gmail
    from connectors.jira.tools import connector as jira
    from connectors.sandbox.tools import connector as sandbox
    from connectors.slack.tools import connector as slack

    return {c.slug: c for c in (sandbox, gmail, gcal, jira, slack)}


_CONNECTORS: dict[str, Connector] | None = None


def connectors() -> dict[str, Connector]:
    global _CONNECTORS
    if _CONNECTORS is None:
        _CONNECTORS = _load()
    return _CONNECTORS


def get_connector(slug: str) -> Connector:
    try:
        return connectors()[slug]
    except KeyError:
        raise KeyError(f"unknown connector {slug!r}; known: {sorted(connectors())}") from None


def tools_for(slug: str) -> dict[str, Tool]:
    return get_connector(slug).tools
