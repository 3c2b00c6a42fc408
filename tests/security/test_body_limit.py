"""Finding 6: request bodies are limited (WORKMODE_MAX_BODY_BYTES, 1 MiB by default). A body whose
Content-Length is over the limit is answered 413 without a byte of it being read; a chunked body
(no Content-Length) is read only until the count passes the limit, then answered 413.

Driven at the ASGI edge (the real app, the request as a server hands it over), so the test can
see how much of the body the app asked for."""
from __future__ import annotations

import asyncio
import json

import pytest

from services.config import reset_settings

MIB = 1024 * 1024
CHUNK = 64 * 1024


def call(app, path: str, *, chunks: list[bytes], content_length: int | None,
         content_type: str = "application/json") -> tuple[int, bytes, int]:
    """One POST through the ASGI app. Returns (status, response body, chunks the app received)."""
    headers = [(b"host", b"127.0.0.1"), (b"content-type", content_type.encode())]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}
    pending = list(chunks)
    received = 0
    sent: list[dict] = []

    async def receive():
        nonlocal received
        if not pending:
            await asyncio.sleep(3600)  # the client has nothing more to send (the app must not wait for it)
        received += 1
        body = pending.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    async def send(message):
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"), received


def app_with(monkeypatch, limit: int | None = None):
    if limit is not None:
        monkeypatch.setenv("WORKMODE_MAX_BODY_BYTES", str(limit))
    reset_settings()
    from services.api.app import create_app

    return create_app()


def json_body(size: int) -> bytes:
    body = json.dumps({"prompt": "x" * size}).encode()
    return body[:size - 2] + b'"}' if len(body) > size else body


@pytest.mark.parametrize("path", ["/api/jobs", "/slack/events", "/login/link"])
def test_declared_large_body_is_413_before_it_is_read(monkeypatch, path):
    app = app_with(monkeypatch)
    body = json_body(2 * MIB)
    status, answer, received = call(app, path, chunks=[body], content_length=len(body))
    assert status == 413
    assert received == 0  # not a byte was read
    assert b"413" in answer or b"Too Large" in answer


def test_chunked_body_is_cut_off_at_the_limit(monkeypatch):
    app = app_with(monkeypatch)
    body = json_body(4 * MIB)
    chunks = [body[i:i + CHUNK] for i in range(0, len(body), CHUNK)]
    status, answer, received = call(app, "/api/jobs", chunks=chunks, content_length=None)
    assert status == 413
    assert json.loads(answer)["error"]["status"] == 413
    assert received == MIB // CHUNK + 1 < len(chunks)  # stopped reading just past the limit


def test_form_over_the_limit_is_413(monkeypatch):
    app = app_with(monkeypatch)
    form = b"token=" + b"a" * (2 * MIB)
    chunks = [form[i:i + CHUNK] for i in range(0, len(form), CHUNK)]
    status, _, received = call(app, "/login/link", chunks=chunks, content_length=None,
                               content_type="application/x-www-form-urlencoded")
    assert status == 413 and received < len(chunks)


def test_the_limit_is_configurable_and_smaller_bodies_pass(monkeypatch):
    app = app_with(monkeypatch, limit=1000)
    small, large = json_body(900), json_body(1100)
    assert call(app, "/api/jobs", chunks=[large], content_length=len(large))[0] == 413
    status, _, received = call(app, "/api/jobs", chunks=[small], content_length=len(small))
    assert status == 401 and received == 1  # read, then refused for want of a token: not for its size
    default = app_with(monkeypatch, limit=MIB)
    body = json_body(MIB - 100)
    assert call(default, "/api/jobs", chunks=[body], content_length=len(body))[0] == 401
