"""The MQTT message a device publishes: one HTTP request it signed, to be carried to alertd.

Topic: `alertd/devices/<device id>/request` (QoS 1). Payload, JSON:

    {"v": 1,
     "method": "POST",
     "path": "/v1/alerts",                       # or /v1/devices/heartbeat
     "body": "<the exact request body, a string>",
     "device_id": "...", "timestamp": 1700000000, "nonce": "...", "signature": "<hex>"}

The signature is `alertd.core.device_signature.sign` over the canonical string of that
request (device id, method, path, timestamp, nonce, sha256 of the body): the same code signs
here and checks in alertd. The bridge sends the body bytes unchanged with the X-Device-*
headers, and the Idempotency-Key `<device id>.<nonce>`: a retry of the same message is
answered with the alert it already raised, never a second one.

The bridge checks only what it can without the secret: the shape, that the topic names the
signer, and that the request is one a device may send. Forged signatures, stale timestamps
and reused nonces are alertd's to refuse (it does, with 401).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alertd.core.device_signature import (
    DEVICE_ID_PATTERN,
    NONCE_PATTERN,
    SignedRequest,
    bound_retry_key,
    sign,
)

TOPIC_PREFIX = "alertd/devices"
SUBSCRIPTION = f"{TOPIC_PREFIX}/+/request"
ENVELOPE_VERSION = 1
# The requests a device may have carried: raising an alert, and its heartbeat.
ALLOWED = frozenset({("POST", "/v1/alerts"), ("POST", "/v1/devices/heartbeat")})
MAX_BODY = 16 * 1024


class EnvelopeRefused(ValueError):
    """A message the bridge will not carry (malformed, or not a device's request)."""


def request_topic(device_id: str) -> str:
    return f"{TOPIC_PREFIX}/{device_id}/request"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One signed device request, as carried over MQTT."""

    device_id: str
    method: str
    path: str
    body: str = field(repr=False)
    timestamp: int
    nonce: str
    signature: str = field(repr=False)

    @property
    def idempotency_key(self) -> str:
        """Unique per message (the nonce is never reused by the device), and bound to the
        signed nonce, so alertd accepts its retries late and after a spent nonce."""
        return bound_retry_key(self.device_id, self.nonce)

    def headers(self) -> dict[str, str]:
        return {
            "X-Device-Id": self.device_id,
            "X-Device-Timestamp": str(self.timestamp),
            "X-Device-Nonce": self.nonce,
            "X-Device-Signature": self.signature,
            "Idempotency-Key": self.idempotency_key,
            "Content-Type": "application/json",
        }

    def to_json(self) -> bytes:
        payload = {
            "v": ENVELOPE_VERSION,
            "method": self.method,
            "path": self.path,
            "body": self.body,
            "device_id": self.device_id,
            "timestamp": self.timestamp,
            "nonce": self.nonce,
            "signature": self.signature,
        }
        return json.dumps(payload).encode("utf-8")


def signed_envelope(
    *,
    device_id: str,
    secret: str,
    path: str,
    body: dict[str, Any],
    now: datetime,
    nonce: str | None = None,
) -> Envelope:
    """What a device publishes to have `POST path` with `body` carried to alertd.
    Only a holder of the device's secret can make one that alertd accepts."""
    text = json.dumps(body, separators=(",", ":"))
    request = SignedRequest(
        device_id=device_id,
        method="POST",
        path=path,
        timestamp=int(now.timestamp()),
        nonce=nonce if nonce is not None else secrets.token_urlsafe(16),
        body=text.encode("utf-8"),
    )
    return Envelope(
        device_id=device_id,
        method="POST",
        path=path,
        body=text,
        timestamp=request.timestamp,
        nonce=request.nonce,
        signature=sign(secret, request),
    )


def parse(topic: str, payload: bytes) -> Envelope:
    """The envelope in an MQTT message; EnvelopeRefused says why not."""
    parts = topic.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != TOPIC_PREFIX or parts[3] != "request":
        raise EnvelopeRefused(f"not a device request topic: {topic!r}")
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise EnvelopeRefused("payload is not JSON") from error
    if not isinstance(data, dict) or data.get("v") != ENVELOPE_VERSION:
        raise EnvelopeRefused("not a version 1 envelope")
    try:
        envelope = Envelope(
            device_id=_text(data, "device_id"),
            method=_text(data, "method"),
            path=_text(data, "path"),
            body=_text(data, "body"),
            timestamp=_integer(data, "timestamp"),
            nonce=_text(data, "nonce"),
            signature=_text(data, "signature"),
        )
    except KeyError as missing:
        raise EnvelopeRefused(f"missing or mistyped field {missing}") from None
    if envelope.device_id != parts[2] or not DEVICE_ID_PATTERN.fullmatch(envelope.device_id):
        raise EnvelopeRefused("the topic does not name the signing device")
    if (envelope.method, envelope.path) not in ALLOWED:
        raise EnvelopeRefused(f"not a device request: {envelope.method} {envelope.path}")
    if not NONCE_PATTERN.fullmatch(envelope.nonce) or len(envelope.body) > MAX_BODY:
        raise EnvelopeRefused("malformed nonce or oversized body")
    return envelope


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise KeyError(name)
    return value


def _integer(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise KeyError(name)
    return value
