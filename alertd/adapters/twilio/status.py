"""Twilio's message and call statuses, as states of the delivery ledger.

Intermediate statuses (queued, sending, ringing ...) change nothing: the ledger already
says `sent` once Twilio has taken the message. For a call, `delivered` means it was
answered; busy, no answer and canceled mean `undelivered`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from alertd.core.delivery import DeliveryState

MESSAGE_STATES: Mapping[str, DeliveryState] = MappingProxyType(
    {
        "sent": DeliveryState.SENT,
        "delivered": DeliveryState.DELIVERED,
        "read": DeliveryState.DELIVERED,
        "undelivered": DeliveryState.UNDELIVERED,
        "failed": DeliveryState.FAILED,
        "canceled": DeliveryState.FAILED,
    }
)

CALL_STATES: Mapping[str, DeliveryState] = MappingProxyType(
    {
        "in-progress": DeliveryState.DELIVERED,
        "answered": DeliveryState.DELIVERED,
        "completed": DeliveryState.DELIVERED,
        "busy": DeliveryState.UNDELIVERED,
        "no-answer": DeliveryState.UNDELIVERED,
        "canceled": DeliveryState.UNDELIVERED,
        "failed": DeliveryState.FAILED,
    }
)

CALL_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "busy": "the line was busy",
        "no-answer": "nobody answered the call",
        "canceled": "the call was canceled",
        "failed": "the call could not be placed",
    }
)
