"""Every route x every role (anonymous included), with the status each must get.

The table is checked against the app's registered routes: a new endpoint without a row here
fails `test_every_route_has_a_row`. Alert actions run on a fresh alert of Lincoln High,
raised by the district admin, in the state the action needs; a staff member did not raise
it, so room-scoped alerts are invisible to them (404), campus-wide ones are visible (403).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Route, WebSocketRoute

from alertd.main import demo_site
from alertd.testing.auth import DEMO_PASSWORD, demo_user, headers_for
from alertd.testing.demo_rooms import room_for

ROLES = (
    "anonymous",
    "staff",
    "sro",
    "dispatcher",
    "drill_coordinator",
    "school_admin",
    "district_admin",
)
LINCOLN, ROOM = "lincoln-hs", "lincoln-hs-a-101"

# (method, path) -> expected status per role, in ROLES order.
A = 401  # anonymous
# fmt: off
EXPECTED: dict[tuple[str, str], tuple[int, ...]] = {
    #                                           anon staff sro  disp coord sadm dadm
    ("POST", "/v1/alerts"):                         (A, 201, 201, 201, 201, 201, 201),
    ("GET", "/v1/alerts"):                          (A, 200, 200, 200, 200, 200, 200),
    ("GET", "/v1/alerts/{alert_id}"):               (A, 404, 200, 200, 200, 200, 200),
    ("POST", "/v1/alerts/{alert_id}/acknowledge"):  (A, 404, 200, 200, 403, 200, 200),
    ("POST", "/v1/alerts/{alert_id}/status"):       (A, 404, 200, 200, 403, 403, 403),
    ("POST", "/v1/alerts/{alert_id}/resolve"):      (A, 404, 200, 200, 403, 403, 403),
    ("POST", "/v1/alerts/{alert_id}/cancel"):       (A, 404, 200, 200, 403, 200, 200),
    ("POST", "/v1/alerts/{alert_id}/all-clear"):    (A, 403, 200, 200, 403, 403, 403),
    ("POST", "/v1/alerts/{alert_id}/notes"):        (A, 404, 200, 200, 200, 200, 200),
    ("POST", "/v1/alerts/{alert_id}/upgrade"):      (A, 404, 200, 200, 200, 200, 200),
    # The roll of a lockdown: the people in the building report, dispatchers read it.
    ("POST", "/v1/alerts/{alert_id}/roll"):         (A, 201, 201, 403, 201, 201, 201),
    ("GET", "/v1/alerts/{alert_id}/roll"):          (A, 200, 200, 200, 200, 200, 200),
    ("GET", "/v1/schools"):                         (A, 200, 200, 200, 200, 200, 200),
    ("GET", "/v1/schools/{school_id}"):             (A, 200, 200, 200, 200, 200, 200),
    ("GET", "/v1/schools/{school_id}/imdf"):        (A, 200, 200, 200, 200, 200, 200),
    ("POST", "/v1/sites"):                          (A, 403, 403, 403, 403, 200, 200),
    ("PUT", "/v1/schools/{school_id}/imdf"):        (A, 403, 403, 403, 403, 200, 200),
    ("GET", "/healthz"):                            (200,) * 7,
    ("GET", "/readyz"):                             (200,) * 7,
    ("GET", "/metrics"):                            (200,) * 7,
    ("GET", "/openapi.json"):                       (200,) * 7,
    ("GET", "/docs"):                               (200,) * 7,
    ("GET", "/docs/oauth2-redirect"):               (200,) * 7,
    ("GET", "/"):                                   (307,) * 7,  # to the console
    ("GET", "/v1/auth/me"):                         (A, 200, 200, 200, 200, 200, 200),
    ("POST", "/v1/auth/token"):                     (200,) * 7,  # signs in as staff
    ("POST", "/v1/auth/session"):                   (200,) * 7,
    ("POST", "/v1/auth/logout"):                    (204,) * 7,
    ("POST", "/v1/auth/totp"):                      (A, 403, 403, 200, 403, 200, 200),
    ("POST", "/v1/auth/totp/confirm"):              (A, 403, 403, 422, 403, 422, 422),
    ("POST", "/v1/users"):                          (A, 403, 403, 403, 403, 201, 201),
    ("GET", "/v1/users"):                           (A, 403, 403, 403, 403, 200, 200),
    ("POST", "/v1/users/{user_id}/api-keys"):       (A, 403, 403, 403, 403, 201, 201),
    ("DELETE", "/v1/api-keys/{key_id}"):            (A, 403, 403, 403, 403, 204, 204),
    ("POST", "/v1/devices"):                        (A, 403, 403, 403, 403, 201, 201),
    ("GET", "/v1/devices"):                         (A, 403, 403, 403, 403, 200, 200),
    ("POST", "/v1/devices/{device_id}/rotate"):     (A, 403, 403, 403, 403, 200, 200),
    ("DELETE", "/v1/devices/{device_id}"):          (A, 403, 403, 403, 403, 204, 204),
    ("POST", "/v1/devices/heartbeat"):              (A, 403, 403, 403, 403, 403, 403),  # devices
    ("GET", "/v1/audit"):                           (A, 403, 403, 403, 403, 200, 200),
    ("GET", "/v1/audit/verification"):              (A, 403, 403, 403, 403, 200, 200),
    ("GET", "/v1/users/{user_id}"):                 (A, 403, 403, 403, 403, 200, 200),
    ("PATCH", "/v1/users/{user_id}"):               (A, 403, 403, 403, 403, 200, 200),
    ("POST", "/v1/users/{user_id}/disable"):        (A, 403, 403, 403, 403, 200, 200),
    ("POST", "/v1/users/{user_id}/enable"):         (A, 403, 403, 403, 403, 200, 200),
    ("POST", "/v1/users/{user_id}/sign-out"):       (A, 403, 403, 403, 403, 204, 204),
    ("DELETE", "/v1/users/{user_id}/second-factor"): (A, 403, 403, 403, 403, 200, 200),
    ("GET", "/v1/api-keys"):                        (A, 403, 403, 403, 403, 200, 200),
    ("POST", "/v1/auth/sign-out-everywhere"):       (A, 204, 204, 204, 204, 204, 204),
    # Single sign-on: the sign-in buttons and the flow are public (no provider here: 404,
    # and a callback that was not started here: 401); the configuration is the district's.
    ("GET", "/v1/auth/oidc"):                       (200,) * 7,
    ("GET", "/v1/auth/oidc/{district_id}/login"):   (404,) * 7,
    ("GET", "/v1/auth/oidc/callback"):              (401,) * 7,
    ("GET", "/v1/districts/{district_id}/oidc"):    (A, 403, 403, 403, 403, 403, 200),
    ("PUT", "/v1/districts/{district_id}/oidc"):    (A, 403, 403, 403, 403, 403, 200),
    ("DELETE", "/v1/districts/{district_id}/oidc"): (A, 403, 403, 403, 403, 403, 204),
    # Twilio's webhooks need Twilio's signature, never a sign-in: without it, 403 for all.
    ("POST", "/v1/twilio/status"):                  (403,) * 7,
    ("POST", "/v1/twilio/sms"):                     (403,) * 7,
    ("POST", "/v1/twilio/voice/gather"):            (403,) * 7,
    # Web Push: each person subscribes their own devices (none here yet to delete: 404).
    ("GET", "/v1/push/key"):                        (A, 200, 200, 200, 200, 200, 200),
    ("PUT", "/v1/push/subscriptions/{device_id}"):  (A, 200, 200, 200, 200, 200, 200),
    ("DELETE", "/v1/push/subscriptions/{device_id}"): (A, 404, 404, 404, 404, 404, 404),
    # Cameras: anyone lists them; admins register sources; SROs and dispatchers watch.
    # WHEP takes a view token, never a sign-in (401 with one); its sessions are
    # capabilities (an unknown one: 404 for all).
    ("GET", "/v1/cameras"):                         (A, 200, 200, 200, 200, 200, 200),
    ("PUT", "/v1/cameras/{camera_id}/source"):      (A, 403, 403, 403, 403, 200, 200),
    ("DELETE", "/v1/cameras/{camera_id}/source"):   (A, 403, 403, 403, 403, 204, 204),
    ("POST", "/v1/cameras/{camera_id}/view-token"): (A, 403, 200, 200, 403, 403, 403),
    ("POST", "/v1/cameras/{camera_id}/whep"):       (401,) * 7,
    ("DELETE", "/v1/cameras/{camera_id}/whep/{session_id}"): (404,) * 7,
    ("PATCH", "/v1/cameras/{camera_id}/whep/{session_id}"):  (404,) * 7,
    # Drills: coordinators and admins plan and run them; the responders read plans and
    # compliance; after-action reports are for those who see deliveries.
    ("POST", "/v1/drills"):                         (A, 403, 403, 403, 201, 201, 201),
    ("GET", "/v1/drills"):                          (A, 403, 200, 200, 200, 200, 200),
    ("GET", "/v1/drills/{plan_id}"):                (A, 403, 200, 200, 200, 200, 200),
    ("POST", "/v1/drills/{plan_id}/start"):         (A, 403, 403, 403, 200, 200, 200),
    ("POST", "/v1/drills/{plan_id}/end"):           (A, 403, 403, 403, 200, 200, 200),
    ("POST", "/v1/drills/{plan_id}/cancel"):        (A, 403, 403, 403, 200, 200, 200),
    ("GET", "/v1/alerts/{alert_id}/report"):        (A, 404, 200, 200, 200, 200, 200),
    ("GET", "/v1/compliance"):                      (A, 403, 200, 200, 200, 200, 200),
    # WebSocket: 101 = accepted (caught_up arrives), 4401 = closed as unauthenticated.
    ("WS", "/v1/stream"):                           (4401, 101, 101, 101, 101, 101, 101),
}
# fmt: on

Request = tuple[str, dict[str, Any]]  # path, httpx keyword arguments
Setup = Callable[[httpx.AsyncClient], Awaitable[Request]]
SETUPS: dict[tuple[str, str], Setup] = {}


def setup(method: str, path: str) -> Callable[[Setup], Setup]:
    def register(function: Setup) -> Setup:
        SETUPS[(method, path)] = function
        return function

    return register


_keys = iter(range(1_000_000))


async def fresh_alert(
    admin: httpx.AsyncClient, kind: str = "medical", *, acked: bool = False
) -> str:
    body = {"kind": kind, "school_id": LINCOLN, "room_id": room_for(LINCOLN, next(_keys))}
    answer = await admin.post(
        "/v1/alerts", json=body, headers={"Idempotency-Key": f"s{next(_keys)}"}
    )
    assert answer.status_code == 201, answer.text
    alert_id = str(answer.json()["id"])
    if acked:
        ack = await admin.post(f"/v1/alerts/{alert_id}/acknowledge")
        assert ack.status_code == 200, ack.text
    return alert_id


def alert_action(
    path: str, *, kind: str = "medical", acked: bool = False, body: dict[str, Any] | None = None
) -> None:
    @setup("POST", path)
    async def prepare(admin: httpx.AsyncClient) -> Request:
        alert_id = await fresh_alert(admin, kind, acked=acked)
        return path.replace("{alert_id}", alert_id), {"json": body or {}}


alert_action("/v1/alerts/{alert_id}/acknowledge")
alert_action("/v1/alerts/{alert_id}/status", acked=True, body={"status": "en_route"})
alert_action("/v1/alerts/{alert_id}/resolve", acked=True)
alert_action("/v1/alerts/{alert_id}/cancel", body={"reason": "false alarm"})
alert_action("/v1/alerts/{alert_id}/all-clear", kind="lockdown", acked=True)
alert_action("/v1/alerts/{alert_id}/notes", body={"text": "door 4 checked"})
alert_action("/v1/alerts/{alert_id}/upgrade", kind="staff_assist", body={"kind": "lockdown"})
alert_action(
    "/v1/alerts/{alert_id}/roll",
    kind="lockdown",
    body={"room_id": "lincoln-hs-a-109", "status": "secured", "students_present": 20},
)


@setup("GET", "/v1/alerts/{alert_id}/roll")
async def _get_roll(admin: httpx.AsyncClient) -> Request:
    return f"/v1/alerts/{await fresh_alert(admin, 'lockdown')}/roll", {}


@setup("POST", "/v1/alerts")
async def _raise(_admin: httpx.AsyncClient) -> Request:
    body = {"kind": "medical", "school_id": LINCOLN, "room_id": room_for(LINCOLN, next(_keys))}
    return "/v1/alerts", {"json": body, "headers": {"Idempotency-Key": f"r{next(_keys)}"}}


@setup("GET", "/v1/alerts/{alert_id}")
async def _get_alert(admin: httpx.AsyncClient) -> Request:
    return f"/v1/alerts/{await fresh_alert(admin)}", {}


async def _plan(admin: httpx.AsyncClient, *, started: bool = False) -> str:
    body = {"kind": "lockdown", "school_id": LINCOLN, "scheduled_for": _soon()}
    answer = await admin.post("/v1/drills", json=body)
    assert answer.status_code == 201, answer.text
    plan_id = str(answer.json()["id"])
    if started:
        begun = await admin.post(f"/v1/drills/{plan_id}/start")
        assert begun.status_code == 200, begun.text
    return plan_id


def _soon() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


@setup("POST", "/v1/drills")
async def _schedule(_admin: httpx.AsyncClient) -> Request:
    body = {"kind": "lockdown", "school_id": LINCOLN, "scheduled_for": _soon()}
    return "/v1/drills", {"json": body}


@setup("GET", "/v1/drills/{plan_id}")
async def _get_plan(admin: httpx.AsyncClient) -> Request:
    return f"/v1/drills/{await _plan(admin)}", {}


@setup("POST", "/v1/drills/{plan_id}/start")
async def _start_plan(admin: httpx.AsyncClient) -> Request:
    return f"/v1/drills/{await _plan(admin)}/start", {}


@setup("POST", "/v1/drills/{plan_id}/cancel")
async def _cancel_plan(admin: httpx.AsyncClient) -> Request:
    return f"/v1/drills/{await _plan(admin)}/cancel", {}


@setup("POST", "/v1/drills/{plan_id}/end")
async def _end_plan(admin: httpx.AsyncClient) -> Request:
    return f"/v1/drills/{await _plan(admin, started=True)}/end", {}


@setup("GET", "/v1/alerts/{alert_id}/report")
async def _report(admin: httpx.AsyncClient) -> Request:
    return f"/v1/alerts/{await fresh_alert(admin)}/report", {}


@setup("GET", "/v1/compliance")
async def _compliance(_admin: httpx.AsyncClient) -> Request:
    return "/v1/compliance", {"params": {"school_id": LINCOLN, "term": "2026-year"}}


@setup("POST", "/v1/sites")
async def _sites(_admin: httpx.AsyncClient) -> Request:
    document = demo_site().model_dump(mode="json")
    document["schools"] = [s for s in document["schools"] if s["id"] == LINCOLN]
    for agency in document["agencies"]:
        agency["schools"] = [LINCOLN]
    return "/v1/sites", {"json": document}


@setup("PUT", "/v1/schools/{school_id}/imdf")
async def _imdf_upload(admin: httpx.AsyncClient) -> Request:
    exported = await admin.get(f"/v1/schools/{LINCOLN}/imdf")  # its own plans, sent back
    assert exported.status_code == 200, exported.text
    headers = {"Content-Type": "application/zip"}
    return f"/v1/schools/{LINCOLN}/imdf", {"content": exported.content, "headers": headers}


@setup("POST", "/v1/auth/token")
async def _token(_admin: httpx.AsyncClient) -> Request:
    return "/v1/auth/token", {"data": {"username": demo_user("staff"), "password": DEMO_PASSWORD}}


@setup("POST", "/v1/auth/session")
async def _session(_admin: httpx.AsyncClient) -> Request:
    return "/v1/auth/session", {"json": {"username": demo_user("staff"), "password": DEMO_PASSWORD}}


@setup("POST", "/v1/auth/totp/confirm")
async def _totp_confirm(_admin: httpx.AsyncClient) -> Request:
    return "/v1/auth/totp/confirm", {"json": {"code": "123456"}}  # nothing is being enrolled


@setup("POST", "/v1/users")
async def _new_user(_admin: httpx.AsyncClient) -> Request:
    n = next(_keys)
    body = {
        "email": f"teacher{n}@lincoln.example",
        "name": f"Teacher {n}",
        "role": "staff",
        "password": "correct horse battery",
        "school_ids": [LINCOLN],
    }
    return "/v1/users", {"json": body}


@setup("POST", "/v1/users/{user_id}/api-keys")
async def _new_key(_admin: httpx.AsyncClient) -> Request:
    return "/v1/users/demo-staff/api-keys", {"json": {"name": "bell schedule sync"}}


@setup("DELETE", "/v1/api-keys/{key_id}")
async def _revoke_key(admin: httpx.AsyncClient) -> Request:
    answer = await admin.post("/v1/users/demo-staff/api-keys", json={"name": "to revoke"})
    assert answer.status_code == 201, answer.text
    return f"/v1/api-keys/{answer.json()['id']}", {}


def _device_body() -> dict[str, Any]:
    return {
        "name": f"Button {next(_keys)}",
        "kind": "wall_button",
        "school_id": LINCOLN,
        "room_id": ROOM,
    }


@setup("POST", "/v1/devices")
async def _new_device(_admin: httpx.AsyncClient) -> Request:
    return "/v1/devices", {"json": _device_body()}


@setup("GET", "/v1/devices")
async def _devices(_admin: httpx.AsyncClient) -> Request:
    return "/v1/devices", {"params": {"school": LINCOLN}}


async def _existing_device(admin: httpx.AsyncClient) -> str:
    answer = await admin.post("/v1/devices", json=_device_body())
    assert answer.status_code == 201, answer.text
    return str(answer.json()["device"]["id"] if "device" in answer.json() else answer.json()["id"])


@setup("POST", "/v1/devices/{device_id}/rotate")
async def _rotate(admin: httpx.AsyncClient) -> Request:
    return f"/v1/devices/{await _existing_device(admin)}/rotate", {}


@setup("POST", "/v1/devices/heartbeat")
async def _heartbeat(_admin: httpx.AsyncClient) -> Request:
    return "/v1/devices/heartbeat", {"json": {"interval_seconds": 60, "battery_percent": 90}}


@setup("DELETE", "/v1/devices/{device_id}")
async def _disable(admin: httpx.AsyncClient) -> Request:
    return f"/v1/devices/{await _existing_device(admin)}", {}


async def _fresh_user(admin: httpx.AsyncClient) -> str:
    answer = await admin.post("/v1/users", json=(await _new_user(admin))[1]["json"])
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def user_action(method: str, path: str, body: dict[str, Any] | None = None) -> None:
    @setup(method, path)
    async def prepare(admin: httpx.AsyncClient) -> Request:
        url = path.replace("{user_id}", await _fresh_user(admin))
        return url, {"json": body} if body is not None else {}


user_action("GET", "/v1/users/{user_id}")
user_action("PATCH", "/v1/users/{user_id}", {"name": "Renamed Teacher"})
user_action("POST", "/v1/users/{user_id}/disable")
user_action("POST", "/v1/users/{user_id}/enable")
user_action("POST", "/v1/users/{user_id}/sign-out")
user_action("DELETE", "/v1/users/{user_id}/second-factor")

DISTRICT = "riverside-usd"
OIDC_PATH = "/v1/districts/{district_id}/oidc"
OIDC_BODY = {
    "issuer": "https://accounts.example.org",
    "client_id": "alertd",
    "client_secret": "s3cret-from-the-provider",
    "allowed_domains": ["riverside.example.org"],
    "rules": [{"claim": "groups", "value": "teachers", "role": "staff", "school_ids": [LINCOLN]}],
}


@setup("PUT", OIDC_PATH)
async def _put_oidc(_admin: httpx.AsyncClient) -> Request:
    return OIDC_PATH.replace("{district_id}", DISTRICT), {"json": OIDC_BODY}


async def _configured_oidc(admin: httpx.AsyncClient) -> Request:
    path = OIDC_PATH.replace("{district_id}", DISTRICT)
    answer = await admin.put(path, json=OIDC_BODY)
    assert answer.status_code == 200, answer.text
    return path, {}


setup("GET", OIDC_PATH)(_configured_oidc)
setup("DELETE", OIDC_PATH)(_configured_oidc)


PUSH_SUBSCRIPTION = {
    "endpoint": "https://push.example/send/abc",
    "keys": {
        # RFC 8291 Appendix A's browser key and secret (published test data).
        "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcx"
        "aOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        "auth": "BTBZMqHH6r4Tts7J_aSIgg",
    },
}


@setup("PUT", "/v1/push/subscriptions/{device_id}")
async def _subscribe(_admin: httpx.AsyncClient) -> Request:
    return "/v1/push/subscriptions/phone-1", {"json": PUSH_SUBSCRIPTION}


@setup("DELETE", "/v1/push/subscriptions/{device_id}")
async def _unsubscribe(_admin: httpx.AsyncClient) -> Request:
    return "/v1/push/subscriptions/never-subscribed", {}


@setup("GET", "/v1/auth/oidc/{district_id}/login")
async def _oidc_login(_admin: httpx.AsyncClient) -> Request:
    return f"/v1/auth/oidc/{DISTRICT}/login", {"follow_redirects": False}


CAMERA = "lincoln-hs-a-1-cam-1"


@setup("GET", "/v1/cameras")
async def _cameras(_admin: httpx.AsyncClient) -> Request:
    return "/v1/cameras", {"params": {"school_id": LINCOLN}}


@setup("PUT", "/v1/cameras/{camera_id}/source")
async def _put_source(_admin: httpx.AsyncClient) -> Request:
    return f"/v1/cameras/{CAMERA}/source", {"json": {"url": "test-pattern:"}}


@setup("DELETE", "/v1/cameras/{camera_id}/source")
async def _delete_source(admin: httpx.AsyncClient) -> Request:
    answer = await admin.put(f"/v1/cameras/{CAMERA}/source", json={"url": "test-pattern:"})
    assert answer.status_code == 200, answer.text
    return f"/v1/cameras/{CAMERA}/source", {}


@setup("POST", "/v1/cameras/{camera_id}/view-token")
async def _view_token(_admin: httpx.AsyncClient) -> Request:
    return f"/v1/cameras/{CAMERA}/view-token", {}


@setup("POST", "/v1/cameras/{camera_id}/whep")
async def _whep(_admin: httpx.AsyncClient) -> Request:
    headers = {"Content-Type": "application/sdp"}
    return f"/v1/cameras/{CAMERA}/whep", {"content": "v=0\r\n", "headers": headers}


@setup("DELETE", "/v1/cameras/{camera_id}/whep/{session_id}")
async def _whep_delete(_admin: httpx.AsyncClient) -> Request:
    return f"/v1/cameras/{CAMERA}/whep/no-such-session", {}


@setup("PATCH", "/v1/cameras/{camera_id}/whep/{session_id}")
async def _whep_patch(_admin: httpx.AsyncClient) -> Request:
    headers = {"Content-Type": "application/trickle-ice-sdpfrag"}
    body = "a=mid:0\r\na=candidate:1 1 udp 2130706431 192.0.2.1 9 typ host\r\n"
    return f"/v1/cameras/{CAMERA}/whep/no-such-session", {"content": body, "headers": headers}


def plain(method: str, path: str) -> Setup:
    async def prepare(_admin: httpx.AsyncClient) -> Request:
        return path.replace("{school_id}", LINCOLN), {}

    return prepare


def registered_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every endpoint, "WS" for WebSockets.

    FastAPI >= 0.16x keeps included routers as lazy objects whose endpoints are listed by
    `effective_route_contexts()`; older versions flatten them into `app.routes`. Both are
    walked, and the OpenAPI document cross-checks that no HTTP endpoint is missed.
    """

    def walk(routes: list[Any]) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for route in routes:
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:
                for c in contexts():
                    if isinstance(c.original_route, (APIWebSocketRoute, WebSocketRoute)):
                        found.add(("WS", c.path or c.original_route.path))
                    else:
                        found |= {(m, c.path) for m in (c.methods or ())}
                continue
            if isinstance(route, (APIWebSocketRoute, WebSocketRoute)):
                found.add(("WS", route.path))
            elif isinstance(route, (APIRoute, Route)):
                found |= {(m, route.path) for m in (route.methods or ())}
        return found

    routes = {(m, p) for m, p in walk(list(app.routes)) if m != "HEAD"}
    openapi = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert openapi <= routes, f"routes the walk missed: {openapi - routes}"
    return routes


