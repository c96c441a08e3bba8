"""Device supervision rules (core/supervision.py): when a device is an alarm, and only once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertd.core.actor import Actor, ActorKind
from alertd.core.errors import ValidationFailed
from alertd.core.notice import NoticeType
from alertd.core.supervision import Heartbeat, fell_silent, heard

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DEVICE = Actor(id="device:btn-1", name="Button A-204", kind=ActorKind.DEVICE, role="device")


def beat(*, interval: int = 60, battery: int | None = 80) -> Heartbeat:
    return Heartbeat("btn-1", "Button A-204", "lincoln-hs", "lincoln-hs-a-204",
                     timedelta(seconds=interval), battery)  # fmt: skip


def test_a_device_heard_in_time_is_no_alarm_and_one_overdue_is_one_alarm() -> None:
    health, notices = heard(None, beat(), now=T0, low_battery_percent=20, actor=DEVICE)
    assert notices == []
    assert fell_silent(health, now=T0 + timedelta(seconds=59)) == (health, [])

    silent, [trouble] = fell_silent(health, now=T0 + timedelta(seconds=60))
    assert trouble.type is NoticeType.DEVICE_TROUBLE
    assert (trouble.data["reason"], trouble.data["room_id"], trouble.school_id) == (
        "silent", "lincoln-hs-a-204", "lincoln-hs",
    )  # fmt: skip
    assert fell_silent(silent, now=T0 + timedelta(hours=1)) == (silent, [])  # once per silence

    back, [recovered] = heard(silent, beat(), now=T0 + timedelta(hours=2),
                              low_battery_percent=20, actor=DEVICE)  # fmt: skip
    assert recovered.type is NoticeType.DEVICE_RECOVERED and not back.silent


def test_a_low_battery_is_one_alarm_per_low_spell() -> None:
    low, [trouble] = heard(None, beat(battery=20), now=T0, low_battery_percent=20, actor=DEVICE)
    assert trouble.data["reason"] == "low_battery"
    still_low, again = heard(low, beat(battery=15), now=T0, low_battery_percent=20, actor=DEVICE)
    assert again == []
    _, [recovered] = heard(still_low, beat(battery=90), now=T0, low_battery_percent=20,
                           actor=DEVICE)  # fmt: skip
    assert (recovered.type, recovered.data["reason"]) == (
        NoticeType.DEVICE_RECOVERED,
        "low_battery",
    )


@pytest.mark.parametrize(("interval", "battery", "field"), [
    (0, 50, "interval_seconds"), (86401, 50, "interval_seconds"), (60, 101, "battery_percent"),
])  # fmt: skip
def test_an_impossible_heartbeat_is_refused_naming_the_field(
    interval: int, battery: int, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        heard(None, beat(interval=interval, battery=battery), now=T0, low_battery_percent=20,
              actor=DEVICE)  # fmt: skip
    assert refused.value.field == field
