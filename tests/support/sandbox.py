"""The sandbox world for connector tests: a seeded workspace and a way to call tools as someone."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session, func, select

from connectors.base import ToolContext, ToolResult
from connectors.registry import tools_for
from connectors.sandbox.models import (
    SandboxChatMessage,
    SandboxEffect,
    SandboxEvent,
    SandboxIssue,
    SandboxMailMessage,
)
from connectors.sandbox.seed import DEMO_EMAIL, seed_workspace
from services.store.db import get_engine
from services.store.models import Principal, new_id

DANA = "dana@northwind.example"
TOOLS = tools_for("sandbox")


class World:
    """A seeded workspace and a way to call tools as someone."""

    def __init__(self, now: Optional[datetime] = None):
        self.session = Session(get_engine())
        self.org = seed_workspace(self.session, now=now)
        self.session.commit()
        self.now = now

    def ctx(self, email: str = DEMO_EMAIL, action_id: Optional[str] = None, session: Session | None = None):
        s = session or self.session
        p = s.exec(select(Principal).where(Principal.email == email)).one()
        return ToolContext(session=s, principal_id=p.id, principal_email=p.email, org_id=self.org.id,
                           time_zone=p.time_zone, action_id=action_id)

    def call(self, name: str, args: dict[str, Any], *, as_: str = DEMO_EMAIL,
             action_id: Optional[str] = None) -> ToolResult:
        tool = TOOLS[name]
        return tool.run(self.ctx(as_, action_id), tool.parse(args))

    def write(self, name: str, args: dict[str, Any], *, as_: str = DEMO_EMAIL) -> tuple[str, dict]:
        """Run a write as an Action would (own session, commit after), checking verify and replay."""
        tool, action_id = TOOLS[name], new_id()
        parsed = tool.parse(args)
        with Session(get_engine()) as s:
            assert tool.verify(self.ctx(as_, session=s), parsed, action_id) is None
        with Session(get_engine()) as s:
            result = tool.run(self.ctx(as_, action_id, session=s), parsed).data
            s.commit()
        with Session(get_engine()) as s:
            assert tool.verify(self.ctx(as_, session=s), parsed, action_id) == result
            before = self.counts(s)
            again = tool.run(self.ctx(as_, action_id, session=s), parsed).data
            s.commit()
            assert again == result and self.counts(s) == before  # same action: applied once
        self.session.expire_all()
        return action_id, result

    @staticmethod
    def counts(s: Session) -> tuple:
        return tuple(s.exec(select(func.count()).select_from(m)).one() for m in (
            SandboxMailMessage, SandboxEvent, SandboxIssue, SandboxChatMessage, SandboxEffect))

    def close(self):
        self.session.close()
