"""The Web Push sender (RFC 8030), signed with VAPID (RFC 8292), encrypted per RFC 8291.

`WebPushSender.send_push` is the `alertd.app.push.PushGateway` the relay calls. The VAPID
key is derived from ALERTD_SECRET_KEY unless ALERTD_VAPID_PRIVATE_KEY sets one, so every
instance signs with the same key and browsers' subscriptions survive restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from alertd.adapters.push.encryption import b64url_decode, b64url_encode, encrypt, public_bytes
from alertd.app.ports import Clock, DeliveryError, Receipt
from alertd.app.push import PushGone
from alertd.core.delivery import DeliveryState
from alertd.core.effect import SendPush

logger = logging.getLogger(__name__)

# RFC 8292: the JWT must expire within 24 hours; push services refuse longer ones.
VAPID_LIFETIME = timedelta(hours=12)
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def vapid_key(*, secret_key: str, own_key: str = "") -> ec.EllipticCurvePrivateKey:
    """The application server's P-256 key: `own_key` (the 32-byte scalar, base64url) if set,
    else one derived from the server's secret key (stable across restarts and instances)."""
    if own_key:
        scalar = int.from_bytes(b64url_decode(own_key), "big")
    else:
        seed = hmac.new(secret_key.encode(), b"alertd.vapid-key.v1", hashlib.sha512).digest()
        scalar = int.from_bytes(seed, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


class WebPushSender:
    """Encrypts and posts pushes. 201/202: sent; 404/410: gone; 429 and 5xx: try again."""

    def __init__(
        self,
        *,
        key: ec.EllipticCurvePrivateKey,
        subject: str,
        clock: Clock,
        timeout: float = 10.0,
    ) -> None:
        self._key = key
        self._subject = subject
        self._clock = clock
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self.public_key = b64url_encode(public_bytes(key.public_key()))

    def authorization(self, endpoint: str) -> str:
        """The VAPID Authorization header for a push to `endpoint` (RFC 8292 section 3)."""
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int((self._clock.now() + VAPID_LIFETIME).timestamp()),
            "sub": self._subject,
        }
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"typ": "JWT"})
        return f"vapid t={token}, k={self.public_key}"

    async def send_push(self, effect: SendPush) -> Receipt:
        try:
            body = encrypt(effect.payload.encode(), p256dh=effect.p256dh, auth=effect.auth)
        except ValueError as error:
            message = f"cannot encrypt for this subscription: {error}"
            raise DeliveryError(message, temporary=False) from None
        headers = {
            "Authorization": self.authorization(effect.endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(effect.ttl_seconds),
            "Urgency": effect.urgency,
        }
        try:
            answer = await self._client.post(effect.endpoint, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryError(f"push service unreachable: {error}", temporary=True) from None
        status = answer.status_code
        if status in (200, 201, 202):
            reference = answer.headers.get("location", "").rsplit("/", 1)[-1][:64]
            return Receipt(DeliveryState.SENT, provider_ref=reference or None)
        if status in (404, 410):
            raise PushGone(f"push service answered {status}: the subscription is gone")
        temporary = status == 429 or status >= 500
        raise DeliveryError(f"push service answered {status}", temporary=temporary)

    async def close(self) -> None:
        await self._client.aclose()
