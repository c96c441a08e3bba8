"""Before the timeline starts: sign the people in, make what the scenario asks for (a
school, accounts, buttons) through the admin's API, and read the school's rooms.

All of it goes through the public API as the scenario's admin would do it by hand; the
buttons registered for the run are disabled again at the end (`Cast.dismiss`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import httpx

from clients.python.asynchronous import AsyncAlertdClient
from clients.python.request import AlertdError, Call, Unreachable
from clients.simulator.plan import RoomOnSite
from clients.simulator.scenario import GeneratedSchool, Scenario

ROOMS_PER_FLOOR = 50


class SetupFailed(Exception):
    """The server refused part of the set-up; the message names the scenario's part."""


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Login:
    email: str
    password: str = field(repr=False)


@dataclass
class Cast:
    run_id: str
    tokens: dict[str, str]  # person -> a bearer token (for the set-up)
    logins: dict[str, Login]  # person -> how the performers sign in (tokens are renewed)
    devices: dict[str, Device]  # button -> its registration
    rooms: list[RoomOnSite]

    async def dismiss(self, url: str, scenario: Scenario) -> None:
        """Disable the buttons registered for the run (their secrets die with it)."""
        if not self.devices or scenario.admin is None:
            return
        async with AsyncAlertdClient(url, token=self.tokens[scenario.admin]) as admin:
            for device in self.devices.values():
                try:
                    await admin.call(Call("DELETE", f"/v1/devices/{device.id}"))
                except AlertdError:
                    pass  # already gone: nothing to disable


async def assemble(scenario: Scenario, url: str, *, run_id: str | None = None) -> Cast:
    """Everything the timeline needs; SetupFailed if the server refuses any of it."""
    run = run_id or secrets.token_hex(4)
    tokens: dict[str, str] = {}
    logins: dict[str, Login] = {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for name, person in scenario.people.items():
            if not person.create:
                password = person.password or os.environ.get(person.password_env or "", "")
                logins[name] = Login(person.email or "", password)
                tokens[name] = await _sign_in(http, f"people.{name}", logins[name])
        admin = _client(url, tokens, scenario.admin) if scenario.admin else None
        try:
            if scenario.generate_school is not None and admin is not None:
                await _step(
                    "generate_school",
                    admin.call(
                        Call("POST", "/v1/sites", json=generated_site(scenario.generate_school))
                    ),
                )
            for name, person in scenario.people.items():
                if person.create and admin is not None:
                    email = f"sim-{run}-{name}@sim.alertd.invalid"
                    password = secrets.token_urlsafe(18)
                    body = {
                        "email": email,
                        "name": f"Simulated {name}",
                        "role": person.role,
                        "password": password,
                        "school_ids": [scenario.school],
                    }
                    await _step(f"people.{name}", admin.call(Call("POST", "/v1/users", json=body)))
                    logins[name] = Login(email, password)
                    tokens[name] = await _sign_in(http, f"people.{name}", logins[name])
            async with _client(url, tokens, scenario.console) as console:
                tree = await _step(
                    "school", console.call(Call("GET", f"/v1/schools/{scenario.school}"))
                )
            devices = {}
            for name, button in scenario.buttons.items():
                assert admin is not None  # the scenario's checks ask for an admin
                body = {
                    "id": f"sim-{run}-{name}",
                    "name": f"Simulated {name}",
                    "kind": button.kind,
                    "school_id": scenario.school,
                }
                if button.room is not None:
                    body["room_id"] = button.room
                if button.worn_by is not None:
                    async with _client(url, tokens, button.worn_by) as wearer:
                        me = await _step(f"buttons.{name}", wearer.call(Call("GET", "/v1/auth/me")))
                    body["user_id"] = me["id"]
                issued = await _step(
                    f"buttons.{name}", admin.call(Call("POST", "/v1/devices", json=body))
                )
                devices[name] = Device(issued["device"]["id"], issued["secret"])
        finally:
            if admin is not None:
                await admin.aclose()
    return Cast(run, tokens, logins, devices, rooms_of(tree))


def rooms_of(tree: dict[str, Any]) -> list[RoomOnSite]:
    """The rooms of a school (GET /v1/schools/{id}), in the school's order."""
    return [
        RoomOnSite(room["id"], room["type"])
        for building in tree.get("buildings", [])
        for floor in building.get("floors", [])
        for room in floor.get("rooms", [])
    ]


def generated_site(school: GeneratedSchool) -> dict[str, Any]:
    """A site document with one school of `school.rooms` classrooms, 50 to a floor."""
    floors = []
    for number in range((school.rooms + ROOMS_PER_FLOOR - 1) // ROOMS_PER_FLOOR):
        first = number * ROOMS_PER_FLOOR
        count = min(ROOMS_PER_FLOOR, school.rooms - first)
        rooms = [
            {
                "id": f"{school.school_id}-{first + i + 1}",
                "number": str(first + i + 1),
                "name": f"Room {first + i + 1}",
                "type": "classroom",
                "geometry": _square(i * 0.0002, 0.0, 0.00018),
            }
            for i in range(count)
        ]
        floors.append(
            {
                "id": f"{school.school_id}-f{number + 1}",
                "name": f"Floor {number + 1}",
                "ordinal": number,
                "outline": _square(0.0, 0.0, ROOMS_PER_FLOOR * 0.0002),
                "rooms": rooms,
            }
        )
    return {
        "version": 1,
        "district": {"id": school.district_id, "name": school.district_name},
        "schools": [
            {
                "id": school.school_id,
                "name": school.school_name,
                "timezone": school.timezone,
                "buildings": [{"id": f"{school.school_id}-main", "name": "Main", "floors": floors}],
            }
        ],
    }


def _square(dx: float, dy: float, size: float) -> dict[str, Any]:
    x, y = -93.0 + dx, 45.0 + dy
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def _client(url: str, tokens: dict[str, str], name: str) -> AsyncAlertdClient:
    return AsyncAlertdClient(url, token=tokens[name], timeout=30)


async def _sign_in(http: httpx.AsyncClient, part: str, login: Login) -> str:
    email = login.email
    try:
        answer = await http.post(
            "/v1/auth/token", data={"username": email, "password": login.password}
        )
    except httpx.TransportError as error:
        raise SetupFailed(f"alertd unreachable at {http.base_url}: {error!r}") from None
    if answer.status_code != 200:
        raise SetupFailed(f"{part}: sign-in as {email} refused ({answer.status_code})")
    return str(answer.json()["access_token"])


async def _step(part: str, call: Awaitable[Any]) -> Any:
    try:
        return await call
    except AlertdError as error:
        field = f" ({error.field})" if error.field else ""
        raise SetupFailed(f"{part}: refused: {error.status} {error.message}{field}") from None
    except Unreachable as error:
        raise SetupFailed(f"{part}: {error}") from None
