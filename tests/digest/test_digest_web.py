"""The digest on the web: grouped, highest priority first, linked to each message; only the person
and approvers see it; the low-risk batch is approved exactly (labels and archive, not the draft
with a risk flag), through the gate with each action's hash; rejections are learned from."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from services.store.db import get_engine
from services.store.models import Action, TriageMemory, TriageRule
from tests.digest.support import URGENT, triage_run
from tests.support.jobs import wait_until
from tests.support.web import sign_in

pytestmark = pytest.mark.usefixtures("settle")


def _status(action_id: str) -> str:
    with Session(get_engine()) as s:
        return s.get_one(Action, action_id).status


def test_digest_page_groups_and_links(worker, workspace, client):
    _, people = workspace
    run = triage_run(worker, people["alex"])
    sign_in(client, people["alex"])
    page = client.get(f"/triage/{run.run_id}")
    assert page.status_code == 200, page.text
    html = page.text
    # Highest priority first: the escalation's reply group comes before the newsletters.
    assert html.index("Replies drafted for your approval") < html.index("Newsletters and mail to file")
    assert html.index(URGENT) < html.index("Weekly Byte #212")
    assert "Approve all low-risk (2)" in html
    assert "message <code>" in html  # sandbox: no web page of its own, the id is shown
    assert "outside recipient" in html


def test_only_the_person_and_approvers_see_it(worker, workspace, client, other_org):
    _, people = workspace
    run = triage_run(worker, people["alex"])
    sign_in(client, people["priya"])  # same organisation, not an approver
    assert client.get(f"/triage/{run.run_id}").status_code == 404
    sign_in(client, other_org)
    assert client.get(f"/triage/{run.run_id}").status_code == 404
    sign_in(client, people["dana"])  # the organisation's approver
    assert client.get(f"/triage/{run.run_id}").status_code == 200
    assert client.get("/triage/nope").status_code == 404


def test_approve_low_risk_batch_exactly(worker, workspace, client):
    _, people = workspace
    run = triage_run(worker, people["alex"])
    csrf = sign_in(client, people["alex"])
    html = client.get(f"/triage/{run.run_id}").text
    batch = html.split('name="batch" value="', 1)[1].split('"', 1)[0]
    refused = client.post(f"/triage/{run.run_id}/low-risk", data={"batch": batch}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token
    stale = client.post(f"/triage/{run.run_id}/low-risk", data={"batch": "0" * 16, "csrf_token": csrf})
    assert "changed since it was shown" in stale.text
    assert _status(run.archive.id) == "pending"
    done = client.post(f"/triage/{run.run_id}/low-risk", data={"batch": batch, "csrf_token": csrf})
    assert "Approved 2 of 2." in done.text
    for a in (run.archive, run.labels):
        wait_until(lambda a=a: _status(a.id) == "succeeded", what=f"{a.tool} to run")
    assert _status(run.reply.id) == "pending"  # the draft has a risk flag: never in the batch
    assert "Approve all low-risk" not in client.get(f"/triage/{run.run_id}").text


def test_rejections_become_a_suggested_rule_visible_and_revertible(worker, workspace, client):
    _, people = workspace
    alex = people["alex"]
    first = triage_run(worker, alex)
    csrf = sign_in(client, alex)
    page = client.post(f"/triage/{first.run_id}/decide", data={
        "csrf_token": csrf, "decision": "reject", "reason": "I read these in the inbox",
        "pick": [f"{first.archive.id}:{first.archive.args_hash}"]})
    assert "Rejected 1 of 1." in page.text
    assert "Suggested rules" not in page.text  # once is not a pattern
    second = triage_run(worker, alex)
    page = client.post(f"/triage/{second.run_id}/decide", data={
        "csrf_token": csrf, "decision": "reject", "reason": "Keep them in the inbox",
        "pick": [f"{second.archive.id}:{second.archive.args_hash}"]})
    assert "Mail from weeklybyte.example: do not propose &#39;Archive&#39;" in page.text
    memory = client.get("/triage/memory").text
    assert "rejected &#39;Archive&#39; for mail from weeklybyte.example 2 times" in memory
    with Session(get_engine()) as s:
        suggestion = s.exec(select(TriageMemory).where(TriageMemory.kind == "suggestion")).one()
        example = s.exec(select(TriageMemory).where(TriageMemory.kind == "example")).one()
    # Someone else cannot touch Alex's memory.
    other = client.post(f"/triage/memory/{suggestion.id}/accept", data={"csrf_token": csrf})
    assert other.status_code == 200
    csrf_dana = sign_in(client, people["dana"])
    assert client.post(f"/triage/memory/{suggestion.id}/forget", data={"csrf_token": csrf_dana}).status_code == 404
    with Session(get_engine()) as s:
        rule = s.exec(select(TriageRule)).one()
        assert rule.active and rule.source == "suggested" and rule.match == {"from_domain": "weeklybyte.example"}
    csrf = sign_in(client, alex)
    page = client.post(f"/triage/memory/{suggestion.id}/forget", data={"csrf_token": csrf})
    assert "Forgotten" in page.text
    client.post(f"/triage/memory/{example.id}/forget", data={"csrf_token": csrf})
    with Session(get_engine()) as s:
        assert not s.exec(select(TriageRule)).one().active
        assert {m.status for m in s.exec(select(TriageMemory))} == {"forgotten"}
    # Forgotten stays forgotten: the same two decisions are not learned again.
    assert client.get("/triage/memory").text.count('data-status="forgotten"') == 2


def test_a_dry_run_from_the_settings_page_shows_what_triage_would_do(worker, workspace, client):
    """Settings → Dry run: a run on the past days of mail that proposes nothing; its page lists each
    email with its verdict and what would be proposed, and offers nothing to approve."""
    from connectors.sandbox.fixture_triage import LABELLED
    from services.store.models import TriageRun
    from tests.fakes.model_server import dynamic
    from tests.triage.helpers import classifier, seed

    _, people = workspace
    news = next(e for e in LABELLED if e["expected"]["category"] == "newsletter")
    seed([news], ago=60)
    worker.set_default(dynamic(classifier()))
    csrf = sign_in(client, people["alex"])
    assert 'action="/triage/dry-run"' in client.get("/settings").text
    assert client.post("/triage/dry-run", data={"days": "2"}, follow_redirects=False).status_code == 403  # no CSRF
    assert client.post("/triage/dry-run", data={"days": "61", "csrf_token": csrf}).status_code == 400
    started = client.post("/triage/dry-run", data={"days": "2", "csrf_token": csrf}, follow_redirects=False)
    assert started.status_code == 303
    run_id = started.headers["location"].rsplit("/", 1)[1]

    def finished() -> TriageRun | None:
        with Session(get_engine()) as s:
            run = s.get_one(TriageRun, run_id)
            return run if run.status in ("done", "failed") else None

    run = wait_until(finished, what="the dry run")
    assert run.status == "done" and run.dry_run and run.counts["window_days"] == 2, run.error
    html = client.get(f"/triage/{run_id}").text
    assert "Dry run: nothing was proposed" in html and 'id="dry-run"' in html
    assert news["subject"] in html and "<code>gmail_archive</code>" in html
    assert 'id="digest"' not in html and "Approve all low-risk" not in html  # nothing to decide
    with Session(get_engine()) as s:
        assert s.exec(select(Action)).all() == []  # proposed nothing
    # Someone else's dry run page is not found, as any digest.
    assert client.get("/triage/" + "0" * 32).status_code == 404
