"""The organisation's policy, shown and changed by its admins: approvers, auto-approved tools,
the connector per family, allowed outside domains, approval time-to-live, reminders, default
reasoning effort, just-in-time sign-in. `update_policy` validates every key it is given (a bad
value changes nothing), writes the merged policy, and records one `policy_changed` audit row with
who, when, and each changed key's value before and after.

Auto-approval is a list of write tools; it never applies to an action with a risk flag
(services.policy.needs_person), so a tool that can carry one is still asked about then."""
from __future__ import annotations

import copy
from typing import Any

from sqlmodel import Session

from connectors.registry import connectors
from services import audit
from services.admin.people import domain, person
from services.errors import Invalid
from services.jobs.service import EFFORTS
from services.store.models import Organisation, Principal

By = Principal | str
FAMILIES = {"gmail_": "mail", "calendar_": "calendar", "jira_": "tickets", "slack_": "chat"}
TTL_MIN_S, TTL_MAX_S = 300, 30 * 24 * 3600
REMINDER_KEYS = {"after_s": (60, TTL_MAX_S), "before_expiry_s": (60, TTL_MAX_S)}
KEYS = ("approvers", "auto_approve", "connectors", "egress", "approval_ttl_s", "reminders",
        "reasoning_effort", "jit_sign_in", "allowed_hosts")


def show(org: Organisation) -> dict[str, Any]:
    """The policy with every key present (defaults filled in), as an admin reads it."""
    p = org.policy or {}
    return {
        "approvers": list(p.get("approvers", [])),
        "auto_approve": list(p.get("auto_approve", [])),
        "connectors": {fam: (p.get("connectors") or {}).get(fam, "sandbox") for fam in sorted(set(FAMILIES.values()))},
        "egress": {"allowed_domains": list((p.get("egress") or {}).get("allowed_domains", [])),
                   "mode": (p.get("egress") or {}).get("mode", "flag")},
        "approval_ttl_s": p.get("approval_ttl_s"),
        "reminders": dict(p.get("reminders") or {}),
        "reasoning_effort": p.get("reasoning_effort"),
        "jit_sign_in": p.get("jit_sign_in") is True,
        "allowed_hosts": list(p.get("allowed_hosts", [])),
    }


def write_tools() -> dict[str, set[str]]:
    """Write tool name → the connector slugs that have it."""
    found: dict[str, set[str]] = {}
    for slug, conn in connectors().items():
        for name, tool in conn.tools.items():
            if tool.write:
                found.setdefault(name, set()).add(slug)
    return found


def update_policy(*, session: Session, org: Organisation, changes: dict[str, Any], by: By) -> dict[str, Any]:
    """Apply `changes` (a partial policy; None removes a key) and audit it. Returns the new
    policy as `show` gives it."""
    if not isinstance(changes, dict) or not changes:
        raise Invalid("policy: say what to change", "policy")
    unknown = sorted(set(changes) - set(KEYS))
    if unknown:
        raise Invalid(f"{unknown[0]}: not a policy setting (one of {', '.join(KEYS)})", unknown[0])
    new = copy.deepcopy(org.policy or {})
    diff: dict[str, dict[str, Any]] = {}
    for key, value in changes.items():
        clean = None if value is None else _CHECK[key](session, org, value)
        before = new.get(key)
        if clean is None:
            new.pop(key, None)
        else:
            new[key] = clean
        if before != clean:
            diff[key] = {"before": before, "after": clean}
    if diff:
        org.policy = new
        session.add(org)
        session.flush()
        audit.record(session, org_id=org.id, kind="policy_changed", actor=by, subject=", ".join(sorted(diff)),
                     changes=diff)
    return show(org)


def _approvers(session: Session, org: Organisation, value: Any) -> list[str]:
    emails = _strings(value, "approvers")
    for email in emails:
        p = person(session=session, email=email, org_id=org.id)
        if not p.active:
            raise Invalid(f"approvers: {email} is deactivated", "approvers")
    return sorted({e.lower() for e in emails})


def _auto_approve(session: Session, org: Organisation, value: Any) -> list[str]:
    names = _strings(value, "auto_approve")
    known = write_tools()
    for name in names:
        if name not in known:
            raise Invalid(f"auto_approve: {name!r} is not a write tool (reads never need approval; write tools: "
                          f"{', '.join(sorted(known))})", "auto_approve")
    return sorted(set(names))


