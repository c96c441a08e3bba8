"""The wire contract as files: JSON Schemas and an AsyncAPI document, generated from `v1`.

`schemas/` at the repository root holds exactly what `render()` returns, and a unit test
fails when the two differ. After changing a wire model, regenerate from the repository root:

    python -m alertd.adapters.wire.contract --write   # rewrite schemas/
    python -m alertd.adapters.wire.contract --check   # exit 1 and list the drifted files

The output is deterministic (sorted keys, two-space indent, one trailing newline), so a
regenerated tree differs from the committed one only where a model changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from alertd.adapters.wire import accounts, roll, v1
from alertd.adapters.wire.site import SiteDocument

Json = dict[str, Any]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID_BASE = f"https://alertd.dev/schemas/v{v1.WIRE_VERSION}/"
ASYNCAPI_PATH = "asyncapi.json"
SITE_SCHEMA_PATH = "site.schema.json"
STREAM_ADDRESS = "/v1/stream"
STREAM_MESSAGES: tuple[type[BaseModel], ...] = (
    v1.AlertEventMessage,
    v1.NoticeMessage,
    v1.CaughtUpMessage,
    v1.HeartbeatMessage,
)
CLOSE_CODES = {int(code): meaning for code, meaning in v1.STREAM_CLOSE_MEANINGS.items()}

STREAM_PROTOCOL = f"""\
Every message is one JSON object with an integer `id` and a string `type`. The server
ignores anything the client sends.

**Replay, then live.** Connect with `since=<event id>` (0 for the whole log): the server
sends every event whose id is greater, in id order, then exactly one `caught_up` (`CaughtUpMessage`;
`replayed` counts the events just sent), then live events as they are committed. Without
`since` nothing is replayed: `caught_up` comes first, with the id of the head of the log.

**Two kinds of event** share the log and its ids. `AlertEventMessage`: an alert moved
(its `type` is the event type, such as `AlertRaised`, and `alert` is the alert as it stood
afterwards). `NoticeMessage`: anything else consoles must learn at once, such as
`DeliveriesUpdated` (texts about an alert were recorded, sent, delivered or failed). Tell
them apart by `type`.

**No gap, no duplicate.** Event ids only increase. Every event after `since` that passes the
`school` filter and the client's permissions is sent exactly once, across the boundary
between replay and live. Ids skip where events were filtered out.

**Heartbeats.** After `stream_heartbeat_seconds` (15 by default) without a message, the
server sends a `heartbeat` (`HeartbeatMessage`). A client that hears nothing for several
intervals should treat the connection as dead and reconnect.

**Resuming.** The `id` of every message, of any type, is the last event id the stream has
passed (sent or filtered out). Keep the `id` of the last message received; after any close
or network failure, reconnect with `since=<that id>` and the same `school` filter. Nothing
is missed and nothing is repeated.

**Close codes.**
{chr(10).join(f"- `{code}` {meaning}" for code, meaning in sorted(CLOSE_CODES.items()))}
- Any other close (such as 1001 when the server shuts down, or 1006 when the network
  fails): reconnect with backoff and `since=<last id>`.

**Who may listen.** Sign in first (`POST /v1/auth/token`) and pass the bearer token as the
`access_token` query parameter (browsers may use the session cookie instead). Each client
gets only the events of alerts it may view: the schools of its role (a dispatcher: those its
agency covers) and, for staff, their own alerts and campus-wide instructions; and only the
notices its role may see (deliveries: responders, drill coordinators and admins).
"""

STREAM_QUERY: Json = {
    "type": "object",
    "properties": {
        "since": {
            "type": "integer",
            "minimum": 0,
            "description": "Replay the events with a greater id, then go live. Omit to get "
            "live events only. To resume, the `id` of the last message received.",
        },
        "access_token": {
            "type": "string",
            "description": "A bearer token from POST /v1/auth/token. Without it (or a "
            "session cookie) the stream closes with 4401.",
        },
        "school": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Only events of these schools; repeat the parameter "
            "(`school=a&school=b`). Omit for every school. Unknown ids match nothing.",
        },
    },
}


def message_schema_path(model: type[BaseModel]) -> str:
    """Where a stream message's schema lives, relative to `schemas/`."""
    return f"messages/{model.__name__}.schema.json"


def json_schema(model: type[BaseModel], *, path: str, mode: JsonSchemaMode) -> Json:
    """A self-contained JSON Schema (2020-12) document for `model`, identified by `path`.

    Use `mode="serialization"` for what the server sends, `"validation"` for what it accepts.
    """
    schema = model.model_json_schema(mode=mode)
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": SCHEMA_ID_BASE + path, **schema}


