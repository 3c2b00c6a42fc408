"""Helpers the sandbox tools share: the applied-effect ledger and paging (times, addresses and
people are connectors/common.py, shared with the real connectors)."""
from __future__ import annotations

from typing import Any, Optional

from sqlmodel import Session, select

from connectors.base import ToolContext, ToolError, ToolResult
from connectors.sandbox.models import SandboxEffect


# ---------------------------------------------------------------- effect ledger
def find_effect(session: Session, org_id: str, action_id: Optional[str]) -> Optional[dict]:
    if not action_id:
        return None
    row = session.exec(
        select(SandboxEffect).where(SandboxEffect.action_id == action_id, SandboxEffect.org_id == org_id)
    ).first()
    return dict(row.result) if row is not None else None


def replay(ctx: ToolContext) -> Optional[ToolResult]:
    """If this action was already applied, the recorded result (a write never applies twice)."""
    done = find_effect(ctx.session, ctx.org_id, ctx.action_id)
    return ToolResult(done) if done is not None else None


def applied(ctx: ToolContext, tool: str, result: dict[str, Any]) -> ToolResult:
    """Record the effect in the same transaction as the change (no commit: the engine commits)."""
    if ctx.action_id:
        ctx.session.add(SandboxEffect(org_id=ctx.org_id, action_id=ctx.action_id, tool=tool, result=result))
    ctx.session.flush()
    return ToolResult(result)


def verify_effect(ctx: ToolContext, args: Any, action_id: str) -> Optional[dict]:
    """Every sandbox write records its effect: the recorded result, or None if it never happened."""
    return find_effect(ctx.session, ctx.org_id, action_id)


# ---------------------------------------------------------------- paging
def page_offset(token: Optional[str], field: str = "page_token") -> int:
    if token in (None, ""):
        return 0
    try:
        offset = int(str(token))
    except ValueError:
        raise ToolError(f"{field}: {token!r} is not a token this tool returned") from None
    if offset < 0:
        raise ToolError(f"{field}: {token!r} is not a token this tool returned")
    return offset
