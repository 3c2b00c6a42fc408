"""Fixtures for the Slack app tests: the local Slack Web API (`slack_api`) and Workmode configured
for Slack against it (`slack`)."""
from __future__ import annotations

import pytest

from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack, SlackSender, SlackWorld


@pytest.fixture
def slack_api():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack(slack_api, monkeypatch):
    """Workmode configured for Slack against the fake Web API, with /slack/events mounted on a
    plain FastAPI app (the router the API app includes), driven by a signing SlackSender."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from services.config import reset_settings
    from services.slackapp.http import router
    from services.slackapp.identity import clear_cache

    monkeypatch.setenv("WORKMODE_SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("WORKMODE_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("WORKMODE_SLACK_API_URL", slack_api.api_url)
    monkeypatch.setenv("WORKMODE_SLACK_UPDATE_INTERVAL_S", "0")
    from services.config import get_settings

    for _ in range(50):  # a worker thread may cache settings read just before the env changed
        reset_settings()
        if get_settings().slack_api_url == slack_api.api_url:
            break
    clear_cache()
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as http:
        yield SlackWorld(slack_api, SlackSender(http, SIGNING_SECRET, slack_api), http)
    clear_cache()
