"""Building the real `jira.JIRA` client, and turning its failures into the connector errors.

The client retries nothing itself (`max_retries=0`): the engine decides, because a blind retry of a
POST that timed out could create a second issue. Requests may only go to the configured site: every
other origin is refused before it leaves the process (redirects included). A site a person gave
(`workmode connect jira`) must resolve to public addresses, checked at every request
(`connectors/net.py`); the sites the operator or the organisation's admin configured are exempt.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Optional

import requests
from jira import JIRA, JIRAError
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from connectors.base import (
    NotFound,
    NotPermitted,
    RateLimited,
    ReconnectRequired,
    ToolContext,
    ToolError,
    TransientError,
)
from connectors.jira.config import JiraConfig, load_config
from connectors.net import adapter_for, admin_hosts
from services.config import get_settings
from services.store.models import utcnow

DEFAULT_RETRY_AFTER_S = 10.0


class _Refuse(HTTPAdapter):
    """Mounted for every origin except the configured one."""

    def __init__(self, allowed: str):
        super().__init__()
        self.allowed = allowed

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        url = (request.url or "").split("?")[0]  # a prepared request always has its URL
        raise NotPermitted(f"refused to contact {url}: the Jira connector only talks to {self.allowed}")


@dataclass
class Jira:
    """A connected client. `cloud` decides accountId (Cloud) versus user name (Data Center)."""

    api: JIRA
    config: JiraConfig

    @property
    def cloud(self) -> bool:
        return self.api.deploymentType == "Cloud"

    def rest(self, method: str, path: str, body: Any = None, params: Optional[dict] = None) -> Any:
        """One REST call the `jira` package has no method for (e.g. a comment with properties)."""
        data = json.dumps(body) if body is not None else None
        r = self.api._session.request(method, self.api._get_url(path), data=data, params=params)
        return r.json() if r.content else None


def build(config: JiraConfig, allowed_hosts: frozenset[str] = frozenset()) -> Jira:
    """The real client for `config` (calls serverInfo to learn Cloud or Data Center). Its site must
    resolve to public addresses unless its host is in `allowed_hosts` (configured by an admin)."""
    secret = None
    kwargs: dict[str, Any] = {}
    if config.auth == "basic":
        assert config.api_token is not None  # auth is "basic" only when the API token is set
        kwargs["basic_auth"] = (config.email, config.api_token.get_secret_value())
    else:  # PAT (Data Center) and OAuth 2.0 access tokens are both Bearer tokens
        token = config.pat if config.auth == "pat" else config.oauth_token
        assert token is not None  # JiraConfig._one_way_in: exactly one secret is set, and auth names it
        secret = token.get_secret_value()
        kwargs["token_auth"] = secret
    api = JIRA(server=config.url, max_retries=0, timeout=config.timeout_s, get_server_info=False,
               options={"check_update": False}, logging=False, **kwargs)
    session = api._session
    session.mount("http://", _Refuse(config.origin))
    session.mount("https://", _Refuse(config.origin))
    session.mount(config.origin + "/", adapter_for(config.url, allowed_hosts))
    info = api.server_info()
    api.deploymentType = info.get("deploymentType")
    api._version = tuple(info.get("versionNumbers") or (0, 0, 0))
    return Jira(api=api, config=config)


@contextmanager
def connect(ctx: ToolContext, config: Optional[JiraConfig] = None) -> Iterator[Jira]:
    """`with connect(ctx) as jira:` a client for the principal; failures become connector errors."""
    given = config is not None
    config = config or load_config(ctx)
    settings = get_settings()
    allowed = frozenset(admin_hosts(ctx.session, ctx.org_id, settings.jira_url, settings.atlassian_api_url))
    with translate_errors(config):
        try:
            client = build(config, allowed)
        except JIRAError as exc:  # an OAuth access token refused before it expired: refresh once
            if given or exc.status_code != 401 or config.auth != "oauth":
                raise
            config = load_config(ctx, refresh=True)
            client = build(config, allowed)
        try:
            yield client
        finally:
            client.api.close()


@contextmanager
def translate_errors(config: JiraConfig) -> Iterator[None]:
    """401 → reconnect, 403 → not permitted, 404 → not found, 429 → rate limited (Retry-After),
    5xx and network failures → transient. The original exception is dropped on purpose: its text
    can carry request headers, and those hold the credentials."""
    try:
        yield
    except ToolError:
        raise
    except JIRAError as exc:
        raise _from_status(exc.status_code, _message(exc), exc.response) from None
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise TransientError(f"Jira at {config.origin} did not answer ({type(exc).__name__})") from None
    except requests.TooManyRedirects:
        raise ToolError(f"Jira at {config.origin} answered with a redirect; check WORKMODE_JIRA_URL") from None


def _message(exc: JIRAError) -> str:
    text = (exc.text or "").strip()
    return text[:300] if text else f"HTTP {exc.status_code}"  # outside text: kept short


def _from_status(status: Optional[int], text: str, response: Optional[requests.Response]) -> ToolError:
    if status == 401:
        return ReconnectRequired(f"Jira rejected the credentials ({text}); reconnect with `workmode connect jira`")
    if status == 403:
        return NotPermitted(f"Jira says you are not permitted: {text}")
    if status == 404:
        return NotFound(f"Jira: not found: {text}")
    if status == 429:
        return RateLimited(f"Jira is rate limiting requests: {text}", retry_after=retry_after(response))
    if status is None or status >= 500:
        return TransientError(f"Jira failed (HTTP {status}): {text}")
    return ToolError(f"Jira refused the request (HTTP {status}): {text}")


def retry_after(response: Optional[requests.Response]) -> float:
    """Seconds from a Retry-After header (a number or an HTTP date)."""
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return DEFAULT_RETRY_AFTER_S
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - utcnow()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S
