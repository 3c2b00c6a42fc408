"""Outbound URLs that a person gave us (a Jira site in `workmode connect jira`): checked when they
are given and again on every request, so that nobody can point Workmode's connectors at the
machines behind its firewall (server-side request forgery).

The rule: a person's URL is https, without userinfo, query or fragment, and its host resolves to
public addresses only — never loopback, private, shared, link-local (the cloud metadata service at
169.254.169.254 among them), multicast, reserved or unspecified ones. Hosts the organisation's
admin configured are exempt: the sites in the settings (WORKMODE_JIRA_URL, WORKMODE_ATLASSIAN_API_URL:
only the operator sets them) and the organisation policy's "allowed_hosts" (an on-premises Jira).

At request time `GuardedAdapter` resolves the host before sending, and checks the address the
socket actually connected to before a byte goes out: a name that resolved to a public address
when checked and to an internal one a moment later (DNS rebinding) is caught by the second check.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any, Optional
from urllib.parse import urlsplit

from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from sqlmodel import Session
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from connectors.base import NotPermitted
from services.policy import allowed_hosts
from services.store.models import Organisation

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(NotPermitted):
    """A destination this connector may not reach; the message says why, without secrets."""


def host_of(url: str) -> str:
    return (urlsplit(url.strip()).hostname or "").lower().rstrip(".")


def check_shape(url: str) -> str:
    """A person's URL: https, a host, no userinfo, no query or fragment. Returned without a
    trailing slash; ValueError says what is wrong."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("must be an https URL such as https://acme.atlassian.net")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("must not contain a user name or password (give the credentials separately)")
    if parts.query or parts.fragment or url.endswith("?") or url.endswith("#"):
        raise ValueError("must not have a query string or fragment")
    try:
        parts.port  # noqa: B018  (reading it validates the port)
    except ValueError:
        raise ValueError("has an invalid port") from None
    return url.rstrip("/")


def is_public(ip: Address) -> bool:
    """A globally reachable unicast address. `is_global` already excludes loopback, private,
    shared (100.64/10, where some clouds keep metadata), link-local (169.254/16, fe80::/10),
    reserved and unspecified ranges; multicast is refused too, and an IPv4 address wrapped in IPv6
    (::ffff:127.0.0.1, 64:ff9b::7f00:1) is judged as the IPv4 address it carries."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return is_public(inner)
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: Optional[int] = None) -> list[Address]:
    """Every address `host` resolves to (an IP literal is itself). socket.gaierror when none."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_address(host: str, ip: Address) -> None:
    if not is_public(ip):
        raise Refused(f"refused to contact {host}: it resolves to {ip}, which is not a public address "
                      "(an admin can allow an internal host in the organisation's policy, \"allowed_hosts\")")


def check_destination(url: str, allowed: Iterable[str], *, unresolved_ok: bool = False) -> None:
    """Raise Refused unless `url` may be contacted: its host is one the admin allowed, or it is an
    https URL of the right shape whose every address is public. `unresolved_ok`: a name that does
    not resolve now passes (connect time: every request checks again)."""
    host = host_of(url)
    if host in {h.lower().rstrip(".") for h in allowed}:
        return
    try:
        check_shape(url)
    except ValueError as exc:
        raise Refused(f"refused to contact {host or repr(url)}: the URL {exc}") from None
    try:
        addresses = resolve(host, urlsplit(url).port)
    except (socket.gaierror, UnicodeError):
        if unresolved_ok:
            return
        raise Refused(f"refused to contact {host}: the name does not resolve") from None
    for ip in addresses:
        check_address(host, ip)


def admin_hosts(session: Optional[Session], org_id: str, *configured: str) -> set[str]:
    """Hosts the operator or the organisation's admin configured: those of the `configured` URLs
    (settings) and the policy's "allowed_hosts"."""
    org = session.get(Organisation, org_id) if session is not None and org_id else None
    return allowed_hosts(org) | {h for h in (host_of(u) for u in configured if u) if h}


# ---------------------------------------------------------------- request time
class _PeerChecked:
    """A urllib3 connection that checks the address it connected to before sending anything."""

    host: str

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]  # the urllib3 connection below in the MRO
        try:
            check_address(self.host, ipaddress.ip_address(str(sock.getpeername()[0]).split("%", 1)[0]))
        except Refused:
            sock.close()
            raise
        return sock


class _HTTPConnection(_PeerChecked, HTTPConnection):
    pass


class _HTTPSConnection(_PeerChecked, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests transport that only reaches public addresses over https: the host is resolved
    and checked before the request is sent, and the connected peer again before a byte goes out."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        url = (request.url or "").split("#", 1)[0].split("?", 1)[0]  # a request's own query is fine
        check_destination(url, ())
        return super().send(request, *args, **kwargs)


def adapter_for(url: str, allowed: Iterable[str]) -> HTTPAdapter:
    """The transport for requests to `url`'s origin: a plain one when the host is one the operator
    or the organisation's admin configured, else a GuardedAdapter. Neither retries."""
    if host_of(url) in {h.lower().rstrip(".") for h in allowed}:
        return HTTPAdapter(max_retries=0)
    return GuardedAdapter(max_retries=0)
