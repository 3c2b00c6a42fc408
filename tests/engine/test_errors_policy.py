"""The one approver rule (services.policy) and the error kinds (services.errors) with the HTTP
status each maps to; no database: the rules read only the organisation and the person."""
from __future__ import annotations

import pytest

from services import policy
from services.api.errors import status_of
from services.api.tokens import InvalidTokenName, LoginLinksOff, TokenError, TokenNotFound
from services.approvals.service import ApprovalError, ApprovalNotFound, Conflict, InvalidDecision
from services.errors import Forbidden, Invalid, NotFound, Unauthorized, Unavailable, WorkmodeError
from services.identity import UnknownPrincipal
from services.jobs.service import JobError, JobInvalid, JobNotFound, NotAllowed
from services.store.models import Job, Organisation, Principal

ORG = Organisation(id="o1", name="Northwind", policy={"approvers": ["Dana@Northwind.example"],
                                                      "auto_approve": ["calendar_create_event"]})


def person(pid: str, email: str, roles=(), org_id: str = "o1") -> Principal:
    return Principal(id=pid, org_id=org_id, email=email, roles=list(roles))


ALEX = person("p-alex", "alex@northwind.example")
DANA = person("p-dana", "dana@northwind.example")  # named by email
SAM = person("p-sam", "sam@northwind.example", roles=["admin"])  # an approver by role
OUTSIDER = person("p-eve", "dana@northwind.example", roles=["admin"], org_id="o2")
JOB = Job(id="j1", org_id="o1", principal_id=ALEX.id, prompt="reply to Dana")


def test_who_may_decide_a_job():
    assert policy.may_decide(ORG, JOB, ALEX)  # the requester
    assert policy.may_decide(ORG, JOB, DANA) and policy.may_decide(ORG, JOB, SAM)
    assert not policy.may_decide(ORG, JOB, person("p-kim", "kim@northwind.example"))
    assert not policy.may_decide(ORG, JOB, OUTSIDER)


def test_approvers_by_email_or_role():
    assert policy.named_approvers(ORG) == {"dana@northwind.example"}
    assert policy.is_approver(ORG, DANA) and policy.is_approver(ORG, SAM)
    assert not policy.is_approver(ORG, ALEX) and not policy.is_approver(ORG, OUTSIDER)


def test_which_tools_need_a_person():
    assert policy.needs_person(ORG, "gmail_send")
    assert not policy.needs_person(ORG, "calendar_create_event")
    assert policy.needs_person(Organisation(id="o3", name="Empty", policy={}), "calendar_create_event")


@pytest.mark.parametrize("exc, status, field", [
    (JobNotFound("j9"), 404, None),
    (JobInvalid("prompt: too long", "prompt"), 400, "prompt"),
    (NotAllowed("not yours"), 403, None),
    (ApprovalNotFound("a9"), 404, "action_id"),
    (InvalidDecision("feedback is empty", field="feedback"), 400, "feedback"),
    (Conflict("the action changed since it was shown", "args_hash"), 409, "args_hash"),
    (InvalidTokenName("name: at most 100 characters", field="name"), 400, "name"),
    (TokenNotFound("t9"), 404, "token_id"),
    (LoginLinksOff("sign-in links are off"), 403, None),
    (UnknownPrincipal("user", "x@y.example", "email"), 404, "email"),
    (Unauthorized("invalid or revoked API token", "Authorization"), 401, "Authorization"),
    (Unavailable("Slack is not configured"), 503, None),
])
def test_status_by_type(exc, status, field):
    assert isinstance(exc, WorkmodeError)
    assert status_of(exc) == status and exc.field == field


def test_kinds_keep_their_families_and_builtins():
    assert isinstance(JobNotFound("j9"), JobError) and isinstance(JobInvalid("x"), JobError)
    assert isinstance(ApprovalNotFound("a9"), ApprovalError) and isinstance(InvalidDecision("x"), ApprovalError)
    assert isinstance(TokenNotFound("t9"), TokenError) and isinstance(LoginLinksOff("x"), TokenError)
    assert str(JobNotFound("j9")) == "job j9 not found" and str(TokenNotFound("t9")) == "no token t9 of yours"
    assert isinstance(NotFound("job", "j9"), LookupError) and isinstance(Invalid("x"), ValueError)
    assert isinstance(Forbidden("x"), PermissionError) and isinstance(Conflict("x"), RuntimeError)
    assert status_of(WorkmodeError("a server fault")) is None
