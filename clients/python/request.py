"""What the sync and async clients share: the requests they make, the retry policy, and the
errors they raise. No I/O here: each client runs these through its own transport.

Errors:

    AlertdError            alertd answered with a refusal (4xx): do not retry as sent.
                           `.status`, `.error`, `.message`, `.field` (the input at fault).
    Unreachable            no final answer after every retry (connection refused, timeouts,
                           5xx, 429). Raising again with the same Idempotency-Key is safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class AlertdError(Exception):
    """alertd refused the request (a 4xx). The body names the error and the field."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        self.status = status
        self.error = str(body.get("error", "error"))
        self.message = str(body.get("message", ""))
        self.field: str | None = body.get("field")
        super().__init__(f"{status} {self.error}: {self.message}")


class Unreachable(Exception):
    """No final answer from alertd after every retry; safe to try again later."""


@dataclass(frozen=True, slots=True)
class Call:
    """One API request, built once and sent (perhaps several times) unchanged."""

    method: str
    path: str
    json: Mapping[str, Any] | None = None
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts and back-off (seconds, doubling up to `max_delay`)."""

    attempts: int = 5
    first_delay: float = 0.25
    max_delay: float = 5.0

    def delays(self) -> Iterator[float]:
        """The pause before each retry (attempts - 1 of them)."""
        delay = self.first_delay
        for _ in range(self.attempts - 1):
            yield delay
            delay = min(delay * 2, self.max_delay)


def raise_call(
    *,
    kind: str,
    school_id: str,
    room_id: str | None = None,
    note: str | None = None,
    drill: bool = False,
    idempotency_key: str | None = None,
) -> Call:
    """POST /v1/alerts with an Idempotency-Key drawn now and kept for every retry."""
    body: dict[str, Any] = {"kind": kind, "school_id": school_id, "drill": drill}
    if room_id is not None:
        body["room_id"] = room_id
    if note is not None:
        body["note"] = note
    key = idempotency_key or f"alertd-client-{uuid.uuid4()}"
    return Call("POST", "/v1/alerts", json=body, headers={"Idempotency-Key": key})


def action_call(alert_id: str, action: str, body: Mapping[str, Any] | None = None) -> Call:
    """POST /v1/alerts/{id}/{action}: acknowledge, status, resolve, cancel, notes ..."""
    clean = {k: v for k, v in (body or {}).items() if v is not None}
    return Call("POST", f"/v1/alerts/{alert_id}/{action}", json=clean or None)


def answer_of(status: int, body: Any) -> Any:
    """The body of a final answer, or AlertdError for a refusal."""
    if status >= 400:
        raise AlertdError(status, body if isinstance(body, dict) else {"message": str(body)})
    return body


def room_school(tree: Mapping[str, Any], room_id: str) -> bool:
    """Does this school tree (GET /v1/schools/{id}) hold the room?"""
    return any(
        room["id"] == room_id
        for building in tree.get("buildings", [])
        for floor in building.get("floors", [])
        for room in floor.get("rooms", [])
    )


def stream_url(base_url: str, *, since: int | None, token: str | None) -> str:
    """The WebSocket URL of the stream, resuming after `since`."""
    ws_base = "ws" + base_url.rstrip("/").removeprefix("http")
    query: dict[str, Any] = {}
    if since is not None:
        query["since"] = since
    if token is not None:
        query["access_token"] = token
    return f"{ws_base}/v1/stream" + (f"?{urlencode(query)}" if query else "")


def token_form(
    *, username: str = "", password: str = "", refresh_token: str = ""
) -> dict[str, str]:
    """The form of POST /v1/auth/token: a password, or a refresh token to spend."""
    if refresh_token:
        return {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return {"username": username, "password": password}


# Not signed in (any more): an expired access token, answered over HTTP or on the stream.
UNAUTHENTICATED_STATUS = 401
UNAUTHENTICATED_CLOSE = 4401

# The stream's own messages: not events of the log.
CONTROL_TYPES = frozenset({"caught_up", "heartbeat"})
# Close codes after which resuming cannot help (bad request, not signed in).
FINAL_CLOSE_CODES = frozenset({4400, 4401})
