"""Every stream message a test receives is checked against its per-type schema.

`StreamContract` holds a validator per message `type` (each event type's schema from the
wire contract, plus caught_up and heartbeat), closed so that a field the schema leaves out
is an error too. `watch_stream_clients` patches the websockets clients (asyncio and sync)
so that every message received from `/v1/stream` is kept and checked when the test ends
(not while it receives: checking must not slow a console down); the test suite's conftest
turns it on for every test and fails the test on any violation, or on a `type` that has
no schema.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from jsonschema import Draft202012Validator
from websockets.asyncio.client import ClientConnection as AsyncClientConnection
from websockets.sync.client import ClientConnection as SyncClientConnection

from alertd.adapters.wire import contract

STREAM_PATH = "/v1/stream"


def closed(schema: Any) -> Any:
    """A copy in which every object lists all its fields: undeclared fields become errors."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copy = {key: closed(value) for key, value in schema.items()}
    if "properties" in copy and "additionalProperties" not in copy:
        copy["additionalProperties"] = False
    return copy


class StreamContract:
    def __init__(self) -> None:
        rendered = contract.render()
        self._validators: dict[str, Draft202012Validator] = {}
        for model in contract.STREAM_MESSAGES:
            schema = json.loads(rendered[contract.message_schema_path(model)])
            field = schema["properties"]["type"]
            type_value = field.get("const", field.get("default"))
            self._validators[str(type_value)] = Draft202012Validator(closed(schema))

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._validators)

    def problems(self, message: Any) -> list[str]:
        """What is wrong with one stream message; empty when it is valid."""
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return [f"not a stream message: {str(message)[:200]}"]
        validator = self._validators.get(message["type"])
        if validator is None:
            return [f"no schema for message type {message['type']!r}"]
        if validator.is_valid(message):
            return []
        return [
            f"{message['type']} at {list(error.absolute_path)}: {error.message[:200]}"
            for error in validator.iter_errors(message)
        ]


def _path_of(connection: Any) -> str:
    request = getattr(connection, "request", None)
    return str(getattr(request, "path", ""))


class StreamWatch:
    """The stream messages received while watching, each distinct text kept once (many
    consoles receive the same bytes), checked when `problems()` is called, so receiving
    stays as fast as without the watch."""

    def __init__(self, contract_: StreamContract) -> None:
        self._contract = contract_
        self._received: dict[str | bytes, None] = {}

    def keep(self, raw: Any, connection: Any) -> None:
        if isinstance(raw, str | bytes) and _path_of(connection).startswith(STREAM_PATH):
            self._received[raw] = None

    def problems(self) -> list[str]:
        found: list[str] = []
        for raw in self._received:
            try:
                message = json.loads(raw)
            except ValueError:
                found.append(f"not JSON: {raw[:200]!r}")
                continue
            found.extend(self._contract.problems(message))
        return found


@contextlib.contextmanager
def watch_stream_clients(contract_: StreamContract) -> Iterator[StreamWatch]:
    """While open, keep every message websockets clients receive from /v1/stream, to be
    checked with `StreamWatch.problems()`."""
    watch = StreamWatch(contract_)
    async_recv: Callable[..., Any] = AsyncClientConnection.recv
    sync_recv: Callable[..., Any] = SyncClientConnection.recv

    async def checked_async(self: AsyncClientConnection, *args: Any, **kwargs: Any) -> Any:
        raw = await async_recv(self, *args, **kwargs)
        watch.keep(raw, self)
        return raw

    def checked_sync(self: SyncClientConnection, *args: Any, **kwargs: Any) -> Any:
        raw = sync_recv(self, *args, **kwargs)
        watch.keep(raw, self)
        return raw

    setattr(AsyncClientConnection, "recv", checked_async)  # noqa: B010 (overloaded method)
    setattr(SyncClientConnection, "recv", checked_sync)  # noqa: B010
    try:
        yield watch
    finally:
        setattr(AsyncClientConnection, "recv", async_recv)  # noqa: B010
        setattr(SyncClientConnection, "recv", sync_recv)  # noqa: B010
