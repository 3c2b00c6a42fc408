"""The other pages in a browser: jobs (ask for work), a job with untrusted reads marked, cancel,
answering the agent's question, and settings (personal API tokens)."""
from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.fakes.model_server import dynamic, text, tool_calls
from tests.support.browser import screenshot, sign_in
from tests.support.jobs import job_state, tool_result_json
from tests.support.web import EMAIL, pending, start_job


def test_ask_for_work_and_answer_the_agent(worker, workspace, live_server, browser_page):
    _, people = workspace
    page = browser_page
    worker.push(tool_calls(("ask_user", {"question": "Which quarter?"})), text("Booked the Q3 review."))
    sign_in(page, live_server, people["priya"])
    page.click("text=Jobs")
    page.fill("#prompt", "Book the quarterly review")
    page.click("text=Start")
    expect(page.locator(".question .q")).to_have_text("Which quarter?", timeout=30_000)
    page.fill(".question textarea", "Q3")
    page.click(".question button")
    expect(page.locator("#job-status")).to_have_text("completed", timeout=30_000)
    expect(page.locator(".timeline")).to_contain_text("Answered: “Q3”")
    page.click("text=Jobs")
    expect(page.locator("table.jobs")).to_contain_text("Book the quarterly review")


def test_job_page_marks_untrusted_content_and_cancels(worker, workspace, live_server, browser_page):
    _, people = workspace
    page = browser_page
    worker.push(tool_calls(("update_plan", {"steps": [{"title": "Read Dana's mail", "status": "done"},
                                                      {"title": "Reply", "status": "in_progress"}]})),
                tool_calls(("gmail_search", {"query": "from:dana@northwind.example"})),
                dynamic(lambda req: tool_calls(("gmail_read_thread",
                                                {"thread_id": tool_result_json(req)["messages"][0]["thread_id"]}))),
                tool_calls(("gmail_send", EMAIL)))
    job_id = start_job(people["alex"])
    action = pending(job_id)
    sign_in(page, live_server, people["alex"])
    page.goto(f"{live_server}/approvals/{action.id}")
    expect(page.locator(".read.untrusted").first).to_contain_text("Untrusted: written by someone else")
    page.goto(f"{live_server}/jobs/{job_id}")
    expect(page.locator(".plan .step-done")).to_contain_text("Read Dana's mail")
    expect(page.locator(".msg-tool.untrusted").first).to_be_visible()
    expect(page.locator("#tokens")).to_contain_text("prompt +")
    screenshot(page, "job-untrusted")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-job")
    expect(page.locator("#job-status")).to_have_text("cancelled")
    assert job_state(job_id).status == "cancelled"


def test_settings_create_and_revoke_a_token(workspace, live_server, browser_page):
    _, people = workspace
    page = browser_page
    sign_in(page, live_server, people["alex"])
    page.click("text=Settings")
    expect(page.locator("#approvers")).to_contain_text("Dana Kim")
    page.fill('input[name="name"]', "laptop script")
    page.click("text=Create token")
    token = page.locator("#new-token").inner_text()
    assert token.startswith("wm_")
    assert httpx.get(f"{live_server}/api/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    screenshot(page, "settings")
    page.click("#tokens button:has-text('Revoke')")
    expect(page.locator("#tokens")).to_contain_text("revoked")
    assert httpx.get(f"{live_server}/api/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_sign_out(workspace, live_server, browser_page):
    _, people = workspace
    page = browser_page
    sign_in(page, live_server, people["alex"])
    page.click("text=Sign out")
    page.wait_for_url(f"{live_server}/login")
    page.goto(f"{live_server}/queue")
    page.wait_for_url(f"{live_server}/login?next=/queue")
