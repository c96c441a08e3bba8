"""The roll (room accountability) over HTTP, on the embedded default, as a client sees it:
reports, the roll, idempotency, who may report where, bad input, and reminders on a clock
the test moves by hand."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from alertd.core.roll import ACCOUNTED_ROOM_TYPES
from alertd.main import create_app, demo_site
from alertd.testing.auth import headers_for
from alertd.testing.clock import FakeClock
from alertd.testing.settings import make_settings

LINCOLN, JEFFERSON = "lincoln-hs", "jefferson-es"
ROOM, OTHER_ROOM = "lincoln-hs-a-109", "lincoln-hs-a-111"
REMINDER_SECONDS = 120


def expected_rooms(school_id: str) -> list[str]:
    """Written apart from the core: the demo school's rooms where people are taught."""
    site = demo_site()
    school = next(s for s in site.schools if s.id == school_id)
    return [
        room.id
        for building in school.buildings
        for floor in building.floors
        for room in floor.rooms
        if room.type in ACCOUNTED_ROOM_TYPES
    ]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(tmp_path: Path, sqlite_url: str, clock: FakeClock) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        tmp_path,
        sqlite_url,
        roll_reminder_seconds=REMINDER_SECONDS,
        roll_reminder_limit=2,
        roll_round_seconds=3600,  # the test drives the rounds
    )
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(12)).decode()


async def raise_alert(client: httpx.AsyncClient, kind: str = "lockdown", **body: Any) -> str:
    payload = {"kind": kind, "school_id": LINCOLN, **body}
    answer = await client.post("/v1/alerts", json=payload, headers={"Idempotency-Key": new_key()})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def report(room_id: str | None = ROOM, **fields: Any) -> dict[str, Any]:
    return {"room_id": room_id, "status": "secured", "students_present": 24, **fields}


async def roll_of(client: httpx.AsyncClient, alert_id: str) -> dict[str, Any]:
    answer = await client.get(f"/v1/alerts/{alert_id}/roll")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def room_line(roll: dict[str, Any], room_id: str) -> dict[str, Any]:
    return next(r for r in roll["rooms"] if r["room_id"] == room_id)


async def timeline_types(client: httpx.AsyncClient, alert_id: str) -> list[str]:
    detail = (await client.get(f"/v1/alerts/{alert_id}")).json()
    return [event["type"] for event in detail["timeline"]]


# --- reporting and reading the roll -------------------------------------------------------


