"""Gmail against the real service's rules (issue 15, items 8, 9 and 12): Gmail replaces the
Message-ID on send, threads a reply only when the Subject matches, sends From the connected
account, and checks the token's scopes. Verify reads the SENT label back to the action's approval
and cannot miss a send, however many came after it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from connectors.base import CannotVerify, ReconnectRequired, args_hash
from services.reconcile import reconcile
from services.store.db import get_engine
from services.store.models import Action, ActionStatus, Job, utcnow
from tests.fakes.google_api import ALEX, DANA, FULL_SCOPES, mail, make_world


def _others_send(world, n: int) -> None:
    for i in range(n):
        world.call("gmail_send", {"to": [DANA], "subject": f"Other {i}", "body": "x"}, action_id=f"other-{i}")


def test_gmail_replaces_the_message_id_and_verify_still_finds_the_send(google_world):
    fake = google_world.fake
    approved = utcnow()
    args = {"to": [DANA], "subject": "Invoice", "body": "Paid."}
    sent = google_world.call("gmail_send", args, action_id="act-1")
    _others_send(google_world, 30)  # more than the old "25 newest" fallback looked at
    fake.page_cap = 7  # and several pages of SENT to read through
    parsed = fake.message(ALEX, sent.data["message_id"]).parsed
    assert "workmode" not in parsed["Message-ID"]  # Gmail's own id, not ours

    found = google_world.verify("gmail_send", args, "act-1", since=approved)
    assert found["message_id"] == sent.data["message_id"]
    assert found["rfc822_message_id"] == parsed["Message-ID"]
    assert not [r for r in fake.requests if "rfc822msgid" in str(r["params"].get("q", ""))]  # no search


def test_verify_reads_back_to_the_approval_and_no_further(google_world):
    fake = google_world.fake
    long_ago = fake.clock_ms - 3 * 86_400_000
    for i in range(40):  # sent days before the action was approved
        fake.insert(ALEX, mail(ALEX, DANA, f"Old {i}", Message_ID=f"<old{i}@x>").as_bytes(), ["SENT"],
                    internal_date=long_ago + i)
    approved = utcnow()
    _others_send(google_world, 3)
    fake.requests.clear()
    assert google_world.verify("gmail_send", {"to": [DANA], "subject": "x", "body": "y"}, "never", since=approved) \
        is None
    gets = [r for r in fake.requests if r["method"] == "GET" and "/messages/m" in r["path"]]
    assert len(gets) == 4  # the three newer sends, then the first one older than the approval


def test_verify_without_a_start_that_cannot_read_to_the_end_cannot_tell(google_world):
    fake = google_world.fake
    for i in range(45):
        fake.insert(ALEX, mail(ALEX, DANA, f"Old {i}", Message_ID=f"<old{i}@x>").as_bytes(), ["SENT"])
    fake.page_cap = 1  # 45 pages: more than verify reads
    with pytest.raises(CannotVerify, match="more than"):
        google_world.verify("gmail_send", {"to": [DANA], "subject": "x", "body": "y"}, "never")


def test_the_reconciler_finds_a_crashed_send_behind_many_newer_ones(google_world):
    """The engine passes the action's approval time to verify (ToolContext.executing_since)."""
    fake = google_world.fake
    args = {"to": [DANA], "subject": "Invoice", "body": "Paid."}
    with Session(get_engine()) as s:
        job = Job(org_id=google_world.org_id, principal_id=google_world.principal_id, prompt="pay",
                  status="running", lease_until=utcnow() + timedelta(hours=1))
        s.add(job)
        s.flush()
        canonical = google_world.tool("gmail_send").parse(args).model_dump(mode="json")
        action = Action(job_id=job.id, tool_call_id="call00001", connector="gmail", tool="gmail_send",
                        arguments=canonical, args_hash=args_hash(canonical), approved_hash=args_hash(canonical),
                        status=ActionStatus.executing, attempts=1, decided_at=utcnow(), decided_via="person",
                        executing_since=utcnow())
        s.add(action)
        s.commit()
        action_id = action.id
    sent = google_world.call("gmail_send", args, action_id=action_id)  # the effect; then the "crash"
    _others_send(google_world, 30)
    fake.page_cap = 10
    assert reconcile(executing_stale_s=0).get("executing_succeeded") == 1
    with Session(get_engine()) as s:
        done = s.get(Action, action_id)
        assert done.status == ActionStatus.succeeded and done.result["message_id"] == sent.data["message_id"]
    assert len([r for r in fake.calls("POST", "/messages/send") if "Invoice" in str(r)]) <= 1
    invoices = [m for m in fake.mailboxes[ALEX].messages.values() if m.parsed["Subject"] == "Invoice"]
    assert len(invoices) == 1  # found, not sent again


