"""Deciding from a digest: the low-risk batch with one click, or the items a person picked. Every
decision goes through `services.approvals.service.decide` with the hash of the arguments that were
shown, one commit per action (each stands alone: a refusal is reported, the rest go on); afterwards
the person's decisions are learned from (services.triage_memory)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal, Optional

from sqlmodel import Session

from services.approvals.service import decide
from services.digest.build import Digest, build
from services.errors import Conflict, Invalid, WorkmodeError
from services.store.models import Action, Principal, TriageRun
from services.triage_memory import learn


@dataclass
class Outcome:
    decision: str
    total: int
    done: int = 0
    failed: list[str] = field(default_factory=list)


def fingerprint(actions: list[Action]) -> str:
    """Names a set of actions exactly as shown (ids and argument hashes)."""
    raw = "|".join(sorted(f"{a.id}:{a.args_hash}" for a in actions))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _apply(session: Session, actor: Principal, run: TriageRun, picks: list[tuple[str, str]],
           decision: Literal["approve", "reject"], reason: Optional[str]) -> Outcome:
    out = Outcome(decision=decision, total=len(picks))
    for action_id, shown_hash in picks:
        try:
            decide(session=session, action_id=action_id, actor=actor, decision=decision, shown_hash=shown_hash,
                   reason=reason)
            session.commit()
            out.done += 1
        except WorkmodeError as exc:  # each action stands alone; every refusal is reported
            session.rollback()
            out.failed.append(exc.message)
    learn(session, run.principal_id)
    session.commit()
    return out


def approve_low_risk(session: Session, run: TriageRun, actor: Principal, shown: str) -> Outcome:
    """Approve exactly the digest's pending low-risk actions (labels, archive, mark read; no risk
    flag). `shown` is the fingerprint of the batch the person saw; if it changed, nothing is done."""
    batch = build(session, run).low_risk_pending
    if fingerprint(batch) != shown:
        raise Conflict("the low-risk batch changed since it was shown; look at the digest again", "batch")
    return _apply(session, actor, run, [(a.id, a.args_hash) for a in batch], "approve", None)


def decide_picked(session: Session, run: TriageRun, actor: Principal, picks: list[tuple[str, str]],
                  decision: str, reason: Optional[str] = None) -> Outcome:
    """Approve or reject the picked (action id, shown hash) pairs; only actions of this digest."""
    if decision not in ("approve", "reject"):
        raise Invalid("choose approve or reject", "decision")
    if not picks:
        raise Invalid("select at least one item first", "pick")
    if decision == "reject" and not (reason or "").strip():
        raise Invalid("a rejection needs a reason (it is remembered, and the agent is told)", "reason")
    digest: Digest = build(session, run)
    ours = {a.id for i in digest.items for a in i.actions}
    foreign = [aid for aid, _ in picks if aid not in ours]
    if foreign:
        raise Invalid(f"not an item of this digest: {foreign[0][:64]}", "pick")
    return _apply(session, actor, run, picks, "approve" if decision == "approve" else "reject",
                  (reason or "").strip() or None)