def _connectors(session: Session, org: Organisation, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise Invalid("connectors: a mapping of family to connector, e.g. {\"mail\": \"gmail\"}", "connectors")
    families = set(FAMILIES.values())
    out = dict((org.policy or {}).get("connectors") or {})
    for fam, slug in value.items():
        if fam not in families:
            raise Invalid(f"connectors: {fam!r} is not a family (one of {', '.join(sorted(families))})", "connectors")
        conn = connectors().get(str(slug))
        if conn is None or not any(_family(n) == fam for n in conn.tools):
            offering = sorted(s for s, c in connectors().items() if any(_family(n) == fam for n in c.tools))
            raise Invalid(f"connectors: {slug!r} has no {fam} tools (choose {', '.join(offering)})", "connectors")
        out[fam] = str(slug)
    return out


def _egress(session: Session, org: Organisation, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"allowed_domains", "mode"}:
        raise Invalid("egress: {\"allowed_domains\": [...], \"mode\": \"flag\" or \"block\"}", "egress")
    current = dict((org.policy or {}).get("egress") or {})
    if "allowed_domains" in value:
        current["allowed_domains"] = sorted({domain(d, "egress") for d in _strings(value["allowed_domains"], "egress")})
    if "mode" in value:
        if value["mode"] not in ("flag", "block"):
            raise Invalid("egress: mode is \"flag\" or \"block\"", "egress")
        current["mode"] = value["mode"]
    return current


def _ttl(session: Session, org: Organisation, value: Any) -> int:
    return _seconds(value, "approval_ttl_s", TTL_MIN_S, TTL_MAX_S)


def _reminders(session: Session, org: Organisation, value: Any) -> dict[str, Any]:
    """policy["reminders"] as services/approvals/reminders.py reads it: `after_s` and
    `before_expiry_s` (seconds; 0 turns that reminder off) and `summary_hour` (0-23 in each
    approver's zone; null: no daily summary). A key given as null goes back to the installation's
    default (WORKMODE_REMINDER_*)."""
    if not isinstance(value, dict):
        raise Invalid("reminders: {\"after_s\": 7200, \"before_expiry_s\": 3600, \"summary_hour\": 9}",
                      "reminders")
    current = dict((org.policy or {}).get("reminders") or {})
    for key, v in value.items():
        if key in REMINDER_KEYS:
            lo, hi = REMINDER_KEYS[key]
            if v is None:
                current.pop(key, None)
            elif v == 0 and not isinstance(v, bool):
                current[key] = 0  # this reminder is off
            else:
                current[key] = _seconds(v, "reminders", lo, hi)
        elif key == "summary_hour":
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 23):
                raise Invalid("reminders: summary_hour is an hour from 0 to 23, or null for no daily summary",
                              "reminders")
            current[key] = v
        else:
            raise Invalid(f"reminders: {key!r} is not a setting (after_s, before_expiry_s, summary_hour)",
                          "reminders")
    return current


def _effort(session: Session, org: Organisation, value: Any) -> str:
    if value not in EFFORTS:
        raise Invalid(f"reasoning_effort: one of {', '.join(EFFORTS)}", "reasoning_effort")
    return str(value)


def _jit(session: Session, org: Organisation, value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("jit_sign_in: true or false", "jit_sign_in")
    return value


def _hosts(session: Session, org: Organisation, value: Any) -> list[str]:
    return sorted({domain(h, "allowed_hosts") for h in _strings(value, "allowed_hosts")})


def _strings(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise Invalid(f"{field}: a list of names", field)
    return [v.strip() for v in value]


def _seconds(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise Invalid(f"{field}: whole seconds between {lo} and {hi}", field)
    return value


def _family(tool: str) -> str | None:
    return next((fam for prefix, fam in FAMILIES.items() if tool.startswith(prefix)), None)


_CHECK = {"approvers": _approvers, "auto_approve": _auto_approve, "connectors": _connectors, "egress": _egress,
          "approval_ttl_s": _ttl, "reminders": _reminders, "reasoning_effort": _effort, "jit_sign_in": _jit,
          "allowed_hosts": _hosts}


def parse_duration(text: str, field: str) -> int:
    """'90m', '2h', '1d', '3600' (seconds) → seconds; a clear error otherwise."""
    t = (text or "").strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t)
    except ValueError:
        raise Invalid(f"{field}: a duration like 90m, 2h or 1d, not {text!r}", field) from None