def asyncapi_document() -> Json:
    """The AsyncAPI 3.0.0 description of `/v1/stream`; payloads refer to the schema files."""
    names = [model.__name__ for model in STREAM_MESSAGES]
    messages = {
        model.__name__: {
            "name": model.__name__,
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        }
        for model in STREAM_MESSAGES
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "alertd event stream",
            "version": str(v1.WIRE_VERSION),
            "description": "Every change to every alert, in order, over one WebSocket. "
            "See the `stream` channel for the protocol.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:8000",
                "protocol": "ws",
                "description": "`alertd serve` with default settings; use wss behind TLS.",
            }
        },
        "channels": {
            "stream": {
                "address": STREAM_ADDRESS,
                "title": "Alert event stream",
                "description": STREAM_PROTOCOL,
                "servers": [{"$ref": "#/servers/local"}],
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
                "bindings": {
                    "ws": {"bindingVersion": "0.1.0", "method": "GET", "query": STREAM_QUERY}
                },
                "x-close-codes": {str(code): text for code, text in CLOSE_CODES.items()},
            }
        },
        "operations": {
            "receiveStream": {
                "action": "receive",
                "title": "Follow alert events",
                "summary": "Replay after `since`, one caught_up, then live events and heartbeats.",
                "channel": {"$ref": "#/channels/stream"},
                "messages": [{"$ref": f"#/channels/stream/messages/{name}"} for name in names],
            }
        },
        "components": {
            "schemas": {
                model.__name__: {"$ref": message_schema_path(model)} for model in STREAM_MESSAGES
            },
            "messages": messages,
        },
    }


def http_schema_path(model: type[BaseModel]) -> str:
    """Where an HTTP body's schema lives (the accounts API), relative to `schemas/`."""
    return f"http/{model.__name__}.schema.json"


def render() -> dict[str, str]:
    """Every generated file, as text, keyed by its path relative to `schemas/`."""
    documents = {
        ASYNCAPI_PATH: asyncapi_document(),
        SITE_SCHEMA_PATH: json_schema(SiteDocument, path=SITE_SCHEMA_PATH, mode="validation"),
    }
    for model in STREAM_MESSAGES:
        path = message_schema_path(model)
        documents[path] = json_schema(model, path=path, mode="serialization")
    for model in (*accounts.HTTP_MODELS, *roll.HTTP_MODELS):
        path = http_schema_path(model)
        mode: JsonSchemaMode = "validation" if model.__name__.endswith("In") else "serialization"
        if model is accounts.SecondFactorCode:
            mode = "validation"
        documents[path] = json_schema(model, path=path, mode=mode)
    return {
        path: json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for path, document in sorted(documents.items())
    }


def _json_files_under(out: Path) -> set[str]:
    return {path.relative_to(out).as_posix() for path in out.rglob("*.json")}


def drifted_files(out: Path) -> list[str]:
    """Paths under `out` that differ from `render()`: changed, missing, or no longer made."""
    rendered = render()
    changed = [
        path
        for path, text in rendered.items()
        if not (out / path).is_file() or (out / path).read_text(encoding="utf-8") != text
    ]
    stale = _json_files_under(out) - rendered.keys() if out.is_dir() else set()
    return sorted({*changed, *stale})


def write_files(out: Path) -> None:
    """Make `out` hold exactly the rendered files; other `.json` files there are deleted."""
    rendered = render()
    for path, text in rendered.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text, encoding="utf-8", newline="\n")
    for path in _json_files_under(out) - rendered.keys():
        (out / path).unlink()


def main(argv: Sequence[str] | None = None) -> int:
    """Write or check `schemas/`. Returns the exit status: 1 when `--check` finds drift."""
    parser = argparse.ArgumentParser(
        prog="python -m alertd.adapters.wire.contract",
        description="Generate the wire contract (JSON Schemas, AsyncAPI) from the models.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the files in --out")
    action.add_argument("--check", action="store_true", help="exit 1 if --out has drifted")
    parser.add_argument("--out", type=Path, default=Path("schemas"), help="default: schemas")
    args = parser.parse_args(argv)
    out: Path = args.out
    if args.write:
        write_files(out)
        return 0
    drifted = drifted_files(out)
    for path in drifted:
        print(f"drifted: {out / path}", file=sys.stderr)
    if drifted:
        print("run: python -m alertd.adapters.wire.contract --write", file=sys.stderr)
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main())