def test_every_route_has_a_row(app: FastAPI) -> None:
    assert registered_routes(app) - set(EXPECTED) == set(), "add these routes to EXPECTED"
    assert set(EXPECTED) - registered_routes(app) == set(), "remove rows of deleted routes"


@pytest.mark.parametrize(("method", "path"), sorted(k for k in EXPECTED if k[0] != "WS"))
async def test_route_answers_each_role_as_the_table_says(
    anonymous: httpx.AsyncClient, method: str, path: str
) -> None:
    admin = httpx.AsyncClient(transport=anonymous._transport, base_url=anonymous.base_url)
    admin.headers.update(await headers_for(admin, "district_admin"))
    prepare = SETUPS.get((method, path), plain(method, path))
    got = []
    for role in ROLES:
        url, kwargs = await prepare(admin)
        headers = dict(kwargs.pop("headers", {}))
        if role != "anonymous":
            headers.update(await headers_for(anonymous, role))
        answer = await anonymous.request(method, url, headers=headers, **kwargs)
        got.append(answer.status_code)
    assert dict(zip(ROLES, got, strict=True)) == dict(
        zip(ROLES, EXPECTED[(method, path)], strict=True)
    )


async def test_the_stream_answers_each_role_as_the_table_says(live_url: str) -> None:
    import websockets

    got = []
    async with httpx.AsyncClient(base_url=live_url) as http:
        for role in ROLES:
            query = "?since=0"
            if role != "anonymous":
                token = (
                    await http.post(
                        "/v1/auth/token",
                        data={"username": demo_user(role), "password": DEMO_PASSWORD},
                    )
                ).json()["access_token"]
                query += f"&access_token={token}"
            url = live_url.replace("http://", "ws://") + "/v1/stream" + query
            async with websockets.connect(url) as socket:
                try:
                    message = json.loads(await socket.recv())
                    got.append(101 if message["type"] == "caught_up" else 0)
                except websockets.ConnectionClosed as closed:
                    got.append(closed.rcvd.code if closed.rcvd else 0)
    assert got == list(EXPECTED[("WS", "/v1/stream")])
