"""An approver works the queue in a real browser: sign in with a link, see a pending approval,
edit an argument, approve, watch the job finish; batch-approve; live updates; organisations are
kept apart."""
from __future__ import annotations

import httpx
from playwright.sync_api import expect
from sqlmodel import Session, select

from connectors.sandbox.models import SandboxMailMessage
from services.store.db import get_engine
from tests.support.browser import screenshot, sign_in
from tests.support.jobs import actions, wait_status
from tests.support.web import EMAIL, api_token, propose


def test_edit_approve_and_watch_the_job_finish(worker, workspace, live_server, browser_page):
    _, people = workspace
    page = browser_page
    action = propose(worker, people["alex"], answer="Sent Dana the revised time.")
    sign_in(page, live_server, people["alex"])

    row = page.locator(f'tr[data-id="{action.id}"]')
    expect(row).to_contain_text("Send email: Q3 review")
    expect(page.locator("#queue-count")).to_have_text("1")
    screenshot(page, "queue")

    row.locator("a.title").click()
    expect(page.locator("h1")).to_have_text("Send email: Q3 review")
    expect(page.locator(".mail-to")).to_have_text("dana@northwind.example")
    expect(page.locator(".mail-text")).to_have_text("Tuesday 10:00 works for me.")
    page.locator("#edit-panel summary").click()
    screenshot(page, "approval")
    page.fill("#f-body", "Wednesday 15:00 works better for me.")
    page.click("#save-approve")

    page.wait_for_url(f"{live_server}/jobs/{action.job_id}")
    expect(page.locator("#job-status")).to_have_text("completed", timeout=30_000)  # job.js reloads as it moves on
    expect(page.locator("#job-result")).to_have_text("Sent Dana the revised time.")
    expect(page.locator(".timeline")).to_contain_text("edited and approved")
    screenshot(page, "job")
    done = actions(action.job_id)[0]
    assert done.edited and done.status == "succeeded"
    with Session(get_engine()) as s:
        sent = s.exec(select(SandboxMailMessage).where(SandboxMailMessage.action_id == action.id)).one()
    assert sent.body == "Wednesday 15:00 works better for me."
    assert page.errors == []


def test_invalid_edit_is_shown_on_the_field(worker, workspace, live_server, browser_page):
    _, people = workspace
    page = browser_page
    action = propose(worker, people["alex"])
    sign_in(page, live_server, people["alex"])
    page.goto(f"{live_server}/approvals/{action.id}")
    page.locator("#edit-panel summary").click()
    page.fill("#f-to", "")
    page.click("#save-approve")
    expect(page.locator("#error-to")).to_be_visible()
    expect(page.locator("#decision-error")).to_contain_text("Fix the highlighted fields")
    assert actions(action.job_id)[0].status == "pending"


def test_batch_approve(worker, workspace, live_server, browser_page):
    _, people = workspace
    page = browser_page
    first = propose(worker, people["alex"], dict(EMAIL, subject="First"))
    second = propose(worker, people["priya"], dict(EMAIL, subject="Second"))
    sign_in(page, live_server, people["dana"])
    expect(page.locator("tr.approval-row")).to_have_count(2)
    page.check("#select-all")
    page.click("#approve-selected")
    expect(page.locator(".flash")).to_contain_text("Approved 2 of 2")
    for a in (first, second):
        wait_status(a.job_id, "completed")
    expect(page.locator("tr.empty")).to_be_visible()


def test_batch_reject_with_reason(worker, workspace, live_server, browser_page):
    _, people = workspace
    page = browser_page
    keep = propose(worker, people["alex"], dict(EMAIL, subject="Keep"))
    drop = propose(worker, people["alex"], dict(EMAIL, subject="Drop"))
    sign_in(page, live_server, people["alex"])
    page.locator(f'tr[data-id="{drop.id}"] input[name="pick"]').check()
    page.fill("#batch-reason", "duplicate")
    page.click("#reject-selected")
    expect(page.locator(".flash")).to_contain_text("Rejected 1 of 1")
    expect(page.locator("tr.approval-row")).to_have_count(1)
    assert actions(drop.job_id)[0].reason == "duplicate" and actions(keep.job_id)[0].status == "pending"


def test_queue_updates_by_itself(worker, workspace, live_server, browser_page):
    _, people = workspace
    page = browser_page
    first = propose(worker, people["alex"], dict(EMAIL, subject="Already here"))
    sign_in(page, live_server, people["dana"])
    expect(page.locator("tr.approval-row")).to_have_count(1)
    page.locator(f'tr[data-id="{first.id}"] input[name="pick"]').check()
    later = propose(worker, people["priya"], dict(EMAIL, subject="Arrived later"))
    expect(page.locator(f'tr[data-id="{later.id}"]')).to_contain_text("Arrived later", timeout=15_000)
    expect(page.locator("#queue-count")).to_have_text("2")
    assert page.locator(f'tr[data-id="{first.id}"] input[name="pick"]').is_checked()  # ticks survive the update
    # Someone else decides in another place: the row goes away here too.
    # Alex decides through the REST API, as a script would.
    r = httpx.post(f"{live_server}/api/approvals/{first.id}/decision", headers=api_token(people["alex"]),
                   json={"decision": "approve", "args_hash": first.args_hash})
    assert r.status_code == 200
    expect(page.locator(f'tr[data-id="{first.id}"]')).to_have_count(0, timeout=15_000)
    wait_status(first.job_id, "completed")


def test_another_organisation_sees_nothing(worker, workspace, other_org, live_server, browser_page):
    _, people = workspace
    page = browser_page
    action = propose(worker, people["alex"])
    sign_in(page, live_server, other_org)
    expect(page.locator("tr.empty")).to_contain_text("Nothing is waiting for you")
    expect(page.locator("body")).not_to_contain_text("Q3 review")
    response = page.goto(f"{live_server}/approvals/{action.id}")
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("Not found")
    assert page.goto(f"{live_server}/jobs/{action.job_id}").status == 404
    page.goto(f"{live_server}/jobs")
    expect(page.locator("table.jobs")).to_contain_text("No jobs yet")
