"""Google's errors as connector errors, for every call the Gmail and Calendar connectors make.

401 → ReconnectRequired (the job pauses and the person is asked to reconnect), 403 → NotPermitted
(except Google's rate-limit reasons, which come as 403 too, and a token lacking a scope, which is
ReconnectRequired: only a new consent grants it), 404/410 → NotFound, 429 →
RateLimited with Retry-After, 5xx and network failures → TransientError (the engine retries).
"""
from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterator
from typing import Any, Optional

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError

from connectors.base import (
    NotFound,
    NotPermitted,
    RateLimited,
    ReconnectRequired,
    ToolError,
    TransientError,
)

RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded",
                "RATE_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED"}
# A token without the scope the method needs: 403 insufficientPermissions, with an ErrorInfo
# ACCESS_TOKEN_SCOPE_INSUFFICIENT (Google Cloud API design guide, "Errors"). Only reconnecting with
# the permission granted (Google's consent screen lets a person untick scopes) can fix it.
SCOPE_REASONS = {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}
DEFAULT_RETRY_AFTER = 5.0


class Conflict(ToolError):
    """409: the resource exists already (e.g. an event id chosen by the client)."""

    kind = "conflict"

MAX_PAGES = 50  # a hard stop for any pagination loop


def retry_after(value: Optional[str]) -> float:
    """Seconds from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


def _details(exc: HttpError) -> tuple[str, list[str]]:
    try:
        err = json.loads(exc.content.decode("utf-8", "replace")).get("error", {})
    except (ValueError, AttributeError):
        err = {}
    if not isinstance(err, dict):
        return str(err), []
    reasons = [e.get("reason", "") for e in err.get("errors", []) if isinstance(e, dict)]
    reasons += [d.get("reason", "") for d in err.get("details", []) if isinstance(d, dict)]
    if err.get("status"):
        reasons.append(err["status"])
    return err.get("message") or exc.resp.reason or "", reasons


def reconnect_message(connect_url: str, detail: str = "") -> str:
    why = f" ({detail})" if detail else ""
    return (f"Google access was revoked or has expired{why}. The person must reconnect their Google account: "
            f"{connect_url} (or `workmode connect google`)")


def map_http_error(exc: HttpError, *, what: str, connect_url: str) -> ToolError:
    status = exc.resp.status
    message, reasons = _details(exc)
    if status == 401:
        return ReconnectRequired(reconnect_message(connect_url, message))
    if status == 429 or (status == 403 and RATE_REASONS & set(reasons)):
        return RateLimited(f"Google rate limit on {what}: {message}", retry_after(exc.resp.get("retry-after")))
    if status == 403 and SCOPE_REASONS & set(reasons):
        return ReconnectRequired(
            f"The Google connection was not granted the permission needed for {what} ({message}). The person "
            f"must reconnect their Google account and allow everything Workmode asks for: {connect_url} "
            "(or `workmode connect google`)")
    if status == 403:
        return NotPermitted(f"Google refused {what}: {message}. The connected account may lack access, or a "
                            "permission was not granted when connecting.")
    if status in (404, 410):
        return NotFound(f"{what}: not found ({message})")
    if status == 409:
        return Conflict(f"{what}: already exists ({message})")
    if status >= 500:
        return TransientError(f"Google failed on {what} (HTTP {status}): {message}")
    return ToolError(f"Google rejected {what} (HTTP {status}): {message}")


def map_refresh_error(exc: RefreshError, *, connect_url: str) -> ToolError:
    if getattr(exc, "retryable", False):
        return TransientError(f"refreshing the Google token failed, will retry: {exc.args[0] if exc.args else exc}")
    detail = exc.args[0] if exc.args else ""
    return ReconnectRequired(reconnect_message(connect_url, str(detail)))


def call(request: Any, *, what: str, connect_url: str) -> dict:
    """Execute one googleapiclient request, mapping every failure onto a connector error."""
    try:
        return request.execute() or {}
    except ToolError:
        raise
    except HttpError as exc:
        raise map_http_error(exc, what=what, connect_url=connect_url) from exc
    except RefreshError as exc:
        raise map_refresh_error(exc, connect_url=connect_url) from exc
    except (TransportError, TimeoutError, ConnectionError, httplib2.HttpLib2Error, OSError) as exc:
        raise TransientError(f"could not reach Google for {what}: {type(exc).__name__}: {exc}") from exc


def pages(make_request: Callable[[Optional[str]], Any], *, what: str, connect_url: str,
          max_pages: int = MAX_PAGES) -> Iterator[dict]:
    """Every page of a list call: `make_request(page_token)` builds the request for one page."""
    token: Optional[str] = None
    for _ in range(max_pages):
        page = call(make_request(token), what=what, connect_url=connect_url)
        yield page
        token = page.get("nextPageToken")
        if not token:
            return
