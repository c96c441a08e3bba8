"""The delivery ledger: what became of each message to each recipient about an alert.

A dispatcher must see at a glance who has NOT been reached. So every message (a text now; a
voice call, a push later) is a `Delivery` with a state, and the state only moves forward:

    queued ──▶ sent ──▶ delivered
       │         └────▶ undelivered | failed
       ├──▶ recorded          (no provider configured: written to the outbox file, sent nowhere)
       └──▶ delivered | undelivered | failed   (a provider may skip steps, or report late)

A late or repeated report (say "sent" after "delivered") changes nothing: `advance` returns
None. Only `delivered` counts as reached; `recorded` is honest about having sent nothing.
For a voice call, `delivered` means the call was answered; `undelivered` that it rang out,
was busy or was not answered.

When a message may have gone out twice (an instance died after the request left, or a
request timed out and was retried), the row says so: `repeat_possible`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from alertd.core.actor import Actor, ActorKind
from alertd.core.notice import Notice, NoticeType


class Channel(StrEnum):
    SMS = "sms"
    PUSH = "push"  # Web Push to one browser of a person
    VOICE = "voice"


class DeliveryState(StrEnum):
    QUEUED = "queued"
    RECORDED = "recorded"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return not NEXT_STATES[self]


_Q, _S = DeliveryState.QUEUED, DeliveryState.SENT
_ENDS = frozenset({DeliveryState.DELIVERED, DeliveryState.UNDELIVERED, DeliveryState.FAILED})

# Where each state may go next. Final states go nowhere.
NEXT_STATES: Mapping[DeliveryState, frozenset[DeliveryState]] = MappingProxyType(
    {
        _Q: frozenset({DeliveryState.RECORDED, _S, *_ENDS}),
        _S: _ENDS,
        DeliveryState.RECORDED: frozenset(),
        DeliveryState.DELIVERED: frozenset(),
        DeliveryState.UNDELIVERED: frozenset(),
        DeliveryState.FAILED: frozenset(),
    }
)

# The delivery ledger acts as the system, not as a person.
LEDGER_ACTOR = Actor(id="system:deliveries", name="alertd", kind=ActorKind.SYSTEM, role="system")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to one recipient about one alert, as the ledger holds it.

    `about` is the alert event type the message announces (AlertRaised, AllClearGiven ...).
    `address` is where it goes (an E.164 number for SMS); wire views show only its last four
    digits. `error` is a plain-English reason once something went wrong.
    """

    id: int
    alert_id: str
    school_id: str
    recipient_id: str
    recipient_name: str
    recipient_kind: str
    channel: Channel
    address: str
    about: str
    drill: bool
    state: DeliveryState
    attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime
    provider_ref: str | None = None  # the provider's id for the message (a Twilio SID)
    error_code: int | None = None  # the provider's error code (Twilio's 30003, 21610 ...)
    repeat_possible: bool = False  # an earlier attempt may have gone out too
    sender: str | None = None  # the number (or service) it was sent from


def advance(
    delivery: Delivery,
    state: DeliveryState,
    *,
    now: datetime,
    error: str | None = None,
    error_code: int | None = None,
    provider_ref: str | None = None,
) -> Delivery | None:
    """The delivery in its new state, or None when the report changes nothing (a repeat, or
    a step backwards that arrived late)."""
    if state is delivery.state or state not in NEXT_STATES[delivery.state]:
        return None
    return replace(
        delivery,
        state=state,
        updated_at=now,
        error=error or delivery.error,
        error_code=error_code or delivery.error_code,
        provider_ref=provider_ref or delivery.provider_ref,
    )


def attempted(
    delivery: Delivery,
    state: DeliveryState | None,
    *,
    now: datetime,
    error: str | None = None,
    error_code: int | None = None,
    provider_ref: str | None = None,
    sender: str | None = None,
    repeat_possible: bool = False,
) -> Delivery:
    """The delivery after one more attempt to send it. `state` None is a temporary failure:
    still queued, with the reason on record, to be tried again. `repeat_possible`: this
    attempt may repeat an earlier one that reached the provider (it only ever turns on)."""
    tried = replace(
        delivery,
        attempts=delivery.attempts + 1,
        updated_at=now,
        provider_ref=provider_ref or delivery.provider_ref,
        sender=sender or delivery.sender,
        repeat_possible=delivery.repeat_possible or repeat_possible,
    )
    if state is None:
        return replace(tried, error=error, error_code=error_code)
    return advance(tried, state, now=now, error=error, error_code=error_code) or tried


def newly_failed(before: Delivery | None, after: Delivery) -> bool:
    """Did this change make the delivery undelivered or failed?"""
    failed = (DeliveryState.UNDELIVERED, DeliveryState.FAILED)
    return after.state in failed and (before is None or before.state not in failed)


def masked(address: str) -> str:
    """An address as people may see it: its last four characters only."""
    return "…" + address[-4:] if len(address) > 4 else "…"


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    """The delivery as clients see it (plain JSON values; the address masked)."""
    return {
        "id": delivery.id,
        "recipient_id": delivery.recipient_id,
        "recipient_name": delivery.recipient_name,
        "recipient_kind": delivery.recipient_kind,
        "channel": delivery.channel.value,
        "address": masked(delivery.address),
        "about": delivery.about,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "error": delivery.error,
        "error_code": delivery.error_code,
        "repeat_possible": delivery.repeat_possible,
        "updated_at": delivery.updated_at,
    }


def deliveries_updated(changed: Iterable[Delivery], *, now: datetime) -> list[Notice]:
    """One DeliveriesUpdated notice per alert for a batch of changed deliveries: a console
    learns of a whole round of texts in one message, not one message per recipient."""
    by_alert: dict[str, list[Delivery]] = {}
    for delivery in changed:
        by_alert.setdefault(delivery.alert_id, []).append(delivery)
    return [
        Notice(
            type=NoticeType.DELIVERIES_UPDATED,
            at=now,
            actor=LEDGER_ACTOR,
            school_id=group[0].school_id,
            alert_id=alert_id,
            drill=group[0].drill,
            data={"deliveries": [delivery_view(d) for d in group]},
        )
        for alert_id, group in by_alert.items()
    ]


def delivery_failed(delivery: Delivery, *, now: datetime) -> Notice:
    """The DeliveryFailed notice for one message that did not reach its recipient."""
    return Notice(
        type=NoticeType.DELIVERY_FAILED,
        at=now,
        actor=LEDGER_ACTOR,
        school_id=delivery.school_id,
        alert_id=delivery.alert_id,
        drill=delivery.drill,
        data={"delivery": delivery_view(delivery)},
    )


def ledger_notices(
    changes: Iterable[tuple[Delivery | None, Delivery]], *, now: datetime
) -> list[Notice]:
    """The notices for a batch of ledger changes (before, after): one DeliveriesUpdated per
    alert, and one DeliveryFailed per message that has just failed."""
    pairs = list(changes)
    notices = deliveries_updated([after for _before, after in pairs], now=now)
    notices += [delivery_failed(a, now=now) for b, a in pairs if newly_failed(b, a)]
    return notices
