"""REST for admins on PostgreSQL: people, roles, policy (audited), deactivation that ends a live
session and the API tokens, and a member refused with 403."""
from __future__ import annotations

from sqlmodel import Session, select

from services.store.db import get_engine
from services.store.models import AuditEvent, Schedule
from tests.support.web import api_token, sign_in


def test_member_gets_403_everywhere(workspace, admin, client):
    _, people = workspace
    member = api_token(people["priya"])
    for method, path in [("GET", "/api/admin/people"), ("GET", "/api/admin/policy"), ("GET", "/api/admin/audit"),
                         ("PATCH", "/api/admin/policy"),
                         ("POST", "/api/admin/people/sam@northwind.example/deactivate")]:
        r = client.request(method, path, headers=member, json={"approval_ttl_s": 600})
        assert r.status_code == 403, (path, r.text)
    assert client.get("/api/admin/people").status_code == 401


def test_people_roles_and_policy(workspace, admin, client):
    h = api_token(admin)
    assert {p["email"] for p in client.get("/api/admin/people", headers=h).json()} >= {"alex@northwind.example",
                                                                                        "priya@northwind.example"}
    r = client.post("/api/admin/people", headers=h, json={"email": "kim@northwind.example", "name": "Kim",
                                                          "tz": "Europe/Berlin", "role": "approver"})
    assert r.status_code == 201 and r.json()["role"] == "approver"
    assert client.post("/api/admin/people", headers=h, json={"email": "kim@northwind.example"}).status_code == 409
    assert client.post("/api/admin/people", headers=h, json={"email": "x@evil.example"}).status_code == 400
    assert client.post("/api/admin/people", headers=h, json={"email": "y@northwind.example",
                                                             "role": "owner"}).status_code == 422
    r = client.post("/api/admin/people/kim@northwind.example/role", headers=h, json={"role": "member"})
    assert r.json()["role"] == "member"
    assert client.get("/api/admin/people/nobody@northwind.example", headers=h).status_code == 404

    r = client.patch("/api/admin/policy", headers=h, json={"auto_approve": ["slack_post"], "approval_ttl_s": 3600,
                                                           "egress": {"allowed_domains": ["partner.example"]}})
    assert r.status_code == 200, r.text
    assert r.json()["auto_approve"] == ["slack_post"] and r.json()["egress"]["mode"] == "flag"
    for bad in ({"approval_ttl_s": 5}, {"nonsense": 1}, {"auto_approve": ["gmail_search"]},
                {"approvers": ["ghost@northwind.example"]}, {"egress": {"mode": "maybe"}}, {}):
        assert client.patch("/api/admin/policy", headers=h, json=bad).status_code in (400, 404), bad
    assert client.get("/api/admin/policy", headers=h).json()["approval_ttl_s"] == 3600  # bad input changed nothing
    audit = client.get("/api/admin/audit", headers=h, params={"kind": "policy_changed"}).json()
    assert len(audit) == 1 and audit[0]["actor_email"] == "alex@northwind.example"
    assert audit[0]["data"]["changes"]["auto_approve"] == {"before": None, "after": ["slack_post"]}
    assert [r["kind"] for r in client.get("/api/admin/audit", headers=h,
                                          params={"actor": "alex@northwind.example", "kind": "person_"}).json()] \
        == ["person_added"]


def test_deactivation_revokes_a_live_session_and_tokens(workspace, admin, client):
    from fastapi.testclient import TestClient

    from services.api.app import create_app

    _, people = workspace
    priya = people["priya"]
    with Session(get_engine(), expire_on_commit=False) as s:
        s.add(Schedule(principal_id=priya.id, kind="triage"))
        s.commit()
    with TestClient(create_app(), base_url="http://127.0.0.1") as browser:
        sign_in(browser, priya)
        token = api_token(priya)
        assert browser.get("/queue", follow_redirects=False).status_code == 200
        assert client.get("/api/jobs", headers=token).status_code == 200
        r = client.post("/api/admin/people/priya@northwind.example/deactivate", headers=api_token(admin))
        assert r.status_code == 200 and r.json()["sessions"] == 1 and r.json()["tokens"] == 1
        assert r.json()["schedules"] == 1 and r.json()["person"]["active"] is False
        assert browser.get("/queue", follow_redirects=False).status_code == 303  # the live session is dead
        assert client.get("/api/jobs", headers=token).status_code == 401
        assert client.get("/api/jobs", headers=api_token(priya, "after")).status_code == 401  # no new way in
    with Session(get_engine(), expire_on_commit=False) as s:
        assert s.exec(select(Schedule).where(Schedule.principal_id == priya.id)).one().enabled is False
        row = s.exec(select(AuditEvent).where(AuditEvent.kind == "person_deactivated")).one()
        assert row.subject == "priya@northwind.example" and row.actor_email == "alex@northwind.example"
