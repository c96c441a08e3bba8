"""The wire contract in schemas/: current, complete, and true of what the server really sends."""

from __future__ import annotations

import asyncio
import inspect
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from jsonschema import Draft202012Validator

from alertd.adapters.wire import contract, events
from alertd.adapters.ws import stream
from alertd.core.alert import EventType
from alertd.core.notice import NoticeType
from alertd.settings import Settings
from alertd.testing.auth import token_for
from alertd.testing.events import NOTICE_TYPES
from alertd.testing.stream_contract import StreamContract, closed

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
DEMO_SITE = REPO / "alertd" / "demo" / "demo_district.json"
SCHOOL, ROOM = "lincoln-hs", "lincoln-hs-a-101"
TIMEOUT_SECONDS = 10
MESSAGE_SCHEMAS = {
    "caught_up": "messages/CaughtUpMessage.schema.json",
    "heartbeat": "messages/HeartbeatMessage.schema.json",
    **{event.value: f"messages/{event.value}Message.schema.json" for event in EventType},
    **{notice.value: f"messages/{notice.value}Message.schema.json" for notice in NoticeType},
}

Json = dict[str, Any]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Heartbeats every 0.2 s, so a test sees one without waiting 15 s."""
    return settings.model_copy(update={"stream_heartbeat_seconds": 0.2})


def load(path: str) -> Json:
    loaded: Json = json.loads((SCHEMAS / path).read_text(encoding="utf-8"))
    return loaded


def assert_conforms(instance: Any, schema_path: str) -> None:
    """`instance` is valid against the schema file, and has no field the schema leaves out."""
    validator = Draft202012Validator(closed(load(schema_path)))
    errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.path))
    assert not errors, f"{schema_path} rejects {json.dumps(instance)[:300]}:\n" + "\n".join(
        f"  at {list(error.absolute_path)}: {error.message[:200]}" for error in errors
    )


def type_values(schema: Json) -> set[str]:
    """The values a message schema allows for `type`."""
    field: Json = schema["properties"]["type"]
    if "$ref" in field:
        field = schema["$defs"][field["$ref"].removeprefix("#/$defs/")]
    return set(field["enum"]) if "enum" in field else {field["const"]}


async def raise_acknowledged_noted_alert(http: httpx.AsyncClient) -> str:
    """Raise a drill, acknowledge it and add a note; three events. Returns the alert id."""
    raised = await http.post(
        "/v1/alerts",
        json={"kind": "lockdown", "school_id": SCHOOL, "room_id": ROOM, "drill": True},
        headers={"Idempotency-Key": "wire-contract-test"},
    )
    assert raised.status_code == 201, raised.text
    alert_id: str = raised.json()["id"]
    acknowledged = await http.post(f"/v1/alerts/{alert_id}/acknowledge")
    assert acknowledged.status_code == 200, acknowledged.text
    noted = await http.post(f"/v1/alerts/{alert_id}/notes", json={"text": "door 4 is locked"})
    assert noted.status_code == 200, noted.text
    return alert_id


def test_schema_files_are_what_the_models_generate() -> None:
    drifted = contract.drifted_files(SCHEMAS)
    assert not drifted, (
        f"schemas/ is out of date with the wire models: {drifted}. "
        "Run: .venv/bin/python -m alertd.adapters.wire.contract --write"
    )


def test_every_event_type_has_its_own_typed_message() -> None:
    """A new event or notice type fails here until it has a message model (and so a schema
    with a typed `data` and an example): add it to `alertd/adapters/wire/events.py`."""
    every_type = {t.value for t in EventType} | {t.value for t in NoticeType}
    assert set(events.EVENT_MESSAGES) == every_type
    assert StreamContract().types == every_type | {"caught_up", "heartbeat"}
    for type_value in every_type:
        schema = load(MESSAGE_SCHEMAS[type_value])
        assert type_values(schema) == {type_value}
        assert "$ref" in schema["properties"]["data"], f"{type_value}: data is untyped"


def test_every_message_schema_has_an_example_that_validates() -> None:
    document = load("asyncapi.json")
    for type_value, path in MESSAGE_SCHEMAS.items():
        if type_value in ("caught_up", "heartbeat"):
            continue
        (example,) = load(path)["examples"]
        assert example["type"] == type_value
        assert_conforms(example, path)
        envelope = "NoticeMessage" if type_value in NOTICE_TYPES else "AlertEventMessage"
        assert_conforms(example, f"messages/{envelope}.schema.json")
        message = document["components"]["messages"][f"{type_value}Message"]
        assert message["examples"][0]["payload"] == example


def test_a_message_with_a_wrongly_typed_payload_is_refused() -> None:
    contract_ = StreamContract()
    upgraded = events.example_of("AlertUpgraded")
    assert contract_.problems(upgraded) == []
    assert contract_.problems(upgraded | {"data": {"from_kind": "nothing"}})
    assert contract_.problems(upgraded | {"type": "SomethingNew"}) == [
        "no schema for message type 'SomethingNew'"
    ]


def test_asyncapi_document_describes_the_stream() -> None:
    document = load("asyncapi.json")
    assert document["asyncapi"] == "3.0.0"
    channels = {channel["address"]: channel for channel in document["channels"].values()}
    channel = channels["/v1/stream"]

    messages = document["components"]["messages"]
    assert set(channel["messages"]) == set(messages)
    described_types: set[str] = set()
    for message in messages.values():
        schema_name = message["payload"]["$ref"].removeprefix("#/components/schemas/")
        schema_file = document["components"]["schemas"][schema_name]["$ref"]
        described_types |= type_values(load(schema_file))
    assert described_types == set(MESSAGE_SCHEMAS)

    receive = [op for op in document["operations"].values() if op["action"] == "receive"]
    assert [op["channel"]["$ref"] for op in receive] == ["#/channels/stream"]
    assert len(receive[0]["messages"]) == len(messages)

    query = channel["bindings"]["ws"]["query"]["properties"]
    # The endpoint's query parameters (the actor comes from a dependency, not the query).
    # The token is read by the authenticators, not the endpoint's signature.
    endpoint_parameters = set(inspect.signature(stream.stream).parameters) - {"websocket"}
    endpoint_parameters |= {"access_token"}
    assert set(query) == endpoint_parameters

    for code in (stream.CLOSE_SLOW_CONSUMER, stream.CLOSE_BAD_REQUEST):
        assert f"`{code}`" in channel["description"]
        assert str(code) in channel["x-close-codes"]
    assert "since=<last id>" in channel["description"]


async def test_stream_messages_validate_against_their_schemas(live_url: str) -> None:
    async with asyncio.timeout(TIMEOUT_SECONDS):
        async with httpx.AsyncClient(base_url=live_url) as http:
            token = await token_for(http, "district_admin")
            http.headers["Authorization"] = f"Bearer {token}"
            alert_id = await raise_acknowledged_noted_alert(http)
            stream_url = (
                live_url.replace("http", "ws", 1) + f"/v1/stream?since=0&access_token={token}"
            )
            async with websockets.connect(stream_url) as connection:
                received: list[Json] = []
                while not received or received[-1]["type"] != "caught_up":
                    received.append(json.loads(await connection.recv()))
                more_note = {"text": "all students accounted for"}
                live = await http.post(f"/v1/alerts/{alert_id}/notes", json=more_note)
                assert live.status_code == 200, live.text
                seen: set[str] = {message["type"] for message in received}
                while not {"NoteAdded", "heartbeat", "DeliveriesUpdated"} <= seen:
                    received.append(json.loads(await connection.recv()))
                    seen.add(received[-1]["type"])

    types = [m["type"] for m in received if m["type"] not in NOTICE_TYPES]
    assert types[:4] == ["AlertRaised", "AlertAcknowledged", "NoteAdded", "caught_up"]
    for message in received:
        assert_conforms(message, MESSAGE_SCHEMAS[message["type"]])


async def test_timeline_entries_validate_as_alert_event_messages(
    client: httpx.AsyncClient,
) -> None:
    async with asyncio.timeout(TIMEOUT_SECONDS):
        alert_id = await raise_acknowledged_noted_alert(client)
        detail = await client.get(f"/v1/alerts/{alert_id}")
    assert detail.status_code == 200, detail.text
    timeline = detail.json()["timeline"]
    assert [entry["type"] for entry in timeline] == [
        "AlertRaised",
        "AlertAcknowledged",
        "NoteAdded",
    ]
    for entry in timeline:
        assert_conforms(entry, "messages/AlertEventMessage.schema.json")


def test_demo_site_document_validates_against_the_site_schema() -> None:
    assert_conforms(json.loads(DEMO_SITE.read_text(encoding="utf-8")), "site.schema.json")


async def test_accounts_answers_validate_against_their_schemas(client: httpx.AsyncClient) -> None:
    """The accounts API (the admin pages' contract) sends what schemas/http/ describes."""
    device = {
        "name": "Room 101 button",
        "kind": "wall_button",
        "school_id": SCHOOL,
        "room_id": ROOM,
    }
    user = {
        "email": "contract@lincoln.example",
        "name": "Casey Contract",
        "role": "staff",
        "password": "a long enough password",
        "school_ids": [SCHOOL],
    }
    created = await client.post("/v1/users", json=user)
    answers = {
        "http/UserOut.schema.json": created,
        "http/UserList.schema.json": await client.get("/v1/users"),
        "http/ApiKeyIssued.schema.json": await client.post(
            f"/v1/users/{created.json()['id']}/api-keys", json={"name": "sync"}
        ),
        "http/ApiKeyList.schema.json": await client.get("/v1/api-keys"),
        "http/DeviceSecretOut.schema.json": await client.post("/v1/devices", json=device),
        "http/DeviceList.schema.json": await client.get("/v1/devices", params={"school": SCHOOL}),
        "http/AuditPage.schema.json": await client.get("/v1/audit", params={"limit": "5"}),
        "http/AuditVerificationOut.schema.json": await client.get("/v1/audit/verification"),
        "http/SignInOptions.schema.json": await client.get("/v1/auth/oidc"),
    }
    for schema, answer in answers.items():
        assert answer.status_code in (200, 201), (schema, answer.text)
        assert_conforms(answer.json(), schema)


def test_every_test_checks_the_stream_messages_it_receives() -> None:
    """The conftest's autouse fixture has the websockets clients check each message."""
    from websockets.asyncio.client import ClientConnection
    from websockets.sync.client import ClientConnection as SyncConnection

    assert ClientConnection.recv.__name__ == "checked_async"
    assert SyncConnection.recv.__name__ == "checked_sync"


async def test_roll_answers_and_events_validate_against_their_schemas(
    client: httpx.AsyncClient,
) -> None:
    """The roll's answers, and its events' `data`, are what schemas/http/ describes."""
    raised = await client.post(
        "/v1/alerts",
        json={"kind": "evacuate", "school_id": SCHOOL, "destination": "Field", "drill": True},
        headers={"Idempotency-Key": "contract-roll"},
    )
    alert_id = raised.json()["id"]
    report = {"room_id": ROOM, "status": "needs_help", "students_present": 3, "injured": ["A"]}
    entry = await client.post(f"/v1/alerts/{alert_id}/roll", json=report)
    group = {"group": "Bus 4", "status": "secured", "students_present": 30, "note": "ok"}
    assert (await client.post(f"/v1/alerts/{alert_id}/roll", json=group)).status_code == 201
    roll = await client.get(f"/v1/alerts/{alert_id}/roll")
    for schema, answer in (
        ("http/RollEntryOut.schema.json", entry),
        ("http/RollOut.schema.json", roll),
    ):
        assert answer.status_code in (200, 201), (schema, answer.text)
        assert_conforms(answer.json(), schema)
    assert roll.json()["reunification_sites"], "an evacuation lists its reunification sites"
    timeline = (await client.get(f"/v1/alerts/{alert_id}")).json()["timeline"]
    reports = [e for e in timeline if e["type"] == "RoomReported"]
    assert len(reports) == 2
    for event in reports:
        assert_conforms(event["data"], "http/RoomReportedData.schema.json")
        assert_conforms(event, "messages/AlertEventMessage.schema.json")
