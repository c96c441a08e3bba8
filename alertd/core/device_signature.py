"""Signed device requests: what a wall button, badge or kiosk signs, and how it is checked.

Pure: no I/O and no clock reads (`now` is an argument). The HTTP adapter reads the headers and
the body, loads the device's secrets, calls `check`, and then records the nonce (a nonce seen
twice is a replay; that uniqueness lives in the database, not here).

The wire protocol, for device firmware and the hardware bridge:

    X-Device-Id:        the device id
    X-Device-Timestamp: unix seconds, an integer
    X-Device-Nonce:     8-128 characters of [A-Za-z0-9_-], never reused by the device
    X-Device-Signature: lowercase hex HMAC-SHA256(key, canonical string)

The key is the device secret exactly as the admin API returned it, encoded as UTF-8. The
canonical string is these lines joined by "\\n" (no trailing newline):

    alertd-device-v1
    <device id>
    <METHOD, upper case>
    <path with the query string, exactly as sent: /v1/alerts?x=1>
    <timestamp>
    <nonce>
    <sha256 hex of the body bytes; of b"" when there is no body>

The device id and a version label are signed too, so that a signature can never be replayed
as another device's, nor reinterpreted by a later version of this format.

A press must survive an outage: the bridge keeps the signed request on disk and sends it,
unchanged, until alertd answers. So a raise whose Idempotency-Key is bound to its signed nonce
(`bound_retry_key`: "<device id>.<nonce>") is a *bound retry*: it may be older than the skew
(up to the buffer's maximum age), and may repeat a nonce already seen as long as its key has
not raised an alert yet (a crash came between recording the nonce and committing the alert).
Both are safe because the key cannot be changed without breaking the binding, and the raise
answers a repeated key with the alert it already opened: replaying a captured request can
only deliver the device's own press, once. Everything else keeps the strict rule (fresh
timestamp, unused nonce).

Device secrets are not stored: each is derived as HMAC(server key, device id + salt) from a
random per-generation salt that is stored (see `derive_device_secret`). A copy of the
database alone therefore reveals no device secret; the server's `secret_key` is needed too.
The price: changing `secret_key` changes every device secret, so every device must then be
given a new one (rotate each device).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

FORMAT_LABEL = "alertd-device-v1"
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SIGNATURE_PATTERN = re.compile(r"^[0-9a-f]{64}$")
_KEY_LABEL = b"alertd.device-secret-key.v1"
_SECRET_LABEL = b"alertd.device-secret.v1"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of one HTTP request that its signature covers."""

    device_id: str
    method: str
    path: str  # including "?query" exactly as sent
    timestamp: int  # unix seconds, as the device claims
    nonce: str
    body: bytes = field(repr=False)


class SignatureCheck(StrEnum):
    """The outcome of `check`. Only OK lets a request through."""

    OK = "ok"
    MALFORMED = "malformed"  # a field that can never be valid (bad nonce or signature syntax)
    BAD_SIGNATURE = "bad_signature"  # no candidate secret produces this signature
    STALE_TIMESTAMP = "stale_timestamp"  # signed correctly, but too far from `now`


@dataclass(frozen=True, slots=True)
class DeviceSecrets:
    """The secrets a device may currently sign with. `repr` never shows them.

    `previous` is the secret before the last rotation; it is accepted while `now` is before
    `previous_valid_until`.
    """

    current: str = field(repr=False)
    previous: str | None = field(default=None, repr=False)
    previous_valid_until: datetime | None = None

    def valid_at(self, now: datetime) -> tuple[str, ...]:
        """The secrets accepted at `now`: the current one, and the previous within its grace."""
        if (
            self.previous is not None
            and self.previous_valid_until is not None
            and now < self.previous_valid_until
        ):
            return (self.current, self.previous)
        return (self.current,)


def canonical_string(request: SignedRequest) -> bytes:
    """The exact bytes that are signed (see the module docstring)."""
    lines = (
        FORMAT_LABEL,
        request.device_id,
        request.method.upper(),
        request.path,
        str(request.timestamp),
        request.nonce,
        hashlib.sha256(request.body).hexdigest(),
    )
    return "\n".join(lines).encode("utf-8")


def sign(secret: str, request: SignedRequest) -> str:
    """The signature a device holding `secret` sends for `request`: lowercase hex."""
    key = secret.encode("utf-8")
    return hmac.new(key, canonical_string(request), hashlib.sha256).hexdigest()


def bound_retry_key(device_id: str, nonce: str) -> str:
    """The Idempotency-Key that binds a raise to its signed nonce (see the module docstring)."""
    return f"{device_id}.{nonce}"


def is_bound_retry(request: SignedRequest, retry_key: str | None) -> bool:
    """Does `retry_key`, the Idempotency-Key of a raise, bind `request` to its nonce?"""
    return retry_key is not None and retry_key == bound_retry_key(request.device_id, request.nonce)


def check(
    request: SignedRequest,
    *,
    signature: str,
    secrets: DeviceSecrets,
    now: datetime,
    max_skew: timedelta,
    max_age: timedelta | None = None,
) -> SignatureCheck:
    """Is `signature` a valid signature of `request` by this device, fresh at `now`?

    Fresh: no further than `max_skew` from `now`, or, when `max_age` is given (a bound retry),
    anywhere from `max_age` in the past to `max_skew` in the future. Each candidate secret is
    compared in constant time. The timestamp is judged only once the signature holds, so a
    stale answer is only ever given to a holder of the secret (who can use it to fix the
    device's clock). The caller must still refuse a nonce it has seen before, unless the
    request is a bound retry.
    """
    if not NONCE_PATTERN.fullmatch(request.nonce) or not _SIGNATURE_PATTERN.fullmatch(signature):
        return SignatureCheck.MALFORMED
    matched = False
    for secret in secrets.valid_at(now):
        # No early exit: every candidate is compared, whichever matches.
        matched = hmac.compare_digest(sign(secret, request), signature) or matched
    if not matched:
        return SignatureCheck.BAD_SIGNATURE
    age = now.timestamp() - request.timestamp
    oldest = max(max_skew, max_age if max_age is not None else max_skew)
    if age > oldest.total_seconds() or -age > max_skew.total_seconds():
        return SignatureCheck.STALE_TIMESTAMP
    return SignatureCheck.OK


def derive_device_secret(*, server_key: str, device_id: str, salt: str) -> str:
    """The device secret for one generation: url-safe base64 of 32 bytes, 43 characters.

    Deterministic in its inputs, so only `salt` is stored. The caller draws a fresh random salt
    (16 bytes or more) per generation, which makes a rotated device's secret unrelated to the
    old one.
    """
    signing_key = hmac.new(server_key.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()
    message = b"\0".join((_SECRET_LABEL, device_id.encode("utf-8"), salt.encode("ascii")))
    digest = hmac.new(signing_key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
