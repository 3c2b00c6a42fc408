"""Tool and Connector types shared by every connector (sandbox, gmail, gcal, jira, slack).

A tool is a typed function with a pydantic argument model whose docstring the model reads. It
declares whether it changes the world (`write`). Write tools also render a `Preview` for a person
and implement `verify`, which says after a crash whether the effect happened.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Optional, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from sqlmodel import Session


# ---------------------------------------------------------------- errors a tool may raise
class ToolError(Exception):
    """A failure the model should read (bad argument, not found, not permitted)."""

    kind = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(ToolError):
    kind = "not_found"


class NotPermitted(ToolError):
    kind = "not_permitted"


class ReconnectRequired(ToolError):
    """The principal's grant is revoked or expired (401): the job pauses until they reconnect."""

    kind = "reconnect_required"


class CredentialUnreadable(ReconnectRequired):
    """The stored credential cannot be decrypted (the secret key changed, or the row was tampered
    with). `reason` says why without the advice, for a connector that words the advice itself."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


class RateLimited(ToolError):
    """429 from the outside service; `retry_after` seconds to wait."""

    kind = "rate_limited"

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(ToolError):
    """5xx or timeout: retry with backoff, then fail visibly."""

    kind = "transient"


# ---------------------------------------------------------------- context and preview
class CredentialAccess(Protocol):
    """The principal's own stored credentials, as a connector reaches them (the engine passes the
    credential store's implementation, services/credentials/access.py, in `ToolContext.credentials`)."""

    def load(self, provider: str) -> Optional[dict[str, Any]]:
        """The latest stored credential for `provider` (google, jira, slack), or None when there is
        none. Raises CredentialUnreadable (a ReconnectRequired) when it cannot be decrypted."""
        ...

    def save(self, provider: str, secret: dict[str, Any]) -> None:
        """Replace the stored credential (a refreshed token), committed at once in its own short
        transaction, so it survives whatever the tool's transaction does."""
        ...


@dataclass
class ToolContext:
    """What a tool may use. `session` is the job store's session (the sandbox keeps its world there);
    `credentials` reads and writes the principal's own connections (None: nothing is connected).
    `executing_since`: when the engine claimed the action for execution (set for an approved
    Action's run and verify), so a verify need not look further back than that."""

    session: Session
    principal_id: str
    principal_email: str
    org_id: str
    time_zone: str = "UTC"
    job_id: Optional[str] = None
    action_id: Optional[str] = None  # set when a write runs as an approved Action
    credentials: Optional[CredentialAccess] = None
    # For an approved Action: the earliest moment any attempt of it can have acted (its approval;
    # the first claim when that is unknown), UTC. A `verify` that scans a history (sent mail,
    # channel messages) looks back to here, so it cannot miss an earlier attempt's effect.
    executing_since: Optional[datetime] = None


@dataclass
class Preview:
    """How a person sees a proposed action, exactly as it will happen."""

    kind: Literal["email", "event", "ticket", "comment", "chat", "labels", "generic"]
    title: str
    fields: dict[str, Any] = field(default_factory=dict)  # ordered: label -> value
    body: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "fields": self.fields, "body": self.body}

    def as_text(self) -> str:
        lines = [self.title]
        for label, value in self.fields.items():
            if isinstance(value, (list, tuple)):
                value = ", ".join(str(v) for v in value)
            lines.append(f"  {label}: {value}")
        if self.body:
            lines.append("")
            lines.extend("  " + line for line in self.body.splitlines())
        return "\n".join(lines)


