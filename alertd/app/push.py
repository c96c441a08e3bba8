"""Web Push: the subscriptions people's browsers leave with us, and the relay's push handler.

A browser subscribes (`PushService.subscribe`) once per person and device; subscribing again
from the same device replaces its row. Pushes themselves are `SendPush` effects decided by
the core (`alertd.core.push`) and run by the outbox relay through `push_handler`, so a push
queued before a crash is sent after it. A push service that answers 404 or 410 says the
subscription is gone for good: the handler removes it, and the delivery fails for good.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from alertd.app.ports import Clock, DeliveryError, Receipt
from alertd.app.relay import EffectHandler
from alertd.core.audit import AuditEntry
from alertd.core.effect import Effect, SendPush
from alertd.core.errors import ValidationFailed
from alertd.core.permission import Principal

DEVICE_ID_MAX = 64
ENDPOINT_MAX = 2000


@dataclass(frozen=True, slots=True)
class PushSubscription:
    """A person's browser as the push service knows it (the W3C PushSubscription)."""

    user_id: str
    device_id: str
    endpoint: str
    p256dh: str
    auth: str
    created_at: datetime


class PushSubscriptionStore(Protocol):
    """Where subscriptions live (a table), keyed by user and device."""

    async def save(self, subscription: PushSubscription, *, audit: AuditEntry) -> None:
        """Create or replace the row of (user, device), and audit it, in one transaction."""

    async def remove(self, *, user_id: str, device_id: str) -> bool:
        """Forget one device's subscription; False if there was none."""

    async def remove_endpoint(self, endpoint: str) -> int:
        """Forget every row with this endpoint (the push service said it is gone); how many."""


class PushGone(DeliveryError):
    """The push service answered 404 or 410: the subscription no longer exists."""

    def __init__(self, message: str) -> None:
        super().__init__(message, temporary=False)


class PushGateway(Protocol):
    async def send_push(self, effect: SendPush) -> Receipt:
        """Encrypt and send one push. Raises PushGone (404/410), or DeliveryError with
        `temporary` saying whether to retry."""


class PushService:
    """Subscribe and unsubscribe the caller's own browsers."""

    def __init__(
        self,
        *,
        store: PushSubscriptionStore,
        clock: Clock,
        public_key: str,
        allow_http: bool = False,
    ) -> None:
        self._store = store
        self._clock = clock
        self.public_key = public_key  # the VAPID application server key, base64url
        # Push services are https (RFC 8030); plain http only in dev mode, for local ones.
        self._schemes = ("https://", "http://") if allow_http else ("https://",)

    async def subscribe(
        self, principal: Principal, *, device_id: str, endpoint: str, p256dh: str, auth: str
    ) -> PushSubscription:
        """Store the caller's subscription for `device_id`. Raises ValidationFailed."""
        device_id = device_id.strip()
        if not device_id or len(device_id) > DEVICE_ID_MAX:
            raise ValidationFailed("device_id", f"1 to {DEVICE_ID_MAX} characters")
        if not endpoint.startswith(self._schemes):
            raise ValidationFailed("endpoint", "must be the push service's https:// URL")
        if len(endpoint) > ENDPOINT_MAX:
            raise ValidationFailed("endpoint", f"longer than {ENDPOINT_MAX} characters")
        public = _key_bytes(p256dh, field="p256dh")
        if len(public) != 65 or public[0] != 4:
            raise ValidationFailed("p256dh", "must be an uncompressed P-256 point (65 bytes)")
        if len(_key_bytes(auth, field="auth")) != 16:
            raise ValidationFailed("auth", "must be 16 bytes")
        now = self._clock.now()
        subscription = PushSubscription(
            user_id=principal.actor.id,
            device_id=device_id,
            endpoint=endpoint,
            p256dh=p256dh,
            auth=auth,
            created_at=now,
        )
        entry = AuditEntry.by(principal, "push.subscribe", at=now, subject=device_id)
        await self._store.save(subscription, audit=entry)
        return subscription

    async def unsubscribe(self, principal: Principal, *, device_id: str) -> bool:
        return await self._store.remove(user_id=principal.actor.id, device_id=device_id)


def _key_bytes(value: str, *, field: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, binascii.Error):
        raise ValidationFailed(field, "must be base64url") from None


def push_handler(gateway: PushGateway, subscriptions: PushSubscriptionStore) -> EffectHandler:
    """Runs SendPush effects; removes a subscription its push service says is gone."""

    async def send(effect: Effect) -> Receipt:
        assert isinstance(effect, SendPush)
        try:
            return await gateway.send_push(effect)
        except PushGone:
            await subscriptions.remove_endpoint(effect.endpoint)
            raise

    return send
