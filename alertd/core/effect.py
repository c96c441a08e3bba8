"""Effects: what must happen in the world after a command commits. Imperative names.

They are written to the outbox in the same transaction as the events, and run after commit
by the relay (`alertd.app.relay`), which hands each to the handler registered for its type.
An effect that reaches a person (`SendSms`, `PlaceCall`, `SendPush`) also opens a row of the
delivery ledger (`alertd.core.delivery`), so that who was reached, and who was not, is always
on record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class SendSms:
    """Text one recipient about one alert. `drill` travels with it so a sender can re-check.

    `about` is the alert event type the text announces; `recipient_name` and
    `recipient_kind` are copied into the delivery ledger.
    """

    alert_id: str
    recipient_id: str
    to: str
    body: str
    drill: bool
    recipient_name: str = ""
    recipient_kind: str = ""
    about: str = ""


@dataclass(frozen=True, slots=True)
class PlaceCall:
    """Call one recipient about one alert; the call says `script` twice and asks for a key
    press (1 acknowledges). Same ledger fields as `SendSms`."""

    alert_id: str
    recipient_id: str
    to: str
    script: str
    drill: bool
    recipient_name: str = ""
    recipient_kind: str = ""
    about: str = ""


@dataclass(frozen=True, slots=True)
class SendPush:
    """Push one message to one browser subscription (Web Push, RFC 8030), encrypted for it.

    The subscription's endpoint and keys travel with the effect, so the push goes where the
    browser was subscribed when the alert was decided, even after a crash. `payload` is the
    JSON text the app's service worker receives; `urgency` and `ttl_seconds` are RFC 8030's.
    """

    alert_id: str
    recipient_id: str  # the user
    device_id: str  # the user's browser, as the app named it when it subscribed
    endpoint: str
    p256dh: str  # the browser's public key, base64url (uncompressed P-256 point)
    auth: str  # the browser's 16-byte authentication secret, base64url
    payload: str
    drill: bool
    urgency: str = "high"
    ttl_seconds: int = 3600
    recipient_name: str = ""
    recipient_kind: str = ""
    about: str = ""


@dataclass(frozen=True, slots=True)
class DeliverWebhook:
    """Post one event of the log to one webhook subscription (see `core.webhook`).

    `message_id` is the `webhook-id`: the same for every attempt and redelivery of this
    event to this subscription, so the receiver can drop repeats. `payload` is the JSON
    body as first rendered. `alert_id` is "" for a notice about no alert. Webhooks reach
    systems, not people: no ledger row; every attempt is in the webhook delivery log.
    """

    alert_id: str
    subscription_id: str
    message_id: str
    event_id: int
    event_type: str
    payload: str
    drill: bool
    manual: bool = False  # an admin's redelivery


Effect = SendSms | PlaceCall | SendPush | DeliverWebhook

# Every effect type by name, as the outbox stores it.
EFFECT_TYPES: Mapping[str, type[Effect]] = MappingProxyType(
    {
        "SendSms": SendSms,
        "PlaceCall": PlaceCall,
        "SendPush": SendPush,
        "DeliverWebhook": DeliverWebhook,
    }
)
