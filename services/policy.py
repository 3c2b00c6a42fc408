"""The one approver rule: who must approve what, and who may decide. By default every side effect
needs a person. Used by the engine (deciding, cancelling), Slack (whom to DM) and the API (who may
see what). A leaf above the store: it reads the organisation's policy and the person's roles."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.store.models import Job, Organisation, Principal

APPROVER_ROLES = {"approver", "admin"}


def needs_person(org: Organisation, tool_name: str, risk_flags: Sequence[dict[str, Any]] = ()) -> bool:
    """False only for tools the organisation's policy auto-approves (none by default), and never
    for an action that carries a risk flag: a flagged action always waits for a person."""
    return bool(risk_flags) or tool_name not in set(auto_approved(org))


def auto_approved(org: Organisation) -> list[str]:
    """Tool names the organisation lets run without a person, as the policy lists them."""
    return list((org.policy or {}).get("auto_approve", []))


def named_approvers(org: Organisation) -> set[str]:
    """The approvers the organisation's policy names by email (lower-cased)."""
    return {e.lower() for e in (org.policy or {}).get("approvers", [])}


def is_approver(org: Organisation, principal: Principal) -> bool:
    """May decide every job of the organisation (not only their own): named by email in the
    policy, or holding an approver role."""
    if principal.org_id != org.id or not principal.active:
        return False
    return principal.email.lower() in named_approvers(org) or bool(APPROVER_ROLES & set(principal.roles or []))


def may_decide(org: Organisation, job: Job, principal: Principal) -> bool:
    """The requester, or an approver the organisation's policy names (by role or by email)."""
    if principal.org_id != job.org_id or not principal.active:
        return False
    if principal.id == job.principal_id:
        return True
    return is_approver(org, principal)


# ---------------------------------------------------------------- egress: where things may go
EGRESS_MODES = ("flag", "block")


def allowed_domains(org: Organisation) -> list[str]:
    """Outside domains the organisation lets mail, invitations and Slack Connect channels reach
    without a flag (policy["egress"]["allowed_domains"]), lower-cased. The organisation's own
    domains (`org.domains`) are inside, never outside."""
    egress = (org.policy or {}).get("egress") or {}
    return [str(d).strip().lower().lstrip("@.") for d in egress.get("allowed_domains") or [] if str(d).strip()]


def egress_mode(org: Organisation) -> str:
    """What happens to an action that reaches an outside domain not on the list: "flag" (the
    default: a person sees a risk flag when approving) or "block" (refused before any approval)."""
    mode = str(((org.policy or {}).get("egress") or {}).get("mode") or "flag").lower()
    return mode if mode in EGRESS_MODES else "flag"


def allowed_hosts(org: Organisation | None) -> set[str]:
    """Host names the organisation's admin lets connectors reach even though they resolve to
    internal addresses (an on-premises Jira: policy["allowed_hosts"]), lower-cased."""
    hosts = ((org.policy or {}).get("allowed_hosts") if org is not None else None) or []
    return {str(h).strip().lower().rstrip(".") for h in hosts if str(h).strip()}


# ---------------------------------------------------------------- the organisation's other settings
def approval_ttl_s(org: Organisation | None, default: int) -> int:
    """How long an approval waits for a decision (policy["approval_ttl_s"], else the operator's
    WORKMODE_APPROVAL_TTL_S)."""
    value = (org.policy or {}).get("approval_ttl_s") if org is not None else None
    return int(value) if isinstance(value, int) and value > 0 else default


def reasoning_effort(org: Organisation | None) -> str | None:
    """The organisation's default reasoning effort for new jobs (policy["reasoning_effort"])."""
    value = (org.policy or {}).get("reasoning_effort") if org is not None else None
    return str(value) if value else None


def jit_sign_in(org: Organisation) -> bool:
    """Whether a verified OIDC email in one of the organisation's domains creates a member on first
    sign-in (policy["jit_sign_in"]; off by default)."""
    return (org.policy or {}).get("jit_sign_in") is True
