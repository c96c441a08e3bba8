"""Outbound webhooks: admins' subscriptions, and the ports the deliveries go through.

- `WebhookService`: admins create, change, resume and delete subscriptions, read each
  one's delivery log, and redeliver a logged message by hand (`Action.MANAGE_WEBHOOKS`,
  within the admin's schools).
- The fan-out from the log and the relay's handler are in `alertd.app.webhook_delivery`.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import urlsplit

from alertd.app.ports import Clock, LoggedEvent, Store
from alertd.app.service import require
from alertd.core.audit import AuditEntry
from alertd.core.effect import DeliverWebhook
from alertd.core.errors import NotFound, ValidationFailed
from alertd.core.permission import Action, Principal, authorize
from alertd.core.webhook import (
    DESCRIPTION_MAX,
    IpAddress,
    WebhookAttempt,
    WebhookState,
    WebhookSubscription,
    check_event_types,
    check_secret,
    check_url,
    refused_address,
    resumed,
    secret_from,
)

logger = logging.getLogger(__name__)

FANOUT_RELAY = "webhooks"  # the fan-out's position in `event_relay`
ATTEMPTS_MAX_PAGE = 200


class WebhookStore(Protocol):
    """Subscriptions and their delivery log (tables). Each method is one transaction."""

    async def save(self, subscription: WebhookSubscription, *, audit: AuditEntry) -> None:
        """Create or replace the subscription's row, and audit it."""

    async def delete(self, subscription_id: str, *, audit: AuditEntry) -> bool:
        """Delete the subscription (its log stays); False if there was none."""

    async def get(self, subscription_id: str) -> WebhookSubscription | None: ...

    async def all(self) -> list[WebhookSubscription]: ...

    async def record_attempt(
        self, attempt: WebhookAttempt, *, pause_after: int
    ) -> list[LoggedEvent]:
        """Log the attempt and apply `core.webhook.after_attempt` to the subscription as it
        stands (locked), appending its notice if it was just paused; the logged notices."""

    async def attempts(
        self, subscription_id: str, *, limit: int, before: int | None
    ) -> list[WebhookAttempt]:
        """The subscription's attempts, newest first (ids below `before`, if given)."""

    async def attempt(self, attempt_id: int) -> WebhookAttempt | None: ...


class AddressResolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        """Every address `host` resolves to now. Raises OSError when it does not resolve."""


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    status_code: int


class WebhookTransport(Protocol):
    async def post(
        self,
        url: str,
        *,
        body: str,
        headers: dict[str, str],
        addresses: Sequence[IpAddress] = (),
    ) -> WebhookAnswer:
        """POST once, without following redirects, connecting to one of `addresses` (in
        order, the next when one refuses the connection) and never to another address of
        the URL's host; with none, to the host as resolved. Raises DeliveryError
        (temporary) on a timeout or a connection failure."""


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    """An admin's change; None leaves a field as it is."""

    url: str | None = None
    event_types: Collection[str] | None = None
    description: str | None = None
    state: WebhookState | None = None


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a webhook may go now: the addresses its host resolved to when they were
    checked, which the transport connects to (asking the resolver again could answer
    otherwise: DNS rebinding), or why it may not. No addresses where nothing was checked
    (private addresses allowed, and the name did not resolve here)."""

    addresses: tuple[IpAddress, ...] = ()
    refused: str | None = None


async def resolve_destination(
    url: str, *, resolver: AddressResolver, allow_private: bool
) -> Destination:
    """Resolve the URL's host once and check every address: one in the school's network
    (or none at all) is refused unless `allow_private`."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = await resolver.resolve(host, port)
    except (OSError, ValueError) as error:
        return (
            Destination()
            if allow_private
            else Destination(refused=f"{host} does not resolve ({error})")
        )
    if not allow_private:
        for address in addresses:
            reason = refused_address(address)
            if reason is not None:
                return Destination(refused=f"{host} resolves to {address}, a {reason} address")
        if not addresses:
            return Destination(refused=f"{host} does not resolve")
    return Destination(addresses=tuple(addresses))


async def check_destination(
    url: str, *, resolver: AddressResolver, allow_private: bool
) -> str | None:
    """Why a URL may not be called now (None: it may): its host resolves to an address in
    the school's network (or to nothing)."""
    if allow_private:
        return None
    return (await resolve_destination(url, resolver=resolver, allow_private=False)).refused


