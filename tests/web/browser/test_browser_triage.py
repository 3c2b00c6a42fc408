"""A person works a triage digest in a real browser: sign in, open /triage/<run>, press "Approve all
low-risk", and see exactly the low-risk proposals (archive, labels) approved while the reply draft to
an outside address (a risk flag) still waits for them."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlmodel import Session

from services.store.db import get_engine
from services.store.models import Action
from tests.digest.support import triage_run
from tests.support.browser import screenshot, sign_in

DONE = ("approved", "executing", "succeeded")


def status(action_id: str) -> str:
    with Session(get_engine()) as s:
        return s.get_one(Action, action_id).status


def test_approve_all_low_risk_from_the_digest_page(worker, workspace, live_server, browser_page):
    _, people = workspace
    page = browser_page
    run = triage_run(worker, people["alex"])
    sign_in(page, live_server, people["alex"])
    page.goto(f"{live_server}/triage/{run.run_id}")
    expect(page.locator("h1")).to_contain_text("Inbox triage for")
    expect(page.locator("#approve-low-risk")).to_have_text("Approve all low-risk (2)")
    for a in (run.archive, run.labels, run.reply):
        expect(page.locator(f'.digest-action[data-id="{a.id}"]')).to_have_attribute("data-status", "pending")
    screenshot(page, "triage-digest")

    page.click("#approve-low-risk")
    page.wait_for_url(f"{live_server}/triage/{run.run_id}*")
    for a in (run.archive, run.labels):
        assert status(a.id) in DONE
        expect(page.locator(f'.digest-action[data-id="{a.id}"]')).not_to_have_attribute("data-status", "pending")
    reply = page.locator(f'.digest-action[data-id="{run.reply.id}"]')
    expect(reply).to_have_attribute("data-status", "pending")
    expect(reply.locator('input[type="checkbox"]')).to_be_visible()  # still decidable one by one
    assert status(run.reply.id) == "pending"
    expect(page.locator("#approve-low-risk")).to_have_count(0)  # nothing low-risk left to batch
    screenshot(page, "triage-digest-low-risk-approved")
    assert page.errors == []
