"""Gmail connector, read side, through google-api-python-client against the local fake Gmail:
search with pagination, a thread with HTML and attachments (and an image for vision), labels."""
from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest

from connectors.base import NotFound
from tests.fakes.google_api import ALEX, DANA, LEE, mail

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def test_search_passes_the_query_through_and_pages(google_world):
    fake = google_world.fake
    for i in range(3):
        fake.deliver(ALEX, mail(DANA, ALEX, f"Q3 review part {i}", f"numbers {i}"))
    fake.deliver(ALEX, mail(LEE, ALEX, "Lunch?", "tomorrow"))

    first = google_world.call("gmail_search", {"query": "from:dana@acme.example", "max_results": 2})
    assert [m["subject"] for m in first.data["messages"]] == ["Q3 review part 2", "Q3 review part 1"]
    assert first.data["next_page_token"]
    assert first.untrusted and first.source == "gmail_search"
    summary = first.data["messages"][0]
    assert summary["from"] == DANA and summary["to"] == [ALEX]
    assert set(summary["labels"]) == {"INBOX", "UNREAD"}
    assert summary["date"].endswith("+00:00")  # London in March is UTC+0: shown in the principal's zone

    second = google_world.call("gmail_search", {"query": "from:dana@acme.example", "max_results": 2,
                                                "page_token": first.data["next_page_token"]})
    assert [m["subject"] for m in second.data["messages"]] == ["Q3 review part 0"]
    assert second.data["next_page_token"] is None
    lists = fake.calls("GET", "/users/me/messages")
    lists = [r for r in lists if r["path"].endswith("/messages")]
    assert [r["params"].get("q") for r in lists] == ["from:dana@acme.example"] * 2
    assert lists[1]["params"]["pageToken"] == first.data["next_page_token"]


def _html_thread(fake) -> str:
    first = mail(DANA, ALEX, "Contract draft", "")
    first.set_content("Hi Alex,\nthe draft is attached.\n")
    first.add_alternative("<p>Hi Alex,</p><p>the <b>draft</b> is attached.</p>", subtype="html")
    sent = fake.deliver(ALEX, first)

    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = f"Dana <{DANA}>", ALEX, "Re: Contract draft"
    reply["In-Reply-To"] = reply["References"] = first["Message-ID"]
    reply.set_content("<html><head><style>p{color:red}</style></head><body><h1>Update</h1>"
                      "<p>See <a href='https://docs.example/contract'>the contract</a> &amp; the chart.</p>"
                      "<ul><li>one</li><li>two</li></ul><script>alert(1)</script></body></html>", subtype="html")
    reply.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="contract.pdf")
    reply.add_attachment(PNG, maintype="image", subtype="png", filename="chart.png")
    fake.deliver(ALEX, reply)
    return sent.thread_id


def test_read_thread_decodes_html_and_lists_attachments(google_world):
    thread_id = _html_thread(google_world.fake)
    result = google_world.call("gmail_read_thread", {"thread_id": thread_id})
    first, second = result.data["messages"]
    assert result.data["subject"] == "Contract draft"
    assert first["body"].strip() == "Hi Alex,\nthe draft is attached."  # text/plain preferred
    assert first["has_html"] is True and first["attachments"] == []

    body = second["body"]
    assert "<" not in body and "color:red" not in body and "alert" not in body
    assert "Update" in body and "the contract (https://docs.example/contract) & the chart." in body
    assert "- one" in body and "- two" in body
    assert second["in_reply_to"] == first["message_id_header"]
    names = {a["filename"]: a for a in second["attachments"]}
    assert set(names) == {"contract.pdf", "chart.png"}
    assert names["contract.pdf"]["mime_type"] == "application/pdf" and names["contract.pdf"]["attachment_id"]
    assert names["chart.png"]["image"] is True and names["chart.png"]["shown_as_image"] == 1

    # The image rides along as vision input, not inside the JSON the model reads as text.
    assert len(result.images) == 1
    url = result.images[0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,") and base64.b64decode(url.split(",", 1)[1]) == PNG
    assert "base64" not in result.as_text()
    assert result.untrusted and result.source == f"gmail_read_thread:{thread_id}"


def test_unknown_thread_is_not_found(google_world):
    with pytest.raises(NotFound):
        google_world.call("gmail_read_thread", {"thread_id": "t-missing"})


def test_labels_with_counts(google_world):
    fake = google_world.fake
    fake.deliver(ALEX, mail(DANA, ALEX, "one"))
    fake.deliver(ALEX, mail(DANA, ALEX, "two"), labels=("INBOX",))
    labels = {lab["name"]: lab for lab in google_world.call("gmail_list_labels", {}).data["labels"]}
    assert labels["INBOX"]["messages_total"] == 2 and labels["INBOX"]["messages_unread"] == 1
    assert labels["UNREAD"]["type"] == "system"


def test_same_tools_as_the_sandbox():
    """The agent cannot tell the connectors apart: same names, schemas, descriptions, write flags."""
    from connectors.registry import get_connector

    sandbox = get_connector("sandbox").tools
    for slug, prefix in (("gmail", "gmail_"), ("gcal", "calendar_")):
        mine = get_connector(slug).tools
        assert list(mine) == [n for n in sandbox if n.startswith(prefix)]
        for name, tool in mine.items():
            assert tool.spec() == sandbox[name].spec(), name
            assert (tool.write, tool.recipient_fields) == (sandbox[name].write, sandbox[name].recipient_fields)
            assert (tool.preview is None) == (not tool.write) and (tool.verify is None) == (not tool.write)
