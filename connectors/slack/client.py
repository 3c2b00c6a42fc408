"""Building slack_sdk's WebClient, and turning Slack's failures into the connector errors.

The client retries nothing itself (`retry_handlers=[]`): the engine decides, because a blind
retry of a post that timed out could post twice. It only ever calls `base_url` + method name.
"""
from __future__ import annotations

import http.client
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from connectors.base import (
    NotFound,
    NotPermitted,
    RateLimited,
    ReconnectRequired,
    ToolContext,
    ToolError,
    TransientError,
)
from connectors.slack.config import SlackConfig, load_config

DEFAULT_RETRY_AFTER_S = 30.0
RECONNECT = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
             "org_login_required", "team_not_found", "invalid_token"}
NOT_PERMITTED = {"missing_scope", "not_in_channel", "restricted_action", "restricted_action_read_only_channel",
                 "restricted_action_thread_only_channel", "restricted_action_non_threadable_channel",
                 "is_archived", "channel_is_archived", "cannot_dm_bot", "access_denied", "ekm_access_denied",
                 "not_allowed_token_type", "no_permission", "team_access_not_granted", "user_is_restricted",
                 "messages_tab_disabled", "user_disabled", "method_not_supported_for_channel_type"}
NOT_FOUND = {"channel_not_found", "thread_not_found", "users_not_found", "user_not_found", "message_not_found",
             "user_not_visible", "invalid_thread_ts"}
TRANSIENT = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org"}
HINTS = {"not_in_channel": " (invite the Workmode app to the channel)",
         "channel_not_found": " (a private channel exists for the Workmode app only once it is invited)",
         "missing_scope": " (the Slack app needs another OAuth scope; reinstall it)"}


@dataclass
class Slack:
    api: WebClient
    config: SlackConfig


def build(config: SlackConfig) -> Slack:
    api = WebClient(token=config.token.get_secret_value(), base_url=config.base_url,
                    timeout=max(1, round(config.timeout_s)), retry_handlers=[])
    return Slack(api=api, config=config)


@contextmanager
def connect(ctx: ToolContext, config: Optional[SlackConfig] = None) -> Iterator[Slack]:
    """`with connect(ctx) as slack:` a client for the principal; failures become connector errors."""
    config = config or load_config(ctx)
    with translate_errors(config):
        yield build(config)


def slack_error(exc: SlackApiError) -> str:
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    return str(data.get("error") or f"HTTP {exc.response.status_code}")


def hint(exc: SlackApiError) -> str:
    """What to do about it. A missing_scope answer names the scope in `needed`."""
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    error, needed = slack_error(exc), data.get("needed")
    if error == "missing_scope" and isinstance(needed, str) and needed:
        return f" (the Slack app lacks the {needed} scope: add it to the app, as in infra/slack/manifest.yml, " \
               "and reinstall it)"
    return HINTS.get(error, "")


@contextmanager
def translate_errors(config: SlackConfig) -> Iterator[None]:
    """invalid_auth/401 → reconnect, missing_scope/not_in_channel/403 → not permitted,
    *_not_found/404 → not found, 429 → rate limited (Retry-After), 5xx/internal_error and network
    failures → transient. Other errors reach the model as they are."""
    try:
        yield
    except ToolError:
        raise
    except SlackApiError as exc:
        raise _from_response(exc) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise TransientError(f"Slack at {config.base_url} did not answer ({type(exc).__name__})") from None
    except SlackClientError as exc:
        raise ToolError(f"Slack client error: {type(exc).__name__}") from None


def _from_response(exc: SlackApiError) -> ToolError:
    status, error = exc.response.status_code, slack_error(exc)
    method = exc.response.api_url.rsplit("/", 1)[-1].split("?")[0]
    text = f"Slack {method}: {error}{hint(exc)}"
    if status == 429 or error == "ratelimited":
        return RateLimited(text, retry_after=retry_after(exc.response.headers))
    if status == 401 or error in RECONNECT:
        return ReconnectRequired(f"{text}; reconnect Slack (reinstall the app or `workmode connect slack`)")
    if status == 403 or error in NOT_PERMITTED:
        return NotPermitted(text)
    if status == 404 or error in NOT_FOUND:
        return NotFound(text)
    if status >= 500 or error in TRANSIENT:
        return TransientError(text)
    return ToolError(text)


def retry_after(headers: dict) -> float:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER_S
