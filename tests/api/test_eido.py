"""NENA EIDO: an alert exported as an incident, with its location, agencies, notes and
times; only responders may export it."""

from __future__ import annotations

import httpx

from alertd.testing.auth import headers_for


async def test_an_alert_exports_as_an_eido_incident(client: httpx.AsyncClient) -> None:
    body = {"kind": "medical", "school_id": "lincoln-hs", "room_id": "lincoln-hs-a-101"}
    raised = await client.post("/v1/alerts", json=body, headers={"Idempotency-Key": "eido-1"})
    alert_id = raised.json()["id"]
    sro = await headers_for(client, "sro")
    await client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=sro)
    await client.post(f"/v1/alerts/{alert_id}/notes", json={"text": "nurse on the way"})
    await client.post(f"/v1/alerts/{alert_id}/resolve", headers=sro)

    answer = await client.get(f"/v1/alerts/{alert_id}/eido", headers=sro)
    assert answer.status_code == 200, answer.text
    eido = answer.json()
    assert eido["eidoMessageIdentifier"].endswith(f"{alert_id}:4")
    (incident,) = eido["incidentComponent"]
    assert incident["incidentTrackingIdentifier"] == alert_id
    assert incident["incidentTypeCommonRegistryText"] == "EMS - Medical Emergency"
    assert incident["incidentStatusCommonRegistryText"] == "Closed"
    assert incident["exerciseIndicator"] is False
    assert incident["incidentCreationTimeStamp"] <= incident["firstAcknowledgementTimeStamp"]
    assert incident["incidentCloseTimeStamp"] >= incident["firstAcknowledgementTimeStamp"]

    (location,) = eido["locationComponent"]
    assert incident["locationReference"] == {"$ref": location["$id"]}
    place = location["locationByValue"]
    assert place["civicAddressText"] == "1200 Lincoln Ave, Riverside"
    assert place["placeCodes"]["room"] == "lincoln-hs-a-101"
    assert place["geometry"][0]["type"] == "Polygon"
    assert {a["agencyIdentifier"] for a in eido["agencyComponent"]} >= {"riverside-pd"}
    agency_ids = {a["$id"] for a in eido["agencyComponent"]}
    assert {r["$ref"] for r in incident["agencyReference"]} == agency_ids

    notes = eido["notesComponent"]
    assert [n["noteText"].split(":")[0] for n in notes] == [
        "AlertRaised",
        "AlertAcknowledged",
        "NoteAdded",
        "AlertResolved",
    ]
    assert "nurse on the way" in notes[2]["noteText"]
    agents = {a["$id"] for a in eido["agentComponent"]}
    assert {n["authorReference"]["$ref"] for n in notes} <= agents
    (responder,) = incident["responders"]
    assert responder["agentReference"]["$ref"] in agents


async def test_only_responders_export_incidents(client: httpx.AsyncClient) -> None:
    body = {"kind": "lockdown", "school_id": "lincoln-hs", "drill": True}
    raised = await client.post("/v1/alerts", json=body, headers={"Idempotency-Key": "eido-2"})
    alert_id = raised.json()["id"]
    dispatcher = await headers_for(client, "dispatcher")
    answer = await client.get(f"/v1/alerts/{alert_id}/eido", headers=dispatcher)
    assert answer.status_code == 200
    assert answer.json()["incidentComponent"][0]["exerciseIndicator"] is True
    staff = await headers_for(client, "staff")
    assert (await client.get(f"/v1/alerts/{alert_id}/eido", headers=staff)).status_code == 403
    other = await headers_for(client, "dispatcher-jefferson")
    assert (await client.get(f"/v1/alerts/{alert_id}/eido", headers=other)).status_code == 404