@dataclass
class ToolResult:
    """What a tool returns: JSON-able data, and where it came from if others wrote it.

    `images` are inputs for a vision model, as OpenAI chat content parts
    ({"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}); they never go
    into `data` (the text the model reads). The engine shows them to the model after the result."""

    data: Any
    untrusted: bool = False
    source: Optional[str] = None  # e.g. "gmail_read_thread:thread-7" for risk-flag tracking
    images: list[dict] = field(default_factory=list)

    def as_text(self) -> str:
        if isinstance(self.data, str):
            return self.data
        return json.dumps(self.data, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class Destination:
    """Another company an action would reach beyond its named recipients (the other teams in a
    Slack Connect channel): `name` as people know it, and the domains that identify it (its mail
    domains, its Slack workspace's host). No domains: nobody could say whose it is."""

    name: str
    domains: tuple[str, ...] = ()


RunFn = Callable[[ToolContext, Any], ToolResult]
PreviewFn = Callable[[Any], Preview]
VerifyFn = Callable[[ToolContext, Any, str], Optional[dict]]
# Who else an action would reach, looked up when it is proposed with the person's own credentials
# (the engine checks each against the organisation's egress list). Raises ToolError when it cannot
# tell; the engine then flags the action as unchecked rather than letting it pass.
DestinationsFn = Callable[[ToolContext, Any], list[Destination]]


@dataclass
class Tool:
    """One tool. `verify(ctx, args, action_id)` returns the effect's result if it happened,
    None if it did not; it raises `CannotVerify` when it cannot tell."""

    name: str
    description: str
    args_model: type[BaseModel]
    run: RunFn
    write: bool = False
    preview: Optional[PreviewFn] = None
    verify: Optional[VerifyFn] = None
    recipient_fields: tuple[str, ...] = ()  # argument fields holding email addresses (risk flags)
    destinations: Optional[DestinationsFn] = None  # the outside parties a shared conversation reaches

    def parse(self, arguments: dict[str, Any]) -> BaseModel:
        """Validate arguments against the schema; raises ToolError with the fields at fault."""
        try:
            return self.args_model.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(arguments)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ToolError(f"invalid arguments for {self.name}: {problems}") from exc

    def json_schema(self) -> dict[str, Any]:
        schema = self.args_model.model_json_schema()
        schema.pop("title", None)
        return schema

    def spec(self) -> dict[str, Any]:
        """OpenAI tool spec (deterministic: the prompt prefix must not change between steps)."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.json_schema()},
        }


class CannotVerify(Exception):
    """The connector cannot tell whether the effect happened: the action becomes in_doubt.

    `later=True`: it may be able to tell later (a search index catching up, the service briefly
    unreachable or rate limiting): the engine asks again on the reconciler's next ticks, a bounded
    number of times (`WORKMODE_VERIFY_DEFERRALS`), before it settles for in_doubt."""

    def __init__(self, message: str, *, later: bool = False):
        super().__init__(message)
        self.later = later


def cannot_look(service: str, exc: ToolError) -> CannotVerify:
    """`verify` could not read the outside service: worth asking again later when the failure was
    transient (5xx, timeout, 429), not when the service refused (403, bad request)."""
    return CannotVerify(f"could not look in {service}: {exc.message}",
                        later=isinstance(exc, (TransientError, RateLimited)))


class Connector:
    """A named set of tools. Build one per outside system and register it by slug."""

    def __init__(self, slug: str, description: str = ""):
        self.slug = slug
        self.description = description
        self.tools: dict[str, Tool] = {}

    def read(self, name: str, args: type[BaseModel]) -> Callable[[RunFn], RunFn]:
        def deco(fn: RunFn) -> RunFn:
            self._add(Tool(name=name, description=_doc(fn), args_model=args, run=fn))
            return fn

        return deco

    def write(
        self,
        name: str,
        args: type[BaseModel],
        *,
        preview: PreviewFn,
        verify: VerifyFn,
        recipient_fields: tuple[str, ...] = (),
        destinations: Optional[DestinationsFn] = None,
    ) -> Callable[[RunFn], RunFn]:
        def deco(fn: RunFn) -> RunFn:
            self._add(
                Tool(
                    name=name,
                    description=_doc(fn),
                    args_model=args,
                    run=fn,
                    write=True,
                    preview=preview,
                    verify=verify,
                    recipient_fields=recipient_fields,
                    destinations=destinations,
                )
            )
            return fn

        return deco

    def _add(self, tool: Tool) -> None:
        if tool.name in self.tools:
            raise ValueError(f"tool {tool.name} registered twice in connector {self.slug}")
        self.tools[tool.name] = tool


def _doc(fn: Callable) -> str:
    doc = (fn.__doc__ or "").strip()
    if not doc:
        raise ValueError(f"tool function {fn.__name__} needs a docstring: the model reads it")
    return " ".join(doc.split())


def checked_base_url(name: str, url: str) -> str:
    """A configured service URL: https, or http on this machine (tests, local proxies); no query
    or fragment. Returned without a trailing slash. `name` is the setting, for the error."""
    url = url.strip()
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not host or (parts.scheme != "https" and not (parts.scheme == "http" and loopback)):
        raise ValueError(f"{name} must be https (or http on this machine), got {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{name} must not have a query or fragment")
    return url.rstrip("/")


def args_hash(arguments: dict[str, Any]) -> str:
    """Hash of the exact arguments (canonical JSON): approvals are bound to it."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
