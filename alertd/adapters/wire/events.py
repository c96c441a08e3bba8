"""The stream's typed event contract: one message model per event type, with its `data`.

`AlertEventMessage` and `NoticeMessage` (in `v1`) are the envelopes; here each event type
gets its own model whose `type` is that one value and whose `data` is that type's payload,
so a client author can generate one class per message and switch on `type`. The wire
contract (`contract.py`) writes a JSON Schema per model, with an example, and the AsyncAPI
document lists them all. Every type of `EventType` and `NoticeType` must have one: a unit
test fails otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from alertd.adapters.wire.roll import RollReminderData, RoomReportedData
from alertd.adapters.wire.v1 import AlertEventMessage, NoticeMessage, _Out
from alertd.core.alert import EventType, ResponderStatus
from alertd.core.delivery import Channel, DeliveryState
from alertd.core.kind import AlertKind
from alertd.core.notice import NoticeType

Json = dict[str, Any]


class NoData(_Out):
    """This event carries nothing in `data` (an empty object): the alert says it all."""


class RaisedData(BaseModel):
    """Empty, except for a device's press that a bridge delivered late: when it was pressed
    (the device's clock) and how many seconds later alertd received it. Both or neither."""

    pressed_at: datetime | None = Field(default=None, description="when the device pressed")
    delay_seconds: int | None = Field(default=None, ge=0, description="how late it arrived")


class ResponderStatusData(_Out):
    status: Literal[ResponderStatus.EN_ROUTE, ResponderStatus.ON_SCENE]


class UpgradeData(_Out):
    from_kind: AlertKind
    to_kind: AlertKind


class DeliveryView(_Out):
    """One message to one recipient, as a notice reports it."""

    id: int
    recipient_id: str
    recipient_name: str
    recipient_kind: str = Field(description="sro, school_admin, agency ...")
    channel: Channel
    address: str = Field(description="masked: the last four digits of a number only")
    about: str = Field(description="the event the message announced, such as AlertRaised")
    state: DeliveryState
    attempts: int
    error: str | None
    error_code: int | None
    repeat_possible: bool = Field(description="an earlier attempt may also have gone out")
    updated_at: datetime


class DeliveriesUpdatedData(_Out):
    deliveries: list[DeliveryView] = Field(description="the messages whose state changed")


class DeliveryFailedData(_Out):
    delivery: DeliveryView


class EscalatedData(BaseModel):
    """A step ran (`step` ... `recipients`), or the escalation stopped (`stopped`); the
    fields of the other case are absent."""

    state: Literal["active", "stopped", "done"]
    step: int | None = Field(default=None, ge=1, description="the step that ran, from 1")
    repeat: int | None = Field(default=None, description="which repeat of the step")
    channel: Channel | None = None
    targets: list[str] | None = Field(default=None, description="the kinds the step names")
    recipients: list[str] | None = Field(default=None, description="who was reached, by name")
    stopped: str | None = Field(default=None, description="why it stopped")


class DeviceHealthData(_Out):
    device_id: str
    device_name: str
    room_id: str | None
    reason: Literal["silent", "low_battery"]
    last_heard_at: datetime
    battery_percent: int | None
    interval_seconds: int = Field(description="how often the device should be heard")


class CameraHealthData(_Out):
    camera_id: str
    reason: str | None = Field(description="why it is offline; null when back online")


class WebhookPausedData(_Out):
    subscription_id: str
    url: str
    failures: int = Field(description="consecutive failed deliveries")
    last_error: str | None


ALERT_EVENT_DATA: Mapping[EventType, type[BaseModel]] = {
    EventType.ALERT_RAISED: RaisedData,
    EventType.ALERT_ACKNOWLEDGED: NoData,
    EventType.RESPONDER_STATUS_REPORTED: ResponderStatusData,
    EventType.ALERT_RESOLVED: NoData,
    EventType.ALERT_CANCELLED: NoData,
    EventType.ALL_CLEAR_GIVEN: NoData,
    EventType.NOTE_ADDED: NoData,
    EventType.ALERT_UPGRADED: UpgradeData,
    EventType.ROOM_REPORTED: RoomReportedData,
    EventType.ROLL_REMINDER: RollReminderData,
}
NOTICE_DATA: Mapping[NoticeType, type[BaseModel]] = {
    NoticeType.DELIVERIES_UPDATED: DeliveriesUpdatedData,
    NoticeType.DELIVERY_FAILED: DeliveryFailedData,
    NoticeType.ESCALATED: EscalatedData,
    NoticeType.DEVICE_TROUBLE: DeviceHealthData,
    NoticeType.DEVICE_RECOVERED: DeviceHealthData,
    NoticeType.CAMERA_OFFLINE: CameraHealthData,
    NoticeType.CAMERA_ONLINE: CameraHealthData,
    NoticeType.WEBHOOK_PAUSED: WebhookPausedData,
}

_ALERT_EVENT_SUMMARY: Mapping[EventType, str] = {
    EventType.ALERT_RAISED: "An alert was raised.",
    EventType.ALERT_ACKNOWLEDGED: "A responder acknowledged the alert.",
    EventType.RESPONDER_STATUS_REPORTED: "A responder is en route or on scene.",
    EventType.ALERT_RESOLVED: "A room-scoped alert was resolved.",
    EventType.ALERT_CANCELLED: "The alert was cancelled (a false alarm); `note` holds why.",
    EventType.ALL_CLEAR_GIVEN: "The all clear was given on a campus-wide alert.",
    EventType.NOTE_ADDED: "A note was added to the timeline (`note`).",
    EventType.ALERT_UPGRADED: "The alert was upgraded to a more severe kind.",
    EventType.ROOM_REPORTED: "A room (or a group) reported its roll: secured or needs help.",
    EventType.ROLL_REMINDER: "Rooms that have not reported their roll were reminded.",
}
_NOTICE_SUMMARY: Mapping[NoticeType, str] = {
    NoticeType.DELIVERIES_UPDATED: "Messages about an alert were queued, sent or delivered.",
    NoticeType.DELIVERY_FAILED: "A message about an alert did not reach its recipient.",
    NoticeType.ESCALATED: "An escalation step ran, or the escalation stopped.",
    NoticeType.DEVICE_TROUBLE: "A device went silent or its battery is low.",
    NoticeType.DEVICE_RECOVERED: "A device in trouble is heard again or is charged.",
    NoticeType.CAMERA_OFFLINE: "A camera's source failed or stalled while people watched.",
    NoticeType.CAMERA_ONLINE: "A camera's source is back.",
    NoticeType.WEBHOOK_PAUSED: "An outbound webhook endpoint failed too often and is paused.",
}


def _message_model(
    name: str, base: type[BaseModel], type_value: str, data: type[BaseModel], summary: str
) -> type[BaseModel]:
    model = create_model(
        name,
        __base__=base,
        __doc__=summary,
        type=(Literal[type_value], Field(description="the event type")),  # type: ignore[arg-type]
        data=(data, Field(description=f"the payload of {type_value}")),
    )
    return model


EVENT_MESSAGES: Mapping[str, type[BaseModel]] = {
    **{
        event.value: _message_model(
            f"{event.value}Message",
            AlertEventMessage,
            event.value,
            data,
            _ALERT_EVENT_SUMMARY[event],
        )
        for event, data in ALERT_EVENT_DATA.items()
    },
    **{
        notice.value: _message_model(
            f"{notice.value}Message", NoticeMessage, notice.value, data, _NOTICE_SUMMARY[notice]
        )
        for notice, data in NOTICE_DATA.items()
    },
}


# --- examples ---------------------------------------------------------------------------

_AT = "2026-09-01T08:00:05Z"
_DISPATCHER = {"id": "u-dee", "name": "Dee Dispatch", "kind": "user", "role": "dispatcher"}
_SYSTEM = {"id": "alertd-ledger", "name": "alertd", "kind": "system", "role": "system"}
_ALERT: Json = {
    "id": "6f1c2f1e-0d4b-4c53-9a57-2b0f5c1d9e01",
    "kind": "lockdown",
    "severity": "extreme",
    "school_id": "lincoln-hs",
    "room_id": "lincoln-hs-a-101",
    "state": "acknowledged",
    "drill": False,
    "destination": None,
    "hazard": None,
    "raised_by": {"id": "u-sam", "name": "Sam Staff", "kind": "user", "role": "staff"},
    "raised_at": "2026-09-01T08:00:00Z",
    "updated_at": _AT,
    "version": 2,
    "responders": [{"actor": _DISPATCHER, "status": "acknowledged", "at": _AT}],
    "cancel_reason": None,
    "source": "app",
    "drill_plan": None,
}
_DELIVERY: Json = {
    "id": 41,
    "recipient_id": "riverside-pd",
    "recipient_name": "Riverside Police Department",
    "recipient_kind": "agency",
    "channel": "sms",
    "address": "***0100",
    "about": "AlertRaised",
    "state": "delivered",
    "attempts": 1,
    "error": None,
    "error_code": None,
    "repeat_possible": False,
    "updated_at": _AT,
}
_DEVICE: Json = {
    "device_id": "btn-101",
    "device_name": "Room 101 button",
    "room_id": "lincoln-hs-a-101",
    "reason": "silent",
    "last_heard_at": "2026-09-01T07:40:00Z",
    "battery_percent": 81,
    "interval_seconds": 300,
}
_DATA_EXAMPLES: Mapping[str, Json] = {
    EventType.RESPONDER_STATUS_REPORTED: {"status": "en_route"},
    EventType.ALERT_UPGRADED: {"from_kind": "staff_assist", "to_kind": "lockdown"},
    EventType.ROOM_REPORTED: {
        "room_id": "lincoln-hs-a-101",
        "group": None,
        "status": "needs_help",
        "students_present": 23,
        "missing": ["J. Doe"],
        "injured": [],
        "extra": ["A. Smith (room 103)"],
    },
    EventType.ROLL_REMINDER: {"room_ids": ["lincoln-hs-a-103"], "since_seconds": 300},
    NoticeType.DELIVERIES_UPDATED: {"deliveries": [_DELIVERY]},
    NoticeType.DELIVERY_FAILED: {
        "delivery": _DELIVERY | {"state": "failed", "error": "unreachable", "error_code": 30003}
    },
    NoticeType.ESCALATED: {
        "state": "active",
        "step": 1,
        "repeat": 0,
        "channel": "sms",
        "targets": ["sro"],
        "recipients": ["Officer Maria Garcia"],
    },
    NoticeType.DEVICE_TROUBLE: _DEVICE,
    NoticeType.DEVICE_RECOVERED: _DEVICE | {"last_heard_at": _AT},
    NoticeType.CAMERA_OFFLINE: {"camera_id": "lincoln-hs-a-1-cam-1", "reason": "stalled"},
    NoticeType.CAMERA_ONLINE: {"camera_id": "lincoln-hs-a-1-cam-1", "reason": None},
    NoticeType.WEBHOOK_PAUSED: {
        "subscription_id": "wh-3",
        "url": "https://cad.example/hooks/alertd",
        "failures": 5,
        "last_error": "HTTP 503",
    },
}


_ABOUT_AN_ALERT = {
    NoticeType.DELIVERIES_UPDATED,
    NoticeType.DELIVERY_FAILED,
    NoticeType.ESCALATED,
}


def example_of(type_value: str) -> Json:
    """A complete, realistic stream message of this type."""
    data = _DATA_EXAMPLES.get(type_value, {})
    if type_value in NoticeType.__members__.values():
        return {
            "id": 1234,
            "type": type_value,
            "alert_id": _ALERT["id"] if type_value in _ABOUT_AN_ALERT else None,
            "school_id": "lincoln-hs",
            "drill": False,
            "at": _AT,
            "actor": _SYSTEM,
            "data": data,
        }
    return {
        "id": 1234,
        "type": type_value,
        "alert_id": _ALERT["id"],
        "school_id": "lincoln-hs",
        "drill": False,
        "at": _AT,
        "actor": _DISPATCHER,
        "note": None,
        "data": data,
        "alert": _ALERT,
    }
