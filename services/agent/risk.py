"""Risk flags on proposed actions, computed by the engine from the arguments and the transcript,
never by the model: recipients and invitees outside the organisation and outside the domains its
egress policy allows, links to domains the requester never mentioned, and text that first appeared
in content someone else wrote. A tool with a `destinations` hook (a Slack Connect channel) also
names the other companies it would reach; those outside the list are flagged, and a lookup that
failed is flagged as unchecked (services/agent/calls.py runs the hook).

An outside recipient or channel is flagged with `"blocked": True` when the organisation's egress
mode is "block": such an action is refused before anyone is asked (services/agent/calls.py)."""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from connectors.base import Destination, Tool
from services.agent.builtins import ASK_USER
from services.policy import allowed_domains, egress_mode
from services.store.models import Message, Organisation

URL_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.I)
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
WORD_RE = re.compile(r"\w+")
DOMAIN_RE = re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\b", re.I)
SHINGLE = 6  # consecutive words that count as copied text


def _strings(value: Any, path: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = [w.lower() for w in WORD_RE.findall(text)]
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def _within(domain: str, domains: Iterable[str]) -> bool:
    domain = domain.lower().rstrip(".")
    return any(domain == d.lower() or domain.endswith("." + d.lower()) for d in domains if d)


def _domain_ok(address: str, domains: list[str]) -> bool:
    return _within(address.rsplit("@", 1)[-1], domains)


def link_host(url: str) -> str:
    """The host a link points at (`www.x.org/y` has no scheme; it is read as https)."""
    return (urlsplit(url if "://" in url else "https://" + url).hostname or "").lower().rstrip(".")


def requester_domains(transcript: list[Message], prompt: str) -> set[str]:
    """Every domain named in the requester's own words: the request (its first message names them
    and their address) and their answers to ask_user. Text others wrote does not count."""
    own = [prompt] + [m.content for m in transcript
                      if m.role == "user" or (m.role == "tool" and m.name == ASK_USER and not m.untrusted)]
    return {d.lower() for text in own for d in DOMAIN_RE.findall(text or "")}


def risk_flags(
    tool: Tool, arguments: dict[str, Any], org: Organisation, transcript: list[Message], prompt: str
) -> list[dict[str, Any]]:
    flags: list[dict[str, Any]] = []
    inside, allowed = list(org.domains or []), allowed_domains(org)
    blocked = egress_mode(org) == "block"
    for field in tool.recipient_fields:
        for _, value in _strings(arguments.get(field)):
            for address in EMAIL_RE.findall(value):
                if not _domain_ok(address, inside + allowed):
                    flag: dict[str, Any] = {"kind": "outside_recipient", "field": field, "value": address}
                    flags.append({**flag, "blocked": True} if blocked else flag)
    seen = requester_domains(transcript, prompt)
    for path, value in _strings(arguments):
        for url in URL_RE.findall(value):
            host = link_host(url)
            if not host or not _within(host, seen):
                flags.append({"kind": "link", "field": path, "value": url, "domain": host})
    flags.extend(_untrusted_flags(arguments, transcript, prompt))
    return flags


def destination_flags(org: Organisation, found: Sequence[Destination], unchecked: str | None = None
                      ) -> list[dict[str, Any]]:
    """Flags for the other parties a conversation reaches: each one none of whose domains is the
    organisation's or allowed (blocked in "block" mode), or, when the lookup failed (`unchecked`
    says why), one flag saying nobody could check: that never passes silently."""
    if unchecked is not None:
        return [{"kind": "channel_unchecked", "value": unchecked}]
    ok, block = list(org.domains or []) + allowed_domains(org), egress_mode(org) == "block"
    flags: list[dict[str, Any]] = []
    for d in found:
        if not any(_within(domain, ok) for domain in d.domains):
            flag: dict[str, Any] = {"kind": "outside_channel", "value": d.name, "domains": list(d.domains)}
            flags.append({**flag, "blocked": True} if block else flag)
    return flags


def blocked(flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The flags that the organisation's egress policy refuses outright."""
    return [f for f in flags if f.get("blocked")]


def _untrusted_flags(arguments: dict[str, Any], transcript: list[Message], prompt: str) -> list[dict[str, Any]]:
    untrusted = [m for m in transcript if m.role == "tool" and m.untrusted]
    if not untrusted:
        return []
    own = prompt.lower()
    flags: list[dict[str, Any]] = []
    for path, value in _strings(arguments):
        tokens = {t for t in EMAIL_RE.findall(value) + URL_RE.findall(value) if t.lower() not in own}
        shingles = _shingles(value) - _shingles(prompt)
        for msg in untrusted:
            body = msg.content.lower()
            copied = [t for t in tokens if t.lower() in body]
            overlap = shingles & _shingles(msg.content)
            if copied or overlap:
                excerpt = copied[0] if copied else " ".join(sorted(overlap)[0])
                flags.append({"kind": "untrusted_content", "field": path, "source": msg.source, "excerpt": excerpt})
                break
    return flags


def describe(flag: dict[str, Any]) -> str:
    kind = flag.get("kind")
    if kind == "outside_recipient":
        return f"outside recipient: {flag['value']} (not the organisation's or an allowed domain)"
    if kind == "outside_channel":
        where = ", ".join(flag.get("domains") or []) or "no known domain"
        return (f"shared channel: it reaches {flag['value']} ({where}), outside the organisation's and its "
                "allowed domains")
    if kind == "channel_unchecked":
        return f"could not check who is in this channel: {flag['value']}"
    if kind == "link":
        return f"link in {flag['field']} to a domain the requester never mentioned: {flag['value']}"
    if kind == "untrusted_content":
        return f"{flag['field']} contains text from {flag['source']}: “{flag['excerpt']}”"
    return str(flag)