async def test_a_new_lockdown_lists_every_expected_room_as_not_reported(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    alert_id = await raise_alert(client)
    clock.advance(30)
    roll = await roll_of(client, alert_id)
    expected = expected_rooms(LINCOLN)
    assert roll["expected_rooms"] == len(expected) > 0
    assert roll["unreported"] == expected
    assert {r["status"] for r in roll["rooms"]} == {"not_reported"}
    assert roll["counts"] == {"secured": 0, "needs_help": 0, "not_reported": len(expected)}
    assert roll["since_seconds"] == 30 and roll["kept"] is True
    assert "lincoln-hs-a-100" not in roll["unreported"]  # a corridor is not expected
    assert roll["reunification_sites"] == []  # only an evacuation names them


async def test_a_report_is_on_the_roll_and_in_the_alert_log(client: httpx.AsyncClient) -> None:
    alert_id = await raise_alert(client)
    staff = await headers_for(client, "staff")
    answer = await client.post(
        f"/v1/alerts/{alert_id}/roll",
        json=report(missing=["Jordan Smith"], extra=["Alex Kim"], note="door jammed"),
        headers=staff,
    )
    assert answer.status_code == 201, answer.text
    entry = answer.json()
    assert (entry["room_id"], entry["status"], entry["students_present"]) == (ROOM, "secured", 24)
    assert entry["missing"] == ["Jordan Smith"] and entry["extra"] == ["Alex Kim"]
    assert entry["reported_by"]["name"] == "Sam Staff"

    roll = await roll_of(client, alert_id)
    line = room_line(roll, ROOM)
    assert (line["status"], line["missing"], line["note"]) == (
        "secured",
        ["Jordan Smith"],
        "door jammed",
    )
    assert ROOM not in roll["unreported"]
    assert roll["counts"]["secured"] == 1
    assert await timeline_types(client, alert_id) == ["AlertRaised", "RoomReported"]


async def test_a_rooms_later_report_supersedes_its_earlier_one(client: httpx.AsyncClient) -> None:
    alert_id = await raise_alert(client)
    url = f"/v1/alerts/{alert_id}/roll"
    first = await client.post(url, json=report())
    later = await client.post(
        url, json=report(status="needs_help", students_present=23, injured=["Sam Lee"])
    )
    assert (first.status_code, later.status_code) == (201, 201)
    roll = await roll_of(client, alert_id)
    lines = [r for r in roll["rooms"] if r["room_id"] == ROOM]
    assert len(lines) == 1
    assert (lines[0]["status"], lines[0]["students_present"], lines[0]["injured"]) == (
        "needs_help",
        23,
        ["Sam Lee"],
    )
    assert roll["counts"]["needs_help"] == 1 and roll["counts"]["secured"] == 0
    # Both reports stay in the log for the after-action record.
    assert (await timeline_types(client, alert_id)).count("RoomReported") == 2


async def test_a_group_away_from_any_room_reports_by_its_label(
    client: httpx.AsyncClient,
) -> None:
    alert_id = await raise_alert(client, kind="evacuate", destination="Football field")
    answer = await client.post(
        f"/v1/alerts/{alert_id}/roll",
        json=report(room_id=None, group="  Ms Lee's PE class,   field ", students_present=30),
    )
    assert answer.status_code == 201, answer.text
    roll = await roll_of(client, alert_id)
    assert [(g["group"], g["students_present"]) for g in roll["groups"]] == [
        ("Ms Lee's PE class, field", 30)
    ]
    assert roll["counts"]["secured"] == 1
    assert roll["destination"] == "Football field"
    assert [s["id"] for s in roll["reunification_sites"]] == [
        s.id for s in next(x for x in demo_site().schools if x.id == LINCOLN).reunification_sites
    ]
    assert roll["reunification_sites"], "the demo school names its reunification sites"


async def test_a_retry_with_the_same_key_records_once_and_answers_the_same_entry(
    client: httpx.AsyncClient,
) -> None:
    alert_id = await raise_alert(client)
    url = f"/v1/alerts/{alert_id}/roll"
    headers = {"Idempotency-Key": "room-109-report-1"}
    first = await client.post(url, json=report(), headers=headers)
    retry = await client.post(url, json=report(), headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    assert (await timeline_types(client, alert_id)).count("RoomReported") == 1

    reused = await client.post(url, json=report(students_present=3), headers=headers)
    assert reused.status_code == 422
    assert reused.json()["field"] == "Idempotency-Key"
    assert (await timeline_types(client, alert_id)).count("RoomReported") == 1


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (report(students_present=-1), "students_present"),
        (report(students_present="24"), "students_present"),
        (report(students_present=2.5), "students_present"),
        (report(status="fine"), "status"),
        (report(missing=[""]), "missing.0"),
        (report(injured="Sam Lee"), "injured"),
        (report(room_id=None), "room_id"),
        (report(group="Field trip"), "group"),
        (report(room_id="lincoln-hs-a-999"), "room_id"),
        (report(room_id="jefferson-es-a-105"), "room_id"),
        (report(missing=["x" * 121]), "missing.0"),
        ({"room_id": ROOM, "status": "secured"}, "students_present"),
        (report(colour="red"), "colour"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    alert_id = await raise_alert(client)
    answer = await client.post(f"/v1/alerts/{alert_id}/roll", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert await timeline_types(client, alert_id) == ["AlertRaised"]


async def test_a_kind_without_a_roll_and_a_closed_alert_are_refused_with_409(
    client: httpx.AsyncClient,
) -> None:
    medical = await raise_alert(client, kind="medical", room_id=ROOM)
    answer = await client.post(f"/v1/alerts/{medical}/roll", json=report())
    assert answer.status_code == 409
    assert answer.json()["cause"] == "roll_not_kept"

    lockdown = await raise_alert(client)
    sro = await headers_for(client, "sro")
    for step in ("acknowledge", "all-clear"):
        done = await client.post(f"/v1/alerts/{lockdown}/{step}", headers=sro)
        assert done.status_code == 200, done.text
    answer = await client.post(f"/v1/alerts/{lockdown}/roll", json=report())
    assert answer.status_code == 409
    assert (answer.json()["cause"], answer.json()["current_state"]) == ("alert_closed", "all_clear")
    assert (await roll_of(client, lockdown))["kept"] is False


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("staff", 201),
        ("sro", 201),
        ("drill_coordinator", 201),
        ("school_admin", 201),
        ("district_admin", 201),
        ("dispatcher", 403),  # reads the roll, reports nothing
        ("dispatcher-jefferson", 404),  # another school's alert does not exist for them
    ],
)
async def test_who_may_report_for_which_school(
    client: httpx.AsyncClient, role: str, status: int
) -> None:
    alert_id = await raise_alert(client)
    headers = await headers_for(client, role)
    answer = await client.post(f"/v1/alerts/{alert_id}/roll", json=report(), headers=headers)
    assert answer.status_code == status, answer.text
    reads = await client.get(f"/v1/alerts/{alert_id}/roll", headers=headers)
    assert reads.status_code == (404 if status == 404 else 200)


async def test_staff_of_one_school_cannot_report_at_another(client: httpx.AsyncClient) -> None:
    alert_id = await raise_alert(client, school_id=JEFFERSON)
    staff = await headers_for(client, "staff")  # Lincoln's
    answer = await client.post(
        f"/v1/alerts/{alert_id}/roll", json=report("jefferson-es-a-105"), headers=staff
    )
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"


async def test_signing_in_is_required(anonymous: httpx.AsyncClient) -> None:
    answer = await anonymous.post("/v1/alerts/anything/roll", json=report())
    assert answer.status_code == 401


# --- reminders ------------------------------------------------------------------------------


async def subscribe(client: httpx.AsyncClient, role: str, device: str) -> None:
    subscription = {
        "endpoint": f"https://push.invalid/{role}/{device}",
        "expirationTime": None,
        "keys": {
            # A real P-256 point and secret are not needed: nothing is sent (push.invalid).
            "p256dh": "BNNL5ZaTfK81qhXOx23-wewhigUeFb632jN6LvRWCFH1ubQr77FE_9qV1Fuoju"
            "RmHP42zmf34rXgW80OvUVDgTk",
            "auth": "bAQwd9o9bYh2c6SfMb_cUA",
        },
    }
    headers = await headers_for(client, role)
    answer = await client.put(
        f"/v1/push/subscriptions/{device}", json=subscription, headers=headers
    )
    assert answer.status_code == 200, answer.text


async def reminder_pushes(client: httpx.AsyncClient, alert_id: str) -> list[str]:
    detail = (await client.get(f"/v1/alerts/{alert_id}")).json()
    return sorted(
        d["recipient_name"]
        for d in detail["deliveries"]
        if d["channel"] == "push" and d["about"] == "RollReminder"
    )


async def test_unreported_rooms_are_reminded_after_the_delay_once_per_round(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await subscribe(client, "staff", "phone-1")
    await subscribe(client, "drill_coordinator", "phone-2")
    await subscribe(client, "sro", "phone-3")
    alert_id = await raise_alert(client)
    rounds = app.state.roll
    coordinator = await headers_for(client, "drill_coordinator")
    answer = await client.post(f"/v1/alerts/{alert_id}/roll", json=report(), headers=coordinator)
    assert answer.status_code == 201

    await rounds.run_once()
    clock.advance(REMINDER_SECONDS - 1)
    await rounds.run_once()
    assert "RollReminder" not in await timeline_types(client, alert_id)

    clock.advance(1)
    await rounds.run_once()
    await rounds.run_once()  # the same moment again: nothing more is due
    detail = (await client.get(f"/v1/alerts/{alert_id}")).json()
    reminders = [e for e in detail["timeline"] if e["type"] == "RollReminder"]
    assert len(reminders) == 1
    expected = [room for room in expected_rooms(LINCOLN) if room != ROOM]
    assert reminders[0]["data"] == {"room_ids": expected, "since_seconds": REMINDER_SECONDS}
    assert reminders[0]["actor"]["kind"] == "system"
    # Staff who have not reported are pushed; the coordinator reported, the SRO reads.
    assert await reminder_pushes(client, alert_id) == ["Sam Staff"]
    roll = await roll_of(client, alert_id)
    assert roll["reminders"] == 1

    clock.advance(REMINDER_SECONDS)
    await rounds.run_once()
    clock.advance(REMINDER_SECONDS)
    await rounds.run_once()  # the limit is 2 reminders per roll
    assert (await timeline_types(client, alert_id)).count("RollReminder") == 2


async def test_a_roll_everyone_reported_and_a_closed_alert_are_not_reminded(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    alert_id = await raise_alert(client)
    closed_id = await raise_alert(client, kind="shelter", hazard="tornado")
    for room in expected_rooms(LINCOLN):
        answer = await client.post(f"/v1/alerts/{alert_id}/roll", json=report(room))
        assert answer.status_code == 201, answer.text
    await app.state.roll.run_once()
    cancel = await client.post(f"/v1/alerts/{closed_id}/cancel", json={"reason": "wrong button"})
    assert cancel.status_code == 200, cancel.text
    clock.advance(REMINDER_SECONDS * 3)
    await app.state.roll.run_once()
    assert "RollReminder" not in await timeline_types(client, alert_id)
    assert "RollReminder" not in await timeline_types(client, closed_id)
    roll = await roll_of(client, alert_id)
    assert roll["unreported"] == [] and roll["counts"]["not_reported"] == 0


async def test_an_upgrade_to_a_lockdown_starts_a_new_roll(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    alert_id = await raise_alert(client, kind="shelter", hazard="tornado")
    assert (await client.post(f"/v1/alerts/{alert_id}/roll", json=report())).status_code == 201
    clock.advance(60)
    upgraded = await client.post(f"/v1/alerts/{alert_id}/upgrade", json={"kind": "lockdown"})
    assert upgraded.status_code == 200, upgraded.text
    roll = await roll_of(client, alert_id)
    assert roll["kind"] == "lockdown" and roll["since_seconds"] == 0
    assert room_line(roll, ROOM)["status"] == "not_reported"
