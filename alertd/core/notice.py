"""Notices: the events of the log that are not alert transitions.

The log holds two kinds of event, under one sequence of ids:

- `AlertEvent`: an alert moved (raised, acknowledged, resolved ...). It carries the alert as
  it stood afterwards.
- `Notice`: something else that consoles must learn at once and that replays like any
  event: a text was delivered or failed, a wall button went silent, a camera went offline.
  It may name an alert (a delivery belongs to one) and a school (a device belongs to one).

Who may see a notice is decided by `alertd.core.permission.authorize_event`, from the
permission its type needs (`NOTICE_PERMISSION` there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from alertd.core.actor import Actor
from alertd.core.alert import AlertEvent


class NoticeType(StrEnum):
    # Messages about one alert changed state (see `core.delivery`); one notice per batch.
    DELIVERIES_UPDATED = "DeliveriesUpdated"
    # One message could not be delivered (undelivered or failed), with the reason: a console
    # flags it, since somebody who should know does not.
    DELIVERY_FAILED = "DeliveryFailed"
    # An escalation step ran (nobody had acknowledged), or the escalation stopped.
    ESCALATED = "Escalated"
    # A device went silent past its heartbeat interval, or reports a low battery (see
    # `core.supervision`); an alarm for the console, not a log line.
    DEVICE_TROUBLE = "DeviceTrouble"
    # A device in trouble is heard again, or its battery is no longer low.
    DEVICE_RECOVERED = "DeviceRecovered"
    # A camera's source failed or stalled while people watched (alertd retries it), and
    # when it came back. `data`: camera_id, reason / nothing.
    CAMERA_OFFLINE = "CameraOffline"
    CAMERA_ONLINE = "CameraOnline"
    # An outbound webhook subscription failed too many times in a row and was paused (no
    # more deliveries until an admin resumes it). `data`: subscription_id, url, failures,
    # last_error.
    WEBHOOK_PAUSED = "WebhookPaused"


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice. `data` is the type's payload, plain JSON values only."""

    type: NoticeType
    at: datetime
    actor: Actor
    school_id: str | None
    alert_id: str | None = None
    drill: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)


# Everything the log holds.
DomainEvent = AlertEvent | Notice
