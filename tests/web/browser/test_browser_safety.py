"""Whatever an email contains renders inert: scripts, event handlers, remote images, javascript:
links, frames and forms, whether the body is plain text (shown as text) or HTML (sanitised)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from connectors.base import args_hash
from services.store.db import get_engine
from services.store.models import Action, Job, JobStatus
from tests.support.browser import screenshot, sign_in
from tests.support.web import EMAIL, propose


@pytest.fixture
def tracker():
    """A server standing in for the sender's tracking host: it records every request."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def hostile(origin: str) -> str:
    return (f'<p onmouseover="window.__pwned=\'mouseover\'">Hello <b>there</b></p>'
            f"<script>window.__pwned='script'</script>"
            f'<img src="{origin}/pixel.gif" onerror="window.__pwned=\'onerror\'">'
            f'<a href="javascript:window.__pwned=\'link\'">Click me</a>'
            f'<iframe src="{origin}/frame"></iframe>'
            f'<form action="{origin}/steal"><input name="x"></form>'
            f'<div style="background:url({origin}/bg.png)">styled</div>')


def assert_inert(page, hits):
    preview = page.locator("#preview")
    for tag in ("script", "img", "iframe", "form", "[onmouseover]", "[onerror]", "[style]"):
        expect(preview.locator(tag)).to_have_count(0)
    expect(preview.locator('a[href^="javascript:"]')).to_have_count(0)
    page.locator("#preview").hover()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert hits == []


def test_plain_text_email_shows_html_as_text(worker, workspace, live_server, browser_page, tracker):
    _, people = workspace
    origin, hits = tracker
    action = propose(worker, people["alex"], dict(EMAIL, body=hostile(origin)))
    page = browser_page
    sign_in(page, live_server, people["alex"])
    page.goto(f"{live_server}/approvals/{action.id}")
    expect(page.locator(".mail-text")).to_contain_text("<script>window.__pwned='script'</script>")
    assert_inert(page, hits)
    expect(page.locator(".risks")).to_contain_text("link in body")


def test_html_email_is_sanitised(workspace, live_server, browser_page, tracker):
    org, people = workspace
    origin, hits = tracker
    arguments = dict(EMAIL, body="Hello there")
    with Session(get_engine(), expire_on_commit=False) as s:  # an HTML email proposed by a connector
        job = Job(org_id=org.id, principal_id=people["alex"].id, prompt="Forward the newsletter",
                  status=JobStatus.waiting, waiting_for="approval")
        s.add(job)
        s.flush()
        action = Action(job_id=job.id, tool_call_id="abcdefghi", connector="sandbox", tool="gmail_send",
                        arguments=arguments, args_hash=args_hash(arguments),
                        preview={"kind": "email", "title": "Send email: Newsletter",
                                 "fields": {"To": ["dana@northwind.example"], "Subject": "Newsletter"},
                                 "body": "Hello there", "body_html": hostile(origin)})
        s.add(action)
        s.commit()
    page = browser_page
    sign_in(page, live_server, people["alex"])
    page.goto(f"{live_server}/approvals/{action.id}")
    expect(page.locator(".mail-html b")).to_have_text("there")
    expect(page.locator(".mail-html")).to_contain_text("styled")
    expect(page.locator("#preview .notice")).to_contain_text("1 image not loaded")
    link = page.locator(".mail-html a", has_text="Click me")
    assert link.get_attribute("href") is None
    link.click()
    assert_inert(page, hits)
    screenshot(page, "approval-hostile-email")
    assert page.url == f"{live_server}/approvals/{action.id}"
