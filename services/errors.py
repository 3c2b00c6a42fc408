"""The errors Workmode raises on purpose, by kind. A leaf: it imports nothing of the project.

Every refusal the engine, the API or Slack can explain to a person is a `WorkmodeError` carrying
a `message` (what went wrong and, where it helps, what to do) and the `field` at fault, if any.
The kind is the type: callers (the REST API chooses its HTTP status in `services/api/errors.py`,
Slack and the CLI choose their words) decide by type, never by reading the message.

Each kind is also the built-in exception such errors have always been (a not-found is a
LookupError, bad input a ValueError, a refusal a PermissionError, a conflict a RuntimeError), so
code that catches those still catches these.
"""
from __future__ import annotations

from typing import Optional


class WorkmodeError(Exception):
    """The root: a refusal or failure with a message meant for a person."""

    def __init__(self, message: str, field: Optional[str] = None):
        super().__init__(message)
        self.message, self.field = message, field


class NotFound(WorkmodeError, LookupError):
    """No such thing (or none this person may see): '{what} {ident} not found' unless told otherwise."""

    def __init__(self, what: str, ident: str, field: Optional[str] = None, *, message: Optional[str] = None):
        super().__init__(message or f"{what} {ident} not found", field)
        self.what, self.ident = what, ident


class Invalid(WorkmodeError, ValueError):
    """Bad input, or a request the current state does not allow; `field` names the input at fault."""


class Unauthorized(WorkmodeError):
    """Not signed in, or the credentials presented are unknown or revoked."""


class Forbidden(WorkmodeError, PermissionError):
    """Signed in, but not allowed to do this."""


class Conflict(WorkmodeError, RuntimeError):
    """Someone or something changed the thing first (decided it, edited it); reload and try again."""


class Unavailable(WorkmodeError):
    """Something Workmode needs is busy, unreachable or not set up; trying later (or configuring it) helps."""