def test_a_reply_takes_the_threads_subject_not_the_models(google_world):
    fake = google_world.fake
    first = fake.deliver(ALEX, mail(DANA, ALEX, "Offsite", "Where?", Message_ID="<root@acme.example>"))
    fake.deliver(ALEX, mail(DANA, ALEX, "Re: Offsite", "Any news?", Message_ID="<second@acme.example>",
                            In_Reply_To="<root@acme.example>", References="<root@acme.example>"))
    args = {"to": [DANA], "subject": "Lisbon it is", "body": "Lisbon.", "thread_id": first.thread_id}
    result = google_world.call("gmail_send", args, action_id="r1")
    reply = fake.message(ALEX, result.data["message_id"]).parsed
    assert reply["Subject"] == "Re: Offsite"
    assert result.data["thread_id"] == first.thread_id  # Gmail threads it only because the subject matches
    dana_copy = [m for m in fake.mailboxes[DANA].messages.values() if m.parsed["Subject"] == "Re: Offsite"]
    assert dana_copy and google_world.tool("gmail_send").preview(
        google_world.tool("gmail_send").parse(args)).fields["Subject"] == "Re: (the thread's own subject)"


def test_a_draft_reply_also_keeps_the_threads_subject(google_world):
    fake = google_world.fake
    first = fake.deliver(ALEX, mail(DANA, ALEX, "Budget", "Numbers?", Message_ID="<b@acme.example>"))
    result = google_world.call("gmail_create_draft", {"to": [DANA], "subject": "Numbers attached", "body": "Here.",
                                                      "thread_id": first.thread_id}, action_id="d1")
    assert fake.message(ALEX, result.data["message_id"]).parsed["Subject"] == "Re: Budget"
    assert result.data["thread_id"] == first.thread_id


def test_from_is_the_connected_google_account(fake_google, sqlite_url, monkeypatch):
    from tests.support.db import use_database

    use_database(sqlite_url, monkeypatch)
    fake_google.add_user("alex.w@mail.example")
    world = make_world(fake_google, account="alex.w@mail.example")
    result = world.call("gmail_send", {"to": [DANA], "subject": "Hi", "body": "b"}, action_id="f1")
    (request,) = fake_google.calls("POST", "/messages/send")
    from email import message_from_bytes

    from tests.fakes.google_api import unb64url

    assert message_from_bytes(unb64url(request["body"]["raw"]))["From"] == "alex.w@mail.example"
    assert fake_google.message("alex.w@mail.example", result.data["message_id"]).parsed["From"] == "alex.w@mail.example"


def test_a_token_without_the_scope_asks_to_reconnect(fake_google, sqlite_url, monkeypatch):
    from tests.support.db import use_database

    use_database(sqlite_url, monkeypatch)
    world = make_world(fake_google, scopes=[s for s in FULL_SCOPES if "calendar" not in s])
    assert world.call("gmail_search", {"query": ""}).data is not None  # Gmail was granted
    with pytest.raises(ReconnectRequired, match="not granted the permission"):
        world.call("calendar_list_events", {"time_min": "2025-03-10T00:00:00", "time_max": "2025-03-11T00:00:00"})
    (refused,) = [r for r in fake_google.requests if "/calendar/v3/" in r["path"]]
    assert refused["path"].endswith("/events")
