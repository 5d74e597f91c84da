"""When a call to the Bot Framework connector is worth trying again, and after how long.

Teams answers 429 (too many requests), 412 (a concurrent change) and 502/504 (a gateway that
gave up) for reasons that pass; those are retried with exponential backoff and full jitter,
or after the `Retry-After` the connector asked for. Anything else is final: 403 means the
person blocked or removed the bot, 404 that the conversation is gone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from msrest.exceptions import ClientRequestError, HttpOperationError

TRANSIENT = frozenset({412, 429, 502, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # the first try and four more
    base: float = 0.5  # seconds; the n-th retry waits up to base * 2**n
    cap: float = 8.0
    longest_retry_after: float = 30.0

    def delay(self, retry: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        """Full jitter (a random wait up to the exponential bound), or the server's Retry-After."""
        rng = rng or random
        if retry_after is not None:
            return min(retry_after, self.longest_retry_after) + rng.uniform(0, self.base / 4)
        return rng.uniform(0, min(self.cap, self.base * 2**retry))


@dataclass(frozen=True)
class Failure:
    """What the connector said: its HTTP status (None when it never answered) and Retry-After."""

    status: int | None
    retry_after: float | None
    detail: str

    @property
    def transient(self) -> bool:
        return self.status is None or self.status in TRANSIENT


def classify(exc: BaseException) -> Failure | None:
    """The connector's answer inside an SDK exception; None for errors that are not the connector's."""
    if isinstance(exc, HttpOperationError):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        headers = getattr(response, "headers", None) or {}
        return Failure(status, _seconds(headers.get("Retry-After")), f"HTTP {status}")
    if isinstance(exc, ClientRequestError | ConnectionError | TimeoutError):
        return Failure(None, None, "the connector did not answer")
    return None


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
    return max(seconds, 0.0)
