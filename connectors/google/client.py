"""Building Gmail and Calendar clients: the discovery documents shipped inside
google-api-python-client, real google-auth credentials, and an HTTP transport that talks only to
the configured Google hosts."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import googleapiclient
import httplib2
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build_from_document

from connectors.base import NotPermitted
from connectors.google.config import GoogleConfig

DOCUMENTS = {"gmail": "gmail.v1.json", "calendar": "calendar.v3.json"}


class PinnedHttp(httplib2.Http):
    """httplib2 that refuses any URL outside the configured (scheme, host) pairs, redirects included."""

    def __init__(self, allowed: frozenset[tuple[str, str]], timeout: float):
        super().__init__(timeout=timeout)
        self._allowed = allowed

    def request(self, uri, method="GET", body=None, headers=None, redirections=httplib2.DEFAULT_MAX_REDIRECTS,
                connection_type=None):
        parts = urlsplit(uri)
        if (parts.scheme, parts.netloc) not in self._allowed:
            raise NotPermitted(f"refusing to contact {parts.scheme}://{parts.netloc}: not a configured Google host")
        return super().request(uri, method=method, body=body, headers=headers, redirections=redirections,
                               connection_type=connection_type)


@cache
def discovery_document(api: str) -> dict[str, Any]:
    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / DOCUMENTS[api]
    return json.loads(path.read_text(encoding="utf-8"))


def build_service(api: str, credentials: Any, cfg: GoogleConfig) -> Any:
    """A googleapiclient Resource for `api` ('gmail' or 'calendar') authorised with `credentials`."""
    doc = discovery_document(api)
    http = AuthorizedHttp(credentials, http=PinnedHttp(cfg.allowed_hosts, cfg.timeout_s))
    endpoint = cfg.api_endpoint(api, doc.get("servicePath", ""))
    return build_from_document(doc, http=http, client_options={"api_endpoint": endpoint})
