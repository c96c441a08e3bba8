"""The simulated people and buttons, each acting through alertd's public API.

People are `AsyncAlertdClient`s signed in with their own token. The teachers of the rooms
share the teacher's token and one connection pool as wide as the number of rooms, so that
every room's report really runs side by side. Buttons sign every request with their own
secret (`alertd.core.device_signature`, as firmware does): `via: http` posts it to alertd,
`via: mqtt` publishes it for the button bridge (the simulator runs one for the run unless
the scenario says a bridge is already running); its alert is then learned from the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiomqtt
import httpx

from clients.button_bridge import Bridge, BridgeConfig
from clients.button_bridge.envelope import Envelope, request_topic, signed_envelope
from clients.python.asynchronous import AsyncAlertdClient
from clients.python.request import Call, RetryPolicy
from clients.simulator.cast import Cast
from clients.simulator.scenario import RaiseStep, Scenario

RETRY = RetryPolicy(attempts=6, first_delay=0.2, max_delay=2.0)


class Performers:
    """Open with `performers(...)`; closes every client, the MQTT link and the bridge."""

    def __init__(self, url: str, scenario: Scenario, cast: Cast) -> None:
        self.url = url
        self.scenario = scenario
        self.cast = cast
        self.people: dict[str, AsyncAlertdClient] = {}
        self.teachers: AsyncAlertdClient | None = None
        self._http = httpx.AsyncClient(base_url=url, timeout=30)
        self._mqtt: aiomqtt.Client | None = None

    def person(self, name: str) -> AsyncAlertdClient:
        return self.people[name]

    async def press(self, button: str, body: dict[str, Any], now: Any) -> dict[str, Any] | None:
        """The button signs `POST /v1/alerts` with `body` at `now` and sends it its way:
        the alert alertd answered with (http), or None (mqtt: watch the stream for it)."""
        device = self.cast.devices[button]
        envelope = signed_envelope(
            device_id=device.id, secret=device.secret, path="/v1/alerts", body=body, now=now
        )
        if self.scenario.buttons[button].via == "mqtt":
            assert self._mqtt is not None
            await self._mqtt.publish(request_topic(device.id), envelope.to_json(), qos=1)
            return None
        return await self._post_signed(envelope)

    async def _post_signed(self, envelope: Envelope) -> dict[str, Any]:
        delays = RETRY.delays()
        while True:
            try:
                answer = await self._http.post(
                    envelope.path, content=envelope.body.encode(), headers=envelope.headers()
                )
                if answer.status_code < 500:
                    body: dict[str, Any] = answer.json()
                    if answer.status_code >= 300:
                        message = body.get("message", answer.text)
                        raise PressRefused(f"{answer.status_code} {message}")
                    return body
            except httpx.TransportError:
                pass
            delay = next(delays, None)
            if delay is None:
                raise PressRefused("alertd unreachable")
            await asyncio.sleep(delay)

    async def _open(self, stack: contextlib.AsyncExitStack) -> None:
        # Each signs in for itself, so that its access token is renewed on a long run.
        for name, login in self.cast.logins.items():
            client = AsyncAlertdClient(self.url, retry=RETRY, timeout=30)
            self.people[name] = await stack.enter_async_context(client)
            await client.sign_in(login.email, login.password)
        rooms = self.scenario.rooms
        if rooms is not None:
            width = max(1, len(self.cast.rooms))
            limits = httpx.Limits(max_connections=width, max_keepalive_connections=width)
            teachers = AsyncAlertdClient(
                self.url,
                retry=RETRY,
                timeout=60,
                transport=httpx.AsyncHTTPTransport(limits=limits),
            )
            self.teachers = await stack.enter_async_context(teachers)
            login = self.cast.logins[rooms.teacher]
            await teachers.sign_in(login.email, login.password)
        stack.push_async_callback(self._http.aclose)
        mqtt = self.scenario.mqtt
        if mqtt is not None and any(b.via == "mqtt" for b in self.scenario.buttons.values()):
            if mqtt.bridge == "embedded":
                await stack.enter_async_context(
                    _bridge(self.url, mqtt.host, mqtt.port, self.cast.run_id)
                )
            link = aiomqtt.Client(
                mqtt.host, mqtt.port, identifier=f"alertd-simulate-{self.cast.run_id}"
            )
            self._mqtt = await stack.enter_async_context(link)


class PressRefused(Exception):
    """alertd refused a button's signed request (or never answered it)."""


@asynccontextmanager
async def performers(url: str, scenario: Scenario, cast: Cast) -> AsyncIterator[Performers]:
    cast_of = Performers(url, scenario, cast)
    async with contextlib.AsyncExitStack() as stack:
        await cast_of._open(stack)
        yield cast_of


@asynccontextmanager
async def _bridge(url: str, host: str, port: int, run_id: str) -> AsyncIterator[Bridge]:
    """A button bridge from the broker to `url` for the length of the run."""
    with tempfile.TemporaryDirectory(prefix="alertd-simulate-") as directory:
        config = BridgeConfig(
            mqtt_host=host,
            mqtt_port=port,
            alertd_url=url,
            buffer_path=Path(directory) / "bridge-buffer.sqlite3",
            client_id=f"alertd-simulate-bridge-{run_id}",
            retry_max_seconds=1.0,
        )
        bridge = Bridge(config)
        task = asyncio.create_task(bridge.run(), name="simulator-bridge")
        try:
            async with asyncio.timeout(30):
                await bridge.ready.wait()
            yield bridge
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def compact(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


def raise_body(scenario: Scenario, step: RaiseStep) -> dict[str, Any]:
    return compact(
        {
            "kind": step.kind,
            "school_id": scenario.school,
            "room_id": step.room,
            "note": step.note,
            "drill": scenario.drill,
            "destination": step.destination,
            "hazard": step.hazard,
        }
    )


def raise_call(scenario: Scenario, step: RaiseStep, *, idempotency_key: str) -> Call:
    return Call(
        "POST",
        "/v1/alerts",
        json=raise_body(scenario, step),
        headers={"Idempotency-Key": idempotency_key},
    )
