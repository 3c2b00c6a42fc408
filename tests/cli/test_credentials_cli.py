"""`workmode connect ...`: the Google consent URL, Jira and Slack tokens read without echo, status
and removal — the real CLI against the real store and the fake Google."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from sqlmodel import Session

from services.cli import main
from services.credentials import service as credentials
from services.store.db import get_engine
from tests.fakes.google_api import ALEX, make_world


@pytest.fixture
def world(store, fake_google):
    return make_world(fake_google)


def _run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def _stored(world, provider):
    with Session(get_engine()) as s:
        return credentials.load(session=s, principal_id=world.principal_id, provider=provider)


def test_connect_google_prints_a_consent_url(world):
    out = _run("connect", "google", "--as", ALEX)
    assert out.exit_code == 0, out.output
    url = next(line.strip() for line in out.output.splitlines() if line.strip().startswith("http"))
    q = parse_qs(urlsplit(url).query)
    assert url.startswith(world.fake.url + "o/oauth2/v2/auth?") and q["code_challenge_method"] == ["S256"]
    assert "http://127.0.0.1:8000/oauth/google/callback" in out.output
    # The URL is a real one: Google (the fake) answers it with a code for the callback.
    back = httpx.get(url, follow_redirects=False)
    assert back.status_code == 302 and "code=" in back.headers["location"]


def test_connect_jira_and_slack_store_tokens_without_printing_them(world):
    out = _run("connect", "jira", "--as", ALEX, "--url", "https://acme.atlassian.net", "--email", ALEX,
               input="atl-TOKEN-1\n")
    assert out.exit_code == 0 and "Jira connected" in out.output and "atl-TOKEN-1" not in out.output
    assert _stored(world, "jira")["api_token"] == "atl-TOKEN-1"

    bad = CliRunner().invoke(main, ["connect", "slack", "--as", ALEX], input="not-a-bot-token\n")
    assert bad.exit_code == 2 and "xoxb-" in bad.output and _stored(world, "slack") is None
    ok = _run("connect", "slack", "--as", ALEX, input="xoxb-1-2-secret\n")
    assert ok.exit_code == 0 and "xoxb-1-2-secret" not in ok.output
    assert _stored(world, "slack") == {"bot_token": "xoxb-1-2-secret"}

    status = _run("connect", "status", "--as", ALEX).output
    assert all(f"{p:7} connected" in status for p in ("google", "jira", "slack"))
    assert _run("connect", "remove", "jira", "--as", ALEX).output.startswith("jira disconnected")
    assert "jira    not connected" in _run("connect", "status", "--as", ALEX).output


def test_connect_remove_google_revokes_the_grant(world):
    refresh = _stored(world, "google")["refresh_token"]
    out = _run("connect", "remove", "google", "--as", ALEX)
    assert "google disconnected" in out.output and world.fake.grants[refresh].revoked


def test_unknown_user_is_a_clear_error(world):
    out = CliRunner().invoke(main, ["connect", "google", "--as", "nobody@acme.example"])
    assert out.exit_code == 2 and "no Workmode user" in out.output
