"""The one approver rule: who must approve what, and who may decide. By default every side effect
needs a person. Used by the engine (deciding, cancelling), Slack (whom to DM) and the API (who may
see what). A leaf above the store: it reads the organisation's policy and the person's roles."""
from __future__ import annotations

from services.store.models import Job, Organisation, Principal

APPROVER_ROLES = {"approver", "admin"}


def needs_person(org: Organisation, tool_name: str) -> bool:
    """False only for tools the organisation's policy auto-approves (none by default)."""
    return tool_name not in set(auto_approved(org))


def auto_approved(org: Organisation) -> list[str]:
    """Tool names the organisation lets run without a person, as the policy lists them."""
    return list((org.policy or {}).get("auto_approve", []))


def named_approvers(org: Organisation) -> set[str]:
    """The approvers the organisation's policy names by email (lower-cased)."""
    return {e.lower() for e in (org.policy or {}).get("approvers", [])}


def is_approver(org: Organisation, principal: Principal) -> bool:
    """May decide every job of the organisation (not only their own): named by email in the
    policy, or holding an approver role."""
    if principal.org_id != org.id:
        return False
    return principal.email.lower() in named_approvers(org) or bool(APPROVER_ROLES & set(principal.roles or []))


def may_decide(org: Organisation, job: Job, principal: Principal) -> bool:
    """The requester, or an approver the organisation's policy names (by role or by email)."""
    if principal.org_id != job.org_id:
        return False
    if principal.id == job.principal_id:
        return True
    return is_approver(org, principal)
