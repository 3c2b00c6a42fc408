"""The Slack Web API client, built from the settings (secrets unwrapped only here)."""
from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler

from services.config import Settings, get_settings
from services.errors import Unavailable


class NotConfigured(Unavailable, RuntimeError):
    """Slack is not set up here: the message says which setting is missing."""


def bot_token(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    token = settings.slack_bot_token.get_secret_value()
    if not token:
        raise NotConfigured(
            "Slack is not configured: set WORKMODE_SLACK_BOT_TOKEN (xoxb-…) from the app's install page")
    return token


def web_client(settings: Settings | None = None, *, retry_rate_limits: bool = True) -> WebClient:
    """Interactive paths wait out one short 429; the notifier handles 429 itself (no sleeping)."""
    settings = settings or get_settings()
    handlers: list[RetryHandler] = [ConnectionErrorRetryHandler(max_retry_count=2)]
    if retry_rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    return WebClient(token=bot_token(settings), base_url=settings.slack_api_url,
                     timeout=int(settings.slack_timeout_s), retry_handlers=handlers)
