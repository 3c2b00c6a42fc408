"""Errors raised by the model client.

`ModelUnavailable` means "try again later" (the job waits and is retried, it does not fail);
`ModelError` means the request itself is wrong (bad request, unknown model, bad credentials) and
retrying it would not help. Neither message ever contains the API key.
"""
from __future__ import annotations

from services.errors import Unavailable, WorkmodeError


class ModelUnavailable(Unavailable):
    """The model service is busy or unreachable; retries are exhausted. Retry after `retry_after` s."""

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = float(retry_after)


class ModelError(WorkmodeError):
    """A non-retryable model request failure; the message says what happened and what to do."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code
