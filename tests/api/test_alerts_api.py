"""The HTTP API on the embedded default (a real SQLite file), as a client sees it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from alertd.app.ports import AlertFilter
from alertd.testing.auth import headers_for

LINCOLN, ROOM, JEFFERSON_ROOM = "lincoln-hs", "lincoln-hs-a-101", "jefferson-es-a-101"


async def raise_alert(client: httpx.AsyncClient, key: str, **body: Any) -> httpx.Response:
    payload = {"kind": "medical", "school_id": LINCOLN, "room_id": ROOM, **body}
    return await client.post("/v1/alerts", json=payload, headers={"Idempotency-Key": key})


class Snapshot:
    """What the database holds of alerts: how many, and how many events they have had.

    (Not the log head: the relay appends delivery notices in the background.)
    """

    def __init__(self, app: FastAPI) -> None:
        self._store = app.state.context.store

    async def take(self) -> tuple[int, int]:
        alerts = await self._store.list_alerts(AlertFilter(limit=1000))
        return len(alerts), sum(alert.version for alert in alerts)


@pytest.fixture
async def snapshot(app: FastAPI) -> AsyncIterator[Snapshot]:
    yield Snapshot(app)


async def test_raise_answers_201_with_the_alert_and_a_retry_returns_the_same_one(
    client: httpx.AsyncClient,
) -> None:
    first = await raise_alert(client, "press-1", note="student fainted")
    assert first.status_code == 201
    alert = first.json()
    assert (alert["state"], alert["kind"], alert["drill"], alert["severity"]) == (
        "raised",
        "medical",
        False,
        "severe",
    )
    retry = await raise_alert(client, "press-1", note="student fainted")
    assert retry.status_code == 200
    assert retry.json()["id"] == alert["id"]
    detail = (await client.get(f"/v1/alerts/{alert['id']}")).json()
    assert [e["type"] for e in detail["timeline"]] == ["AlertRaised"]
    assert detail["timeline"][0]["note"] == "student fainted"


async def test_the_same_key_with_a_different_body_is_refused(
    client: httpx.AsyncClient, snapshot: Snapshot
) -> None:
    await raise_alert(client, "press-2")
    before = await snapshot.take()
    reused = await raise_alert(client, "press-2", kind="fire")
    assert reused.status_code == 422
    assert reused.json()["field"] == "Idempotency-Key"
    assert await snapshot.take() == before


async def test_a_full_lifecycle_is_recorded_in_order(client: httpx.AsyncClient) -> None:
    alert_id = (await raise_alert(client, "press-3")).json()["id"]
    sro = await headers_for(client, "sro")
    steps = [
        ("acknowledge", {"note": "on my way"}, "acknowledged"),
        ("status", {"status": "en_route"}, "responding"),
        ("status", {"status": "on_scene"}, "responding"),
        ("notes", {"text": "nurse is here"}, "responding"),
        ("resolve", {"note": "student is fine"}, "resolved"),
    ]
    for action, body, state in steps:
        answer = await client.post(f"/v1/alerts/{alert_id}/{action}", json=body, headers=sro)
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == state
    detail = (await client.get(f"/v1/alerts/{alert_id}")).json()
    assert [e["type"] for e in detail["timeline"]] == [
        "AlertRaised",
        "AlertAcknowledged",
        "ResponderStatusReported",
        "ResponderStatusReported",
        "NoteAdded",
        "AlertResolved",
    ]
    ids = [e["id"] for e in detail["timeline"]]
    assert ids == sorted(ids)
    assert {e["actor"]["role"] for e in detail["timeline"][1:]} == {"sro"}
    assert detail["responders"] == [
        {
            "actor": detail["responders"][0]["actor"],
            "status": "on_scene",
            "at": detail["updated_at"],
        }
        | {"at": detail["responders"][0]["at"]}
    ]


async def test_campus_wide_alerts_end_with_an_all_clear_and_can_be_upgraded(
    client: httpx.AsyncClient,
) -> None:
    alert_id = (await raise_alert(client, "press-4", kind="staff_assist")).json()["id"]
    upgraded = await client.post(f"/v1/alerts/{alert_id}/upgrade", json={"kind": "lockdown"})
    assert upgraded.json()["kind"] == "lockdown"
    assert upgraded.json()["id"] == alert_id
    sro = await headers_for(client, "sro")
    await client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=sro)
    resolved = await client.post(f"/v1/alerts/{alert_id}/resolve", headers=sro)
    assert resolved.status_code == 409
    clear = await client.post(
        f"/v1/alerts/{alert_id}/all-clear", json={"note": "building swept"}, headers=sro
    )
    assert clear.json()["state"] == "all_clear"


async def test_cancel_needs_a_reason_and_then_the_alert_is_closed(
    client: httpx.AsyncClient,
) -> None:
    alert_id = (await raise_alert(client, "press-5")).json()["id"]
    missing = await client.post(f"/v1/alerts/{alert_id}/cancel", json={})
    assert (missing.status_code, missing.json()["field"]) == (422, "reason")
    done = await client.post(f"/v1/alerts/{alert_id}/cancel", json={"reason": "false alarm"})
    assert (done.json()["state"], done.json()["cancel_reason"]) == ("cancelled", "false alarm")


async def test_list_filters_by_school_state_kind_drill_and_time(client: httpx.AsyncClient) -> None:
    medical = (await raise_alert(client, "f-1")).json()
    drill = (await raise_alert(client, "f-2", kind="fire", drill=True)).json()
    other = (
        await raise_alert(client, "f-3", school_id="jefferson-es", room_id=JEFFERSON_ROOM)
    ).json()
    await client.post(f"/v1/alerts/{medical['id']}/acknowledge")

    async def ids(**params: Any) -> set[str]:
        answer = await client.get("/v1/alerts", params=params)
        assert answer.status_code == 200, answer.text
        return {a["id"] for a in answer.json()["alerts"]}

    assert await ids(school=LINCOLN) == {medical["id"], drill["id"]}
    assert await ids(state="acknowledged") == {medical["id"]}
    assert await ids(kind="fire") == {drill["id"]}
    assert await ids(drill="true") == {drill["id"]}
    assert await ids(drill="false") == {medical["id"], other["id"]}
    assert await ids(raised_after=medical["raised_at"]) == {medical["id"], drill["id"], other["id"]}
    assert await ids(raised_before=medical["raised_at"]) == set()


async def test_schools_and_their_site_tree(client: httpx.AsyncClient) -> None:
    schools = (await client.get("/v1/schools")).json()["schools"]
    assert {s["id"] for s in schools} == {"lincoln-hs", "jefferson-es"}
    tree = (await client.get(f"/v1/schools/{LINCOLN}")).json()
    floors = [f for b in tree["buildings"] for f in b["floors"]]
    rooms = [r for f in floors for r in f["rooms"]]
    assert len(tree["buildings"]) == 2 and len(floors) >= 3 and len(rooms) >= 40
    assert all({"id", "name", "floor", "geometry"} <= set(r) for r in rooms)
    assert all(f["outline"]["type"] == "Polygon" for f in floors)
    assert "contacts" not in tree  # SROs' phone numbers are not for every viewer
    cameras = [c for f in floors for c in f["cameras"]]
    assert len(cameras) >= 2 and all(
        set(c["room_ids"]) <= {r["id"] for r in rooms} for c in cameras
    )


async def test_a_site_document_can_be_loaded_through_the_api(client: httpx.AsyncClient) -> None:
    square = {
        "type": "Polygon",
        "coordinates": [
            [[-93.0, 45.0], [-92.999, 45.0], [-92.999, 45.001], [-93.0, 45.001], [-93.0, 45.0]]
        ],
    }
    document = {
        "version": 1,
        "district": {"id": "small-district", "name": "Small District"},
        "schools": [
            {
                "id": "tiny-es",
                "name": "Tiny Elementary",
                "timezone": "America/Chicago",
                "buildings": [
                    {
                        "id": "tiny-main",
                        "name": "Main",
                        "floors": [
                            {
                                "id": "tiny-main-1",
                                "name": "Floor 1",
                                "ordinal": 0,
                                "outline": square,
                                "rooms": [
                                    {
                                        "id": "tiny-101",
                                        "number": "101",
                                        "name": "Room 101",
                                        "type": "classroom",
                                        "geometry": square,
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    loaded = await client.post("/v1/sites", json=document)
    assert loaded.status_code == 200, loaded.text
    assert loaded.json() == {"district_id": "small-district", "schools": ["tiny-es"], "rooms": 1}
    raised = await raise_alert(client, "tiny-1", school_id="tiny-es", room_id="tiny-101")
    assert raised.status_code == 201
    room = document["schools"][0]["buildings"][0]["floors"][0]["rooms"][0]
    room["id"] = ROOM  # a room id that already belongs to Lincoln High
    taken = await client.post("/v1/sites", json=document)
    assert (taken.status_code, taken.json()["field"]) == (422, "schools")
    tree = (await client.get("/v1/schools/tiny-es")).json()
    assert tree["buildings"][0]["floors"][0]["rooms"][0]["id"] == "tiny-101"  # unchanged
    room["id"] = "tiny-101"
    broken = json.loads(json.dumps(document))
    broken["schools"][0]["buildings"][0]["floors"][0]["outline"]["coordinates"] = [None]
    answer = await client.post("/v1/sites", json=broken)  # found by the fuzzer: it was a 500
    assert answer.status_code == 422
    room["type"] = "dungeon"
    bad = await client.post("/v1/sites", json=document)
    assert bad.status_code == 422
    assert "type" in bad.json()["field"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"school_id": "no-such-school"}, "school_id"),
        ({"room_id": "no-such-room"}, "room_id"),
        ({"room_id": JEFFERSON_ROOM}, "room_id"),  # a room of another school
        ({"kind": "zombie"}, "kind"),
        ({"kind": "evacuate"}, "destination"),
        ({"kind": "shelter"}, "hazard"),
        ({"note": "x" * 2001}, "note"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_input_gets_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, snapshot: Snapshot, body: dict[str, Any], field: str
) -> None:
    before = await snapshot.take()
    answer = await raise_alert(client, f"bad-{field}", **body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert answer.json()["error"] == "validation_failed"
    assert await snapshot.take() == before
    # The key was not used up: the corrected request still goes through.
    fixed = await raise_alert(client, f"bad-{field}")
    assert fixed.status_code == 201


async def test_a_missing_idempotency_key_is_named(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/alerts", json={"kind": "medical", "school_id": LINCOLN})
    assert (answer.status_code, answer.json()["field"]) == (422, "Idempotency-Key")


async def test_malformed_json_gets_422(client: httpx.AsyncClient, snapshot: Snapshot) -> None:
    before = await snapshot.take()
    answer = await client.post(
        "/v1/alerts",
        content=b'{"kind": "medical", "school_id": ',
        headers={"Idempotency-Key": "broken", "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "body"
    assert await snapshot.take() == before


async def test_an_oversized_body_gets_413(client: httpx.AsyncClient, snapshot: Snapshot) -> None:
    before = await snapshot.take()
    answer = await raise_alert(client, "huge", note="x" * 100_000)
    assert answer.status_code == 413
    assert answer.json()["field"] == "body"
    assert await snapshot.take() == before


async def test_an_oversized_chunked_body_gets_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"kind": "medical", "note": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    answer = await client.post(
        "/v1/alerts",
        content=chunks(),
        headers={"Idempotency-Key": "chunked", "Content-Type": "application/json"},
    )
    assert answer.status_code == 413


async def test_an_unknown_alert_gets_404(client: httpx.AsyncClient) -> None:
    for answer in (
        await client.get("/v1/alerts/00000000-0000-0000-0000-000000000000"),
        await client.post("/v1/alerts/00000000-0000-0000-0000-000000000000/acknowledge"),
    ):
        assert answer.status_code == 404
        assert answer.json()["error"] == "not_found"


async def test_an_illegal_transition_gets_409_with_the_current_state(
    client: httpx.AsyncClient, snapshot: Snapshot
) -> None:
    alert_id = (await raise_alert(client, "illegal")).json()["id"]
    await client.post(f"/v1/alerts/{alert_id}/cancel", json={"reason": "false alarm"})
    before = await snapshot.take()
    answer = await client.post(f"/v1/alerts/{alert_id}/acknowledge")
    assert answer.status_code == 409
    assert answer.json()["current_state"] == "cancelled"
    assert "cancelled" in answer.json()["message"]
    assert await snapshot.take() == before


async def test_operations_endpoints(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json()["database"] == "up"
    await raise_alert(client, "metric-1", kind="fire", drill=True)
    metrics = (await client.get("/metrics")).text
    assert 'alertd_alerts_raised_total{drill="True",kind="fire"} 1.0' in metrics
    assert "alertd_stream_clients" in metrics
    assert "alertd_stream_replay_lag_events" in metrics
    docs = await client.get("/openapi.json")
    assert "/v1/alerts/{alert_id}/all-clear" in docs.json()["paths"]
