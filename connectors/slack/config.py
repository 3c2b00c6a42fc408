"""How to reach Slack: a token and the Web API's base URL. The token stays a `SecretStr` until
`client.py` builds the WebClient. A person's own connection (credential store, provider
"slack") wins over the workspace's bot token in the settings."""
from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr, ValidationError, field_validator

from connectors.base import ReconnectRequired, ToolContext
from services.config import get_settings

PROVIDER = "slack"


class SlackConfig(BaseModel):
    token: SecretStr
    base_url: str = "https://slack.com/api/"
    timeout_s: float = 30.0

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        parts = urlsplit(v.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Slack API URL {v!r} must look like https://slack.com/api/")
        return v.strip().rstrip("/") + "/"

    @field_validator("token")
    @classmethod
    def _not_empty(cls, v: SecretStr) -> SecretStr:
        if not v.get_secret_value().strip():
            raise ValueError("the Slack token is empty")
        return v


def load_config(ctx: ToolContext) -> SlackConfig:
    """The principal's own Slack connection if they made one, else the workspace's bot token."""
    settings = get_settings()
    stored = stored_credential(ctx, PROVIDER)
    try:
        if stored:  # {"bot_token": "xoxb-…", "team": …}
            return SlackConfig(token=stored.get("bot_token") or stored.get("token") or "",
                               base_url=stored.get("base_url") or settings.slack_api_url,
                               timeout_s=settings.slack_timeout_s)
        if not settings.slack_bot_token.get_secret_value():
            raise ReconnectRequired("Slack is not connected: set WORKMODE_SLACK_BOT_TOKEN (the app's bot token) "
                                    "or connect it with `workmode connect slack`")
        return SlackConfig(token=settings.slack_bot_token, base_url=settings.slack_api_url,
                           timeout_s=settings.slack_timeout_s)
    except ValidationError as exc:  # only the messages: the input holds the token
        where = "your Slack connection" if stored else "the WORKMODE_SLACK_* settings"
        raise ReconnectRequired(f"{where} cannot be used ({'; '.join(e['msg'] for e in exc.errors())}); "
                                "reconnect with `workmode connect slack`") from None


def stored_credential(ctx: ToolContext, provider: str) -> Optional[dict[str, Any]]:
    """The principal's decrypted credential for `provider` (`workmode connect {provider}`), or None.
    An unreadable one raises ReconnectRequired."""
    if ctx.credentials is None:
        return None
    return ctx.credentials.load(provider)
