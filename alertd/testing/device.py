"""Sign requests as a device would: for tests, and for the hardware bridge."""

from __future__ import annotations

import secrets
from datetime import datetime

from alertd.core.device_signature import SignedRequest, sign


def signed_headers(
    device_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes,
    now: datetime,
    nonce: str | None = None,
) -> dict[str, str]:
    """The X-Device-* headers that authenticate `method path` with exactly these body bytes.

    `path` includes the query string as it will be sent. `now` becomes the timestamp (whole
    seconds). A fresh random nonce is used unless one is given (give one to test replays).
    Send the body bytes unchanged: re-encoding JSON after signing breaks the signature.
    """
    request = SignedRequest(
        device_id=device_id,
        method=method,
        path=path,
        timestamp=int(now.timestamp()),
        nonce=nonce if nonce is not None else secrets.token_urlsafe(16),
        body=body,
    )
    return {
        "X-Device-Id": device_id,
        "X-Device-Timestamp": str(request.timestamp),
        "X-Device-Nonce": request.nonce,
        "X-Device-Signature": sign(secret, request),
    }
