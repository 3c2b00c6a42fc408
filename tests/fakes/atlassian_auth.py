"""A local Atlassian OAuth 2.0 (3LO) server for tests: auth.atlassian.com and api.atlassian.com in one.

- GET /authorize: checks client, audience, response_type and the S256 challenge, consents at once
  as `consent_as` and redirects to redirect_uri with code + state.
- POST /oauth/token (JSON): authorization_code (redirect_uri and PKCE verifier checked) and
  refresh_token with rotation (a used refresh token is spent; a spent or revoked one answers
  403 invalid_grant, as Atlassian does).
- GET /oauth/token/accessible-resources: the sites the Bearer token may use.
- /ex/jira/<cloud id>/...: forwarded to the FakeJira given, with the Authorization header, like
  the API gateway. Access tokens issued here are registered with that FakeJira.

    with FakeAtlassian(fake_jira, consent_as="alex@...") as atl: ...   # or the `fake_atlassian` fixture
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.fakes.jira_api import FakeJira
from tests.fakes.local_server import LocalServer

CLIENT_ID, CLIENT_SECRET = "jira-oauth-client", "jira-oauth-secret"
CLOUD_ID = "1324a887-45db-1bf4-1e99-ef0ff456d421"
SITE_URL = "https://northwind.atlassian.net"
JIRA_SCOPES = ["read:jira-work", "write:jira-work", "read:jira-user"]


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class FakeAtlassian(LocalServer):
    def __init__(self, jira: FakeJira, *, consent_as: str = "", client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET) -> None:
        self.jira, self.consent_as = jira, consent_as
        self.client_id, self.client_secret = client_id, client_secret
        self.sites: list[dict] = [
            {"id": "0000-confluence-only", "url": "https://northwind-wiki.atlassian.net", "name": "wiki",
             "scopes": ["read:confluence-content.all"], "avatarUrl": ""},
            {"id": CLOUD_ID, "url": SITE_URL, "name": "northwind", "scopes": JIRA_SCOPES, "avatarUrl": ""},
        ]
        self.codes: dict[str, dict] = {}
        self.refresh_tokens: dict[str, str] = {}  # live refresh token -> email
        self.spent: set[str] = set()
        self.access: dict[str, str] = {}  # access token -> email
        self.requests: list[dict] = []
        self.lock = threading.RLock()

    # ------------------------------------------------------------ lifecycle (LocalServer)
    def handler(self):
        return _handler(self)

    # ------------------------------------------------------------ knobs
    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (Jira answers 401)."""
        with self.lock:
            for token in self.access:
                self.jira.oauth_tokens.pop(token, None)
            self.access.clear()

    def revoke(self) -> None:
        """The person removed the app: every refresh token is refused from now on."""
        with self.lock:
            self.spent.update(self.refresh_tokens)
            self.refresh_tokens.clear()
            self.expire_access_tokens()

    def calls(self, method: str, path_part: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["method"] == method and path_part in r["path"]]

    # ------------------------------------------------------------ behaviour
    def _issue(self, email: str) -> dict:
        access, refresh = "atl-access-" + secrets.token_urlsafe(12), "atl-refresh-" + secrets.token_urlsafe(12)
        self.access[access] = email
        self.jira.oauth_tokens[access] = email
        self.refresh_tokens[refresh] = email
        return {"access_token": access, "refresh_token": refresh, "expires_in": 3600, "token_type": "Bearer",
                "scope": " ".join([*JIRA_SCOPES, "offline_access"])}

    def authorize(self, p: dict[str, str]) -> tuple[int, Any, dict]:
        if (p.get("client_id") != self.client_id or p.get("response_type") != "code"
                or p.get("audience") != "api.atlassian.com" or "offline_access" not in p.get("scope", "").split()):
            return 400, {"error": "invalid_request"}, {}
        if p.get("code_challenge_method") != "S256" or not p.get("code_challenge"):
            return 400, {"error": "invalid_request", "error_description": "PKCE S256 expected"}, {}
        code = "atl-code-" + secrets.token_urlsafe(12)
        self.codes[code] = {"email": self.consent_as, "challenge": p["code_challenge"],
                            "redirect_uri": p.get("redirect_uri", "")}
        location = p["redirect_uri"] + "?" + urlencode({"code": code, "state": p.get("state", "")})
        return 302, None, {"Location": location}

    def token(self, f: dict[str, Any]) -> tuple[int, Any, dict]:
        if f.get("client_id") != self.client_id or f.get("client_secret") != self.client_secret:
            return 401, {"error": "access_denied", "error_description": "Unauthorized"}, {}
        if f.get("grant_type") == "authorization_code":
            grant = self.codes.pop(str(f.get("code", "")), None)
            if grant is None or f.get("redirect_uri") != grant["redirect_uri"]:
                return 403, {"error": "invalid_grant", "error_description": "Invalid authorization code"}, {}
            if _challenge(str(f.get("code_verifier", ""))) != grant["challenge"]:
                return 403, {"error": "invalid_grant", "error_description": "Invalid code verifier"}, {}
            return 200, self._issue(grant["email"]), {}
        if f.get("grant_type") == "refresh_token":
            token = str(f.get("refresh_token", ""))
            email = self.refresh_tokens.pop(token, None)
            if email is None:
                return 403, {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}, {}
            self.spent.add(token)  # rotation: a refresh token works once
            return 200, self._issue(email), {}
        return 400, {"error": "unsupported_grant_type"}, {}

    def resources(self, auth: str) -> tuple[int, Any, dict]:
        if self.access.get(auth[7:] if auth.startswith("Bearer ") else "") is None:
            return 401, {"code": 401, "message": "Unauthorized"}, {}
        return 200, self.sites, {}


def _handler(fake: FakeAtlassian):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            auth = self.headers.get("Authorization", "")
            with fake.lock:
                fake.requests.append({"method": method, "path": parts.path, "query": parts.query,
                                      "body": raw.decode(errors="replace"), "auth": auth})
            prefix = f"/ex/jira/{CLOUD_ID}"
            if parts.path.startswith(prefix + "/"):  # the API gateway in front of the site
                target = fake.jira.url + parts.path[len(prefix):] + (f"?{parts.query}" if parts.query else "")
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type",
                                                                                   "accept")}
                r = httpx.request(method, target, content=raw or None, headers=headers, timeout=30)
                return self._send(r.status_code, r.content, {"Content-Type": r.headers.get("content-type", "")})
            with fake.lock:
                if parts.path == "/authorize" and method == "GET":
                    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                    status, body, headers = fake.authorize(q)
                elif parts.path == "/oauth/token" and method == "POST":
                    try:
                        form = json.loads(raw) if raw else {}
                    except ValueError:
                        form = {}
                    status, body, headers = fake.token(form if isinstance(form, dict) else {})
                elif parts.path == "/oauth/token/accessible-resources" and method == "GET":
                    status, body, headers = fake.resources(auth)
                else:
                    status, body, headers = 404, {"error": "not found"}, {}
            data = b"" if body is None else json.dumps(body).encode()
            self._send(status, data, {"Content-Type": "application/json", **headers})

        def _send(self, status: int, data: bytes, headers: dict) -> None:
            self.send_response(status)
            for k, v in headers.items():
                if v:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

    return Handler


@pytest.fixture
def fake_atlassian(fake_jira):
    with FakeAtlassian(fake_jira) as atl:
        yield atl
