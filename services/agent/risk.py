"""Risk flags on proposed actions, computed by the engine from the arguments and the transcript,
never by the model: recipients outside the organisation, links, and text that first appeared in
content someone else wrote."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from connectors.base import Tool
from services.store.models import Message, Organisation

URL_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.I)
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
WORD_RE = re.compile(r"\w+")
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


def _domain_ok(address: str, domains: list[str]) -> bool:
    domain = address.rsplit("@", 1)[-1].lower()
    return any(domain == d.lower() or domain.endswith("." + d.lower()) for d in domains)


def risk_flags(
    tool: Tool, arguments: dict[str, Any], org: Organisation, transcript: list[Message], prompt: str
) -> list[dict[str, Any]]:
    flags: list[dict[str, Any]] = []
    for field in tool.recipient_fields:
        for _, value in _strings(arguments.get(field)):
            for address in EMAIL_RE.findall(value):
                if not _domain_ok(address, org.domains or []):
                    flags.append({"kind": "outside_recipient", "field": field, "value": address})
    for path, value in _strings(arguments):
        for url in URL_RE.findall(value):
            flags.append({"kind": "link", "field": path, "value": url})
    flags.extend(_untrusted_flags(arguments, transcript, prompt))
    return flags


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
        return f"outside recipient: {flag['value']}"
    if kind == "link":
        return f"link in {flag['field']}: {flag['value']}"
    if kind == "untrusted_content":
        return f"{flag['field']} contains text from {flag['source']}: “{flag['excerpt']}”"
    return str(flag)