class WebhookService:
    def __init__(
        self,
        *,
        webhooks: WebhookStore,
        store: Store,
        resolver: AddressResolver,
        clock: Clock,
        event_types: Collection[str],
        allow_private: bool,
        allow_http: bool,
        on_effects_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._webhooks = webhooks
        self._store = store
        self._resolver = resolver
        self._clock = clock
        self._event_types = frozenset(event_types)
        self._allow_private = allow_private
        self._allow_http = allow_http
        self._on_effects_queued = on_effects_queued

    async def create(
        self,
        principal: Principal,
        *,
        url: str,
        event_types: Collection[str] = (),
        school_ids: Collection[str] | None = None,
        description: str = "",
        secret: str | None = None,
    ) -> WebhookSubscription:
        """A new subscription, its secret included (shown once). ValidationFailed names the
        field: a bad URL, one in the school's network, unknown types, schools not yours."""
        schools = self._schools_for(principal, school_ids)
        now = self._clock.now()
        subscription = WebhookSubscription(
            id=str(uuid.uuid4()),
            url=await self._checked_url(url),
            secret=check_secret(secret) if secret else secret_from(secrets.token_bytes(32)),
            event_types=check_event_types(event_types, known=self._event_types),
            school_ids=schools,
            owner_id=principal.actor.id,
            owner_role=principal.role,
            state=WebhookState.ACTIVE,
            created_at=now,
            description=_description(description),
        )
        await self._webhooks.save(
            subscription, audit=self._entry(principal, "webhook.create", subscription)
        )
        return subscription

    async def subscriptions(self, principal: Principal) -> list[WebhookSubscription]:
        self._authorize(principal, None)
        return [s for s in await self._webhooks.all() if _manages(principal, s)]

    async def get(self, principal: Principal, subscription_id: str) -> WebhookSubscription:
        """NotFound for a subscription the principal may not manage."""
        self._authorize(principal, None)
        subscription = await self._webhooks.get(subscription_id)
        if subscription is None or not _manages(principal, subscription):
            raise NotFound("webhook", subscription_id)
        return subscription

    async def change(
        self, principal: Principal, subscription_id: str, change: SubscriptionChange
    ) -> WebhookSubscription:
        current = await self.get(principal, subscription_id)
        changed = current
        if change.url is not None:
            changed = replace(changed, url=await self._checked_url(change.url))
        if change.event_types is not None:
            types = check_event_types(change.event_types, known=self._event_types)
            changed = replace(changed, event_types=types)
        if change.description is not None:
            changed = replace(changed, description=_description(change.description))
        if change.state is WebhookState.ACTIVE and current.state is not WebhookState.ACTIVE:
            changed = resumed(changed)
        elif change.state is WebhookState.PAUSED:
            changed = replace(changed, state=WebhookState.PAUSED)
        action = "webhook.resume" if changed.state != current.state else "webhook.change"
        await self._webhooks.save(changed, audit=self._entry(principal, action, changed))
        return changed

    async def delete(self, principal: Principal, subscription_id: str) -> None:
        subscription = await self.get(principal, subscription_id)
        entry = self._entry(principal, "webhook.delete", subscription)
        if not await self._webhooks.delete(subscription_id, audit=entry):
            raise NotFound("webhook", subscription_id)

    async def attempts(
        self, principal: Principal, subscription_id: str, *, limit: int, before: int | None
    ) -> list[WebhookAttempt]:
        await self.get(principal, subscription_id)
        return await self._webhooks.attempts(
            subscription_id, limit=min(limit, ATTEMPTS_MAX_PAGE), before=before
        )

    async def redeliver(
        self, principal: Principal, subscription_id: str, attempt_id: int
    ) -> DeliverWebhook:
        """Queue the logged message again (same `webhook-id`); the relay sends it, even to a
        paused subscription, and logs the attempt as manual."""
        subscription = await self.get(principal, subscription_id)
        attempt = await self._webhooks.attempt(attempt_id)
        if attempt is None or attempt.subscription_id != subscription.id:
            raise NotFound("webhook attempt", str(attempt_id))
        effect = DeliverWebhook(
            alert_id="",
            subscription_id=subscription.id,
            message_id=attempt.message_id,
            event_id=attempt.event_id,
            event_type=attempt.event_type,
            payload=attempt.payload,
            drill=False,
            manual=True,
        )
        now = self._clock.now()
        async with self._store.transaction() as tx:
            await tx.queue_effects([effect], school_id="", now=now)
            await tx.audit([self._entry(principal, "webhook.redeliver", subscription)])
        self._on_effects_queued()
        return effect

    # --- helpers --------------------------------------------------------------------------

    async def _checked_url(self, url: str) -> str:
        url = check_url(url, allow_http=self._allow_http)
        refused = await check_destination(
            url, resolver=self._resolver, allow_private=self._allow_private
        )
        if refused is not None:
            raise ValidationFailed("url", f"refused: {refused}")
        return url

    def _authorize(self, principal: Principal, school_id: str | None) -> None:
        verdict = authorize(principal, Action.MANAGE_WEBHOOKS, school_id=school_id)
        require(verdict, what="school", ident=school_id or "", action=Action.MANAGE_WEBHOOKS)

    def _schools_for(
        self, principal: Principal, school_ids: Collection[str] | None
    ) -> frozenset[str] | None:
        self._authorize(principal, None)
        if school_ids is None:
            if principal.school_ids is not None:
                return principal.school_ids  # a school admin's webhook covers its schools
            return None
        if not school_ids:
            raise ValidationFailed("school_ids", "name at least one school, or leave it out")
        for school_id in sorted(school_ids):
            if not principal.covers(school_id):
                raise ValidationFailed("school_ids", f"{school_id!r} is not one of your schools")
        return frozenset(school_ids)

    def _entry(
        self, principal: Principal, action: str, subscription: WebhookSubscription
    ) -> AuditEntry:
        return AuditEntry.by(
            principal,
            action,
            at=self._clock.now(),
            subject=subscription.id,
            detail={"url": subscription.url, "state": subscription.state.value},
        )


def _manages(principal: Principal, subscription: WebhookSubscription) -> bool:
    """An admin manages the subscriptions whose schools are all theirs."""
    if principal.school_ids is None:
        return True
    return subscription.school_ids is not None and subscription.school_ids <= principal.school_ids


def _description(text: str) -> str:
    text = text.strip()
    if len(text) > DESCRIPTION_MAX:
        raise ValidationFailed("description", f"longer than {DESCRIPTION_MAX} characters")
    return text
