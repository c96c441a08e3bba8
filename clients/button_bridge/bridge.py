"""The bridge's two loops: MQTT in (to the disk buffer), HTTP out (from the buffer to alertd).

- `receive`: subscribes to `alertd/devices/+/request` (QoS 1), checks each message's shape
  (`envelope.parse`), and stores it in the buffer. A malformed message is logged and dropped;
  it never reaches alertd and never raises anything. A message is acknowledged to the broker
  only once it is on disk, and the session is persistent (clean_session off), so messages
  published while the bridge is down or restarting wait at the broker and are not lost.
  Reconnects to the broker when it drops.
- `forward`: sends the buffer's pending messages to alertd, oldest first, as the exact
  requests the devices signed. 2xx: delivered. A permanent 4xx (a forged signature, a
  replayed nonce, a stale timestamp, a body alertd rejects): refused, kept with the answer,
  never retried. alertd unreachable, 5xx, 408 or 429: kept, retried with back-off, so presses
  made while alertd is down arrive when it is back, each exactly once (Idempotency-Key).

Each request goes with the Idempotency-Key `<device id>.<nonce>`, which binds it to its signed
nonce: alertd then accepts it after a crash that spent the nonce before the alert was
committed, and however late, up to alertd's `device_buffer_max_age_hours`; the alert says
how late it arrived. Only a press buffered longer than that is refused as stale. (A retry
whose first answer was lost after alertd committed is refused as a replay and kept as
`refused`: its alert exists.)
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import httpx
import paho.mqtt.client as mqtt

from clients.button_bridge.buffer import DeliveryBuffer, MessageState, Stored
from clients.button_bridge.envelope import SUBSCRIPTION, EnvelopeRefused, parse

logger = logging.getLogger(__name__)

RETRYABLE = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    mqtt_host: str
    mqtt_port: int
    alertd_url: str
    buffer_path: Path
    client_id: str = "alertd-button-bridge"
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    retry_min_seconds: float = 0.5
    retry_max_seconds: float = 10.0
    request_timeout_seconds: float = 10.0


class Bridge:
    """Run with `run()` until cancelled. `ready` is set once subscribed to the broker."""

    def __init__(self, config: BridgeConfig) -> None:
        self._config = config
        self.buffer = DeliveryBuffer(config.buffer_path)
        self._wake = asyncio.Event()
        self.ready = asyncio.Event()

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.receive(), name="bridge-receive")
                group.create_task(self.forward(), name="bridge-forward")
        finally:
            self.buffer.close()

    async def receive(self) -> None:
        """MQTT in, forever; reconnects with back-off when the broker goes away."""
        config = self._config
        pause = config.retry_min_seconds
        while True:
            try:
                client = aiomqtt.Client(
                    config.mqtt_host,
                    config.mqtt_port,
                    identifier=config.client_id,
                    username=config.mqtt_username,
                    password=config.mqtt_password,
                    clean_session=False,  # the broker keeps QoS 1 messages while we are away
                )
                _paho(client).manual_ack_set(True)
                async with client:
                    await client.subscribe(SUBSCRIPTION, qos=1)
                    logger.info("subscribed to %s", SUBSCRIPTION)
                    self.ready.set()
                    pause = config.retry_min_seconds
                    async for message in client.messages:
                        self.accept(str(message.topic), _payload(message.payload))
                        # Acknowledged only once on disk: a bridge killed in between gets
                        # the message again from the broker, and the buffer keeps it once.
                        _paho(client).ack(message.mid, message.qos)
            except aiomqtt.MqttError as error:
                self.ready.clear()
                logger.warning("MQTT broker unreachable (%s); retrying in %.1f s", error, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, config.retry_max_seconds)

    def accept(self, topic: str, payload: bytes) -> None:
        """Store one MQTT message for delivery, or drop it if it is not a device request."""
        try:
            envelope = parse(topic, payload)
        except EnvelopeRefused as refusal:
            logger.warning("dropped a message on %s: %s", topic, refusal)
            return
        if self.buffer.add(envelope):
            self._wake.set()
        else:
            logger.info("device %s repeated a message: already queued", envelope.device_id)

    async def forward(self) -> None:
        """Buffer out to alertd, forever."""
        config = self._config
        pause = config.retry_min_seconds
        async with httpx.AsyncClient(
            base_url=config.alertd_url, timeout=config.request_timeout_seconds
        ) as http:
            while True:
                self._wake.clear()
                delivered_all = True
                for stored in self.buffer.pending():
                    if not await self._send(http, stored):
                        delivered_all = False
                        break
                if delivered_all:
                    pause = config.retry_min_seconds
                    await self._wake.wait()
                else:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, config.retry_max_seconds)

    async def _send(self, http: httpx.AsyncClient, stored: Stored) -> bool:
        """Send one message; False when alertd did not give a final answer (retry later)."""
        envelope = stored.envelope
        self.buffer.attempted(stored.id)
        try:
            answer = await http.request(
                envelope.method,
                envelope.path,
                content=envelope.body.encode("utf-8"),
                headers=envelope.headers(),
            )
        except httpx.TransportError as error:
            logger.warning(
                "alertd unreachable (%s); %s kept for retry",
                type(error).__name__,
                envelope.idempotency_key,
            )
            return False
        status = answer.status_code
        if status < 300:
            self.buffer.settle(stored.id, MessageState.DELIVERED, status=status, answer=answer.text)
            return True
        if 400 <= status < 500 and status not in RETRYABLE:
            logger.warning(
                "alertd refused %s from device %s: %s %s",
                envelope.path, envelope.device_id, status, answer.text[:200],
            )  # fmt: skip
            self.buffer.settle(stored.id, MessageState.REFUSED, status=status, answer=answer.text)
            return True
        logger.warning("alertd answered %s; %s kept for retry", status, envelope.idempotency_key)
        return False


def _paho(client: aiomqtt.Client) -> mqtt.Client:
    """aiomqtt's underlying paho client: aiomqtt has no manual acknowledgement of its own."""
    return client._client


def _payload(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return b""
