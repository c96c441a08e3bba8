"""CAP 1.2: every message alertd emits validates against the OASIS schema, says what the
alert is (real or drill, alert, update or cancel, the SRP response, where), and only the
people who may read CAP get it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from lxml import etree

from alertd.testing.auth import headers_for

SCHEMA_PATH = Path(__file__).parents[2] / "schemas" / "cap" / "CAP-v1.2.xsd"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"
SCHOOL, ROOM = "lincoln-hs", "lincoln-hs-a-101"


@pytest.fixture(scope="module")
def cap_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def valid(schema: etree.XMLSchema, alert: Any) -> Any:
    """The `<alert>` element, after checking it against the OASIS schema."""
    document = etree.ElementTree(alert)
    assert schema.validate(document), schema.error_log
    return alert


async def latest_cap(client: httpx.AsyncClient, schema: etree.XMLSchema, alert_id: str) -> Any:
    answer = await client.get(f"/v1/alerts/{alert_id}/cap")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/cap+xml")
    return valid(schema, etree.fromstring(answer.content))


def text(element: Any, path: str) -> str:
    found = element.find(path.replace("cap:", CAP))
    assert found is not None, f"{path} missing"
    return str(found.text)


def texts(element: Any, path: str) -> list[str]:
    return [str(e.text) for e in element.findall(path.replace("cap:", CAP))]


def pairs(element: Any, path: str) -> dict[str, str]:
    return {
        text(e, "cap:valueName"): text(e, "cap:value")
        for e in element.findall(path.replace("cap:", CAP))
    }


async def raise_alert(client: httpx.AsyncClient, key: str, **body: Any) -> str:
    payload = {"kind": "lockdown", "school_id": SCHOOL} | body
    answer = await client.post("/v1/alerts", json=payload, headers={"Idempotency-Key": key})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def act(client: httpx.AsyncClient, alert_id: str, action: str, **body: Any) -> None:
    answer = await client.post(f"/v1/alerts/{alert_id}/{action}", json=body or None)
    assert answer.status_code == 200, answer.text


async def test_a_real_lockdown_its_update_and_its_all_clear_are_valid_cap(
    client: httpx.AsyncClient, cap_schema: etree.XMLSchema
) -> None:
    alert_id = await raise_alert(client, "cap-real")
    raised = await latest_cap(client, cap_schema, alert_id)
    assert text(raised, "cap:status") == "Actual"
    assert text(raised, "cap:msgType") == "Alert"
    assert text(raised, "cap:scope") == "Restricted"
    assert text(raised, "cap:restriction")
    assert raised.find(f"{CAP}references") is None
    assert raised.find(f"{CAP}note") is None
    info = raised.find(f"{CAP}info")
    assert texts(info, "cap:category") == ["Security"]
    assert text(info, "cap:event") == "Lockdown"
    assert texts(info, "cap:responseType") == ["Shelter"]
    assert (text(info, "cap:urgency"), text(info, "cap:severity")) == ("Immediate", "Extreme")
    assert text(info, "cap:certainty") == "Observed"
    assert text(info, "cap:instruction") == "LOCKDOWN: locks, lights, out of sight."
    assert text(info, "cap:headline") == "LOCKDOWN at Lincoln High School"
    assert text(info, "cap:senderName").startswith("Lincoln High School")
    area = info.find(f"{CAP}area")
    assert "1200 Lincoln Ave" in text(area, "cap:areaDesc")
    assert texts(area, "cap:polygon") and texts(area, "cap:circle")  # the buildings' outline
    first_sent = text(raised, "cap:sent")
    assert first_sent.endswith("-00:00")

    dispatcher = await headers_for(client, "dispatcher")
    answer = await client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=dispatcher)
    assert answer.status_code == 200
    update = await latest_cap(client, cap_schema, alert_id)
    assert text(update, "cap:msgType") == "Update"
    assert text(update, "cap:identifier") != text(raised, "cap:identifier")
    reference = f"{text(raised, 'cap:sender')},{text(raised, 'cap:identifier')},{first_sent}"
    assert text(update, "cap:references") == reference
    assert "Dee Dispatch acknowledged" in text(update, "cap:info/cap:description")

    answer = await client.post(f"/v1/alerts/{alert_id}/all-clear", headers=dispatcher)
    assert answer.status_code == 200
    cleared = await latest_cap(client, cap_schema, alert_id)
    assert text(cleared, "cap:msgType") == "Update"
    assert len(text(cleared, "cap:references").split()) == 2
    info = cleared.find(f"{CAP}info")
    assert texts(info, "cap:responseType") == ["AllClear"]
    assert text(info, "cap:urgency") == "Past"
    assert text(info, "cap:headline").startswith("ALL CLEAR")


async def test_a_drill_is_an_exercise_in_every_message(
    client: httpx.AsyncClient, cap_schema: etree.XMLSchema
) -> None:
    alert_id = await raise_alert(
        client, "cap-drill", drill=True, kind="evacuate", destination="Field B"
    )
    await act(client, alert_id, "notes", text="Room 101 out")
    answer = await client.get(f"/v1/alerts/{alert_id}/cap/messages")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(answer.content)
    messages = [valid(cap_schema, e) for e in feed.iter(f"{CAP}alert")]
    assert [text(m, "cap:msgType") for m in messages] == ["Alert", "Update"]
    for message in messages:
        assert text(message, "cap:status") == "Exercise"
        assert "DRILL" in text(message, "cap:note")
        info = message.find(f"{CAP}info")
        assert texts(info, "cap:responseType") == ["Evacuate"]
        assert text(info, "cap:instruction") == "EVACUATE: to Field B."
        assert text(info, "cap:headline").startswith("DRILL: EVACUATE")
    assert "Room 101 out" in text(messages[1], "cap:info/cap:description")


async def test_a_cancelled_room_alert_is_a_cancel_that_names_its_room(
    client: httpx.AsyncClient, cap_schema: etree.XMLSchema
) -> None:
    alert_id = await raise_alert(client, "cap-medical", kind="medical", room_id=ROOM)
    raised = await latest_cap(client, cap_schema, alert_id)
    info = raised.find(f"{CAP}info")
    assert texts(info, "cap:category") == ["Health"]
    area = info.find(f"{CAP}area")
    description = text(area, "cap:areaDesc")
    assert "Room 101" in description and "Floor 1" in description
    assert pairs(area, "cap:geocode") == {
        "alertd:school": SCHOOL,
        "alertd:building": "lincoln-hs-a",
        "alertd:floor": "lincoln-hs-a-1",
        "alertd:room": ROOM,
    }
    (polygon,) = texts(area, "cap:polygon")
    points = polygon.split()
    assert len(points) >= 4 and points[0] == points[-1]
    latitude, longitude = map(float, points[0].split(","))
    assert 40 < latitude < 50 and -100 < longitude < -90  # latitude first, as CAP wants
    await act(client, alert_id, "cancel", reason="pressed by mistake")
    cancelled = await latest_cap(client, cap_schema, alert_id)
    assert text(cancelled, "cap:msgType") == "Cancel"
    assert text(cancelled, "cap:references").count(",") == 2
    assert "pressed by mistake" in text(cancelled, "cap:info/cap:description")
    assert texts(cancelled, "cap:info/cap:responseType") == ["AllClear"]


async def test_every_kind_renders_valid_cap(
    client: httpx.AsyncClient, cap_schema: etree.XMLSchema
) -> None:
    kinds: list[dict[str, Any]] = [
        {"kind": "hold"},
        {"kind": "secure"},
        {"kind": "shelter", "hazard": "tornado"},
        {"kind": "fire", "room_id": ROOM},
        {"kind": "staff_assist", "room_id": ROOM},
    ]
    for n, body in enumerate(kinds):
        alert_id = await raise_alert(client, f"cap-kind-{n}", **body)
        message = await latest_cap(client, cap_schema, alert_id)
        assert text(message, "cap:info/cap:event")
    shelter = await latest_cap(
        client,
        cap_schema,
        await raise_alert(
            client, "cap-haz", kind="shelter", hazard="hazmat", school_id="jefferson-es"
        ),
    )
    assert texts(shelter, "cap:info/cap:category") == ["Safety", "CBRNE"]
    upgraded_id = await raise_alert(
        client,
        "cap-up",
        kind="staff_assist",
        school_id="jefferson-es",
        room_id="jefferson-es-a-101",
    )
    await act(client, upgraded_id, "upgrade", kind="lockdown")
    upgraded = await latest_cap(client, cap_schema, upgraded_id)
    assert text(upgraded, "cap:msgType") == "Update"
    assert text(upgraded, "cap:info/cap:event") == "Lockdown"


async def test_feeds_hold_valid_cap_for_the_school_and_the_agency(
    client: httpx.AsyncClient, cap_schema: etree.XMLSchema
) -> None:
    alert_id = await raise_alert(client, "cap-feed")
    other = await raise_alert(client, "cap-feed-other", school_id="jefferson-es")
    for path, expected in (
        (f"/v1/schools/{SCHOOL}/cap.atom", {alert_id}),
        ("/v1/agencies/riverside-pd/cap.atom", {alert_id, other}),
    ):
        answer = await client.get(path, headers=await headers_for(client, "dispatcher"))
        assert answer.status_code == 200, answer.text
        feed = etree.fromstring(answer.content)
        assert feed.tag == f"{ATOM}feed"
        alerts = [valid(cap_schema, e) for e in feed.iter(f"{CAP}alert")]
        ids = {pairs(a, "cap:info/cap:parameter")["alertd:alert_id"] for a in alerts}
        assert ids == expected
        links = [e.get("href") for e in feed.iter(f"{ATOM}link") if e.get("rel") == "alternate"]
        assert any(link.endswith(f"/v1/alerts/{alert_id}/cap") for link in links)


async def test_only_authorized_readers_get_cap(app: FastAPI, client: httpx.AsyncClient) -> None:
    alert_id = await raise_alert(client, "cap-auth")
    transport = httpx.ASGITransport(app=app)
    anonymous_client = httpx.AsyncClient(transport=transport, base_url="http://alertd.test")
    school_feed = f"/v1/schools/{SCHOOL}/cap.atom"
    agency_feed = "/v1/agencies/riverside-pd/cap.atom"
    for path in (f"/v1/alerts/{alert_id}/cap", school_feed, agency_feed):
        assert (await anonymous_client.get(path)).status_code == 401
    staff = await headers_for(client, "staff")
    assert (await client.get(f"/v1/alerts/{alert_id}/cap", headers=staff)).status_code == 403
    assert (await client.get(school_feed, headers=staff)).status_code == 403
    assert (await client.get(agency_feed, headers=staff)).status_code == 404
    jefferson = await headers_for(client, "dispatcher-jefferson")
    assert (await client.get(f"/v1/alerts/{alert_id}/cap", headers=jefferson)).status_code == 404
    assert (await client.get(school_feed, headers=jefferson)).status_code == 404
    assert (await client.get(agency_feed, headers=jefferson)).status_code == 404
    assert (
        await client.get("/v1/agencies/jefferson-dispatch/cap.atom", headers=jefferson)
    ).status_code == 200
    assert (await client.get("/v1/agencies/nobody/cap.atom")).status_code == 404
    sro = await headers_for(client, "sro")
    assert (await client.get(f"/v1/alerts/{alert_id}/cap", headers=sro)).status_code == 200
    assert (await client.get(school_feed, headers=sro)).status_code == 200
