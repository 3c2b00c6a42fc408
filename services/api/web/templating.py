"""Jinja2 for the pages: autoescape always on (untrusted text is escaped wherever it goes), a
few filters for times in the viewer's zone, and `page()` which adds what every page needs."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from services.agent.risk import describe
from services.api.deps import csrf_token

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                         undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
templates = Jinja2Templates(env=env)


def zone(name: Optional[str]) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local(dt: Optional[datetime], tz: Optional[str]) -> str:
    """A stored time in the viewer's zone: 'Tue 4 Mar 2025, 15:04 GMT'."""
    if dt is None:
        return ""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    here = dt.astimezone(zone(tz))
    return f"{here:%a} {here.day} {here:%b %Y, %H:%M} {here.tzname()}"


def iso(dt: Optional[datetime]) -> str:
    if dt is None:
        return ""
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).isoformat()


def listing(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


env.filters.update(local=local, iso=iso, listing=listing, describe=describe)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session.setdefault("flash", []).append([kind, message])


def page(request: Request, name: str, context: dict[str, Any], status: int = 200,
         user: Any = None) -> Response:
    ctx = {"request": request, "user": user, "csrf": csrf_token(request),
           "flashes": [] if name.startswith("_") else request.session.pop("flash", []),
           "tz": getattr(user, "time_zone", "UTC"), **context}
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def render_error(request: Request, status: int, message: str) -> Response:
    return page(request, "error.html", {"status": status, "message": message}, status=status)
