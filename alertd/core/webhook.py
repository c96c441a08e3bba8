"""Outbound webhooks: subscriptions, which events each wants, signatures, pausing. Pure.

An admin subscribes a URL to some event types (none named: every type) of some schools
(none named: the whole district, for a district admin). A subscription receives only the
events its owner could see on the stream (`authorize_event` with the owner's role and the
subscription's schools), so a webhook never widens what its admin may read.

Deliveries follow the Standard Webhooks conventions: the body is
`{"type", "timestamp", "data"}` (data: the stream message), and three headers,
`webhook-id` (the same for every attempt at one message), `webhook-timestamp` (seconds)
and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the
secret, `whsec_` + base64). `pause_after` consecutive failed attempts pause the
subscription and append a `WebhookPaused` notice; an admin resumes it.

Targets inside the school's network are refused (`refused_address`): loopback, link-local,
private, shared and every other non-global address, unless the operator allows them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from alertd.core.actor import Actor, ActorKind
from alertd.core.errors import ValidationFailed
from alertd.core.notice import DomainEvent, Notice, NoticeType
from alertd.core.permission import Principal, Role, Verdict, authorize_event

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
URL_MAX = 2000
DESCRIPTION_MAX = 200
ERROR_MAX = 500
WEBHOOK_ACTOR = Actor("alertd-webhooks", "alertd webhooks", ActorKind.SYSTEM, "system")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # too many failures in a row: nothing is sent until an admin resumes


class AttemptOutcome(StrEnum):
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # another status, a timeout, a connection error
    REFUSED = "refused"  # the URL resolved to an address alertd may not call
    PAUSED = "paused"  # not sent: the subscription is paused


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    """One endpoint and what it wants. `owner_role` and `school_ids` bound what it sees."""

    id: str
    url: str
    secret: str
    event_types: frozenset[str]  # empty: every type
    school_ids: frozenset[str] | None  # None: every school (a district admin's)
    owner_id: str
    owner_role: Role
    state: WebhookState
    created_at: datetime
    description: str = ""
    consecutive_failures: int = 0
    last_error: str | None = None

    @property
    def owner(self) -> Principal:
        """Whom the subscription reads as: its owner's role, within its schools."""
        actor = Actor(self.owner_id, "webhook", ActorKind.SYSTEM, self.owner_role.value)
        return Principal(actor=actor, role=self.owner_role, school_ids=self.school_ids)


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    """One attempt at delivering one message to one subscription, as the log keeps it."""

    subscription_id: str
    message_id: str
    event_id: int
    event_type: str
    attempted_at: datetime
    outcome: AttemptOutcome
    payload: str
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0
    manual: bool = False  # a redelivery an admin asked for
    id: int | None = None


def wants(subscription: WebhookSubscription, event: DomainEvent) -> bool:
    """Should this active subscription receive this event of the log? Not an event from
    before it was created (the fan-out may be a round behind)."""
    if subscription.state is not WebhookState.ACTIVE or event.at < subscription.created_at:
        return False
    if subscription.event_types and event.type.value not in subscription.event_types:
        return False
    return authorize_event(subscription.owner, event) is Verdict.ALLOW


def message_id(event_id: int) -> str:
    """`webhook-id` of the message for one event of the log: the same on every attempt."""
    return f"msg_{event_id}"


def secret_from(random_bytes: bytes) -> str:
    """A new secret from (at least 24) random bytes the caller drew."""
    if len(random_bytes) < 24:
        raise ValueError("a webhook secret needs at least 24 random bytes")
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode("ascii")


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (ValueError, binascii.Error):
        raise ValidationFailed("secret", "must be whsec_ followed by base64") from None


def check_secret(secret: str) -> str:
    """A secret an admin chose: `whsec_` + base64 of 24 to 64 bytes. Raises ValidationFailed."""
    if not secret.startswith(SECRET_PREFIX) or not 24 <= len(_key(secret)) <= 64:
        raise ValidationFailed("secret", "must be whsec_ followed by base64 of 24 to 64 bytes")
    return secret


def sign(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header: `v1,` + base64(HMAC-SHA256(key, id.timestamp.body))."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def refused_address(address: IpAddress) -> str | None:
    """Why alertd may not call this address (None: it may): anything but a global one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for reason, test in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
    ):
        if test:
            return reason
    return None if address.is_global else "not a public address"


def check_url(url: str, *, allow_http: bool) -> str:
    """A subscription URL: https (http only when allowed), a host, no credentials."""
    url = url.strip()
    if len(url) > URL_MAX:
        raise ValidationFailed("url", f"longer than {URL_MAX} characters")
    schemes = ("https://", "http://") if allow_http else ("https://",)
    if not url.lower().startswith(schemes):
        raise ValidationFailed("url", "must be an https:// URL")
    authority = url.split("://", 1)[1].split("/", 1)[0]
    if not authority or "@" in authority:
        raise ValidationFailed("url", "must name a host and no credentials")
    return url


def check_event_types(types: Collection[str], *, known: Collection[str]) -> frozenset[str]:
    unknown = sorted(set(types) - set(known))
    if unknown:
        raise ValidationFailed("event_types", f"unknown event types {unknown}")
    return frozenset(types)


def after_attempt(
    subscription: WebhookSubscription,
    attempt: WebhookAttempt,
    *,
    pause_after: int,
) -> tuple[WebhookSubscription, tuple[Notice, ...]]:
    """The subscription after an attempt, and the notice to append if it was just paused.

    A delivery resets the count of failures; a failure or a refusal adds one, and the
    `pause_after`-th in a row pauses the subscription. An attempt skipped because the
    subscription is paused changes nothing.
    """
    if attempt.outcome is AttemptOutcome.PAUSED:
        return subscription, ()
    if attempt.outcome is AttemptOutcome.DELIVERED:
        return replace(subscription, consecutive_failures=0), ()
    failures = subscription.consecutive_failures + 1
    error = (attempt.error or f"HTTP {attempt.status_code}")[:ERROR_MAX]
    after = replace(subscription, consecutive_failures=failures, last_error=error)
    if subscription.state is WebhookState.PAUSED or failures < pause_after:
        return after, ()
    paused = replace(after, state=WebhookState.PAUSED)
    notice = Notice(
        type=NoticeType.WEBHOOK_PAUSED,
        at=attempt.attempted_at,
        actor=WEBHOOK_ACTOR,
        school_id=_one_school(subscription.school_ids),
        data={
            "subscription_id": subscription.id,
            "url": subscription.url,
            "failures": failures,
            "last_error": error,
        },
    )
    return paused, (notice,)


def _one_school(school_ids: frozenset[str] | None) -> str | None:
    """The notice's school: the subscription's only school, else the district (None)."""
    if school_ids is not None and len(school_ids) == 1:
        return next(iter(school_ids))
    return None


def resumed(subscription: WebhookSubscription) -> WebhookSubscription:
    return replace(subscription, state=WebhookState.ACTIVE, consecutive_failures=0, last_error=None)
