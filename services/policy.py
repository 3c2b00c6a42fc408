"""Who must approve what, and who may decide. By default every side effect needs a person."""
from __future__ import annotations

from services.store.models import Job, Organisation, Principal

APPROVER_ROLES = {"approver", "admin"}


def needs_person(org: Organisation, tool_name: str) -> bool:
    return tool_name not in set((org.policy or {}).get("auto_approve", []))


def may_decide(org: Organisation, job: Job, principal: Principal) -> bool:
    """The requester, or an approver the organisation's policy names (by role or by email)."""
    if principal.org_id != job.org_id:
        return False
    if principal.id == job.principal_id:
        return True
    named = {e.lower() for e in (org.policy or {}).get("approvers", [])}
    return principal.email.lower() in named or bool(APPROVER_ROLES & set(principal.roles or []))
