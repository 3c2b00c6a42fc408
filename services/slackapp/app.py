"""The bolt App: built from the settings, one per configuration, with every feature registered.

Listeners acknowledge first (`ack()`, well within Slack's 3 seconds) and work after: bolt runs
them in its thread pool and answers Slack as soon as `ack()` is called (process_before_response
is off, in HTTP and Socket Mode alike). Signatures and timestamps are verified by bolt."""
from __future__ import annotations

import threading
from typing import Optional

from slack_bolt import App, BoltResponse

from services.config import Settings, get_settings
from services.slackapp import approvals, command, digest, home, modals, threads
from services.slackapp.client import NotConfigured, bot_token, web_client
from services.slackapp.common import log

_apps: dict[tuple, App] = {}
_lock = threading.Lock()


def build_app(settings: Optional[Settings] = None, *, socket_mode: bool = False) -> App:
    settings = settings or get_settings()
    bot_token(settings)  # NotConfigured with what to set
    secret = settings.slack_signing_secret.get_secret_value()
    if not socket_mode and not secret:
        raise NotConfigured("Slack HTTP mode needs WORKMODE_SLACK_SIGNING_SECRET (the app's Basic Information page); "
                            "without a public URL use `workmode slack --socket` instead")
    app = App(
        client=web_client(settings),
        signing_secret=secret or "socket-mode-has-no-signature",
        request_verification_enabled=not socket_mode,
        token_verification_enabled=False,  # auth.test on the first request, not at import
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        before_authorize=refuse_malformed,  # after signature verification, before bolt reads the payload
        name="workmode",
    )
    for feature in (command, approvals, modals, home, threads, digest):
        feature.register(app)
    app.error(on_error)
    return app


def malformed(body: object) -> Optional[str]:
    """What is wrong with a (verified) payload's shape, before bolt's matchers read it."""
    if not isinstance(body, dict):
        return "the payload is not an object"
    kind = body.get("type")
    if kind == "block_actions":
        acts = body.get("actions")
        if not isinstance(acts, list) or not all(isinstance(a, dict) and isinstance(a.get("action_id"), str)
                                                 for a in acts):
            return "block_actions needs a list of actions, each with an action_id"
    elif kind in ("view_submission", "view_closed"):
        if not isinstance(body.get("view"), dict):
            return f"{kind} needs a view object"
    elif kind == "event_callback" and (not isinstance(body.get("event"), dict)
                                       or not isinstance(body["event"].get("type"), str)):
        return "event_callback needs an event object with a type"
    if kind in ("block_actions", "view_submission") and not isinstance(body.get("user"), dict):
        return f"{kind} needs a user object"
    return None


def refuse_malformed(body, next, logger):
    problem = malformed(body)
    if problem:
        log.warning("malformed Slack payload: %s", problem)
        return BoltResponse(status=400, body=f"malformed Slack payload: {problem}")
    return next()


def get_app() -> App:
    """The HTTP-mode App for the current settings (rebuilt when they change)."""
    s = get_settings()
    key = (s.slack_bot_token.get_secret_value(), s.slack_signing_secret.get_secret_value(), s.slack_api_url)
    with _lock:
        if key not in _apps:
            _apps.clear()
            _apps[key] = build_app(s)
        return _apps[key]


def on_error(error: Exception, body: dict, logger) -> BoltResponse:
    """A listener failed: log it with the request kind, answer with what happened (no secrets)."""
    kind = (body.get("type") or ("command" if body.get("command") else "unknown")
            if isinstance(body, dict) else "unknown")
    log.exception("Slack %s request failed: %s", kind, error, exc_info=error)
    return BoltResponse(status=500, body=f"Workmode could not handle this {kind} request ({type(error).__name__}); "
                                         "the error is in the server log.")
