"""The admin pages in a browser: an admin adds a person, changes the policy (seen in the audit
page) and deactivates someone; a member gets 403 on every admin page."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlmodel import Session

from services.admin.people import set_role
from services.store.db import get_engine
from services.store.models import Principal
from tests.support.browser import screenshot, sign_in


def _make_admin(person: Principal) -> None:
    with Session(get_engine(), expire_on_commit=False) as s:
        set_role(session=s, target=s.get_one(Principal, person.id), role="admin", by="test")
        s.commit()


def test_admin_pages(workspace, live_server, browser_page):
    _, people = workspace
    _make_admin(people["alex"])
    page = browser_page
    sign_in(page, live_server, people["alex"])
    page.click("#nav-admin")
    page.fill("#add-person input[name=email]", "kim@northwind.example")
    page.fill("#add-person input[name=name]", "Kim")
    page.click("#add-person button")
    expect(page.locator("#people")).to_contain_text("kim@northwind.example")
    page.once("dialog", lambda d: d.accept())
    page.locator("tr[data-email='sam@northwind.example'] button.danger").click()
    expect(page.locator("tr[data-email='sam@northwind.example'] .state")).to_contain_text("deactivated")
    page.goto(f"{live_server}/admin/policy")
    page.fill("input[name=approval_ttl]", "2h")
    page.check("#jit")
    page.click("#save-policy")
    expect(page.locator(".flash")).to_contain_text("Policy saved.")
    page.goto(f"{live_server}/admin/audit?kind=policy_changed")
    expect(page.locator("#audit .audit-row")).to_have_count(1)
    expect(page.locator("#audit")).to_contain_text("alex@northwind.example")
    screenshot(page, "admin-audit")
    assert page.errors == []


def test_member_gets_403(workspace, live_server, browser_page):
    _, people = workspace
    page = browser_page
    sign_in(page, live_server, people["priya"])
    expect(page.locator("#nav-admin")).to_have_count(0)
    for path in ("/admin/people", "/admin/policy", "/admin/audit"):
        assert page.goto(f"{live_server}{path}").status == 403
