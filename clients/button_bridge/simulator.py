"""A simulated wall button or badge: what real firmware does, for demos and tests.

It holds the device's secret (as a real device does), turns presses into alert kinds with
the press patterns, signs each request, and publishes it on MQTT for the bridge to carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiomqtt

from clients.button_bridge.envelope import Envelope, request_topic, signed_envelope
from clients.button_bridge.pattern import Press, PressPatterns


@dataclass(frozen=True, slots=True)
class SimulatedDevice:
    device_id: str
    secret: str = field(repr=False)
    school_id: str
    patterns: PressPatterns = field(default_factory=PressPatterns)

    def alerts_for(
        self, presses: Sequence[Press], *, now: datetime | None = None
    ) -> list[Envelope]:
        """One signed `POST /v1/alerts` per gesture that means something."""
        at = now or datetime.now(UTC)
        return [
            signed_envelope(
                device_id=self.device_id,
                secret=self.secret,
                path="/v1/alerts",
                body={"kind": kind, "school_id": self.school_id},
                now=at,
            )
            for kind in self.patterns.kinds(presses)
        ]

    def heartbeat(
        self, *, interval_seconds: int, battery_percent: int | None, now: datetime | None = None
    ) -> Envelope:
        body: dict[str, object] = {"interval_seconds": interval_seconds}
        if battery_percent is not None:
            body["battery_percent"] = battery_percent
        return signed_envelope(
            device_id=self.device_id,
            secret=self.secret,
            path="/v1/devices/heartbeat",
            body=body,
            now=now or datetime.now(UTC),
        )


async def publish(host: str, port: int, envelopes: Sequence[Envelope]) -> None:
    """Publish envelopes as their devices would (QoS 1, each on its device's topic)."""
    async with aiomqtt.Client(host, port) as client:
        for envelope in envelopes:
            await client.publish(request_topic(envelope.device_id), envelope.to_json(), qos=1)
