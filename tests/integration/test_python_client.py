"""The Python client against a real `alertd serve`: raising, a retried raise whose first
answer was lost, the stream resuming across a server killed and restarted, and the CLI.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from alertd.testing.auth import DEMO_PASSWORD, demo_user
from clients.python import AlertdClient, AsyncAlertdClient, RetryPolicy

if TYPE_CHECKING:
    from conftest import AlertdProcess, AlertdProcesses

pytestmark = pytest.mark.integration

ROOM = "lincoln-hs-a-204"
QUICK_RETRY = RetryPolicy(attempts=200, first_delay=0.05, max_delay=0.3)


@pytest.fixture
def data_dir(tmp_path: Path, alertd_processes: AlertdProcesses) -> Path:
    path = tmp_path / "alertd"
    path.mkdir()
    alertd_processes.upgrade(path)
    return path


@pytest.fixture
async def server(alertd_processes: AlertdProcesses, data_dir: Path) -> AlertdProcess:
    return await alertd_processes.start(data_dir)


class AnswerLostOnce(httpx.BaseTransport):
    """A real HTTP transport whose first answer is lost on the way back: the request reached
    alertd, but the client sees a dropped connection (as on a flaky school network)."""

    def __init__(self) -> None:
        self._real = httpx.HTTPTransport()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._real.handle_request(request)
        self.requests.append(request)
        if request.url.path == "/v1/alerts" and request.method == "POST":
            if sum(r.url.path == "/v1/alerts" and r.method == "POST" for r in self.requests) == 1:
                answer.read()
                raise httpx.ReadError("connection reset while reading the answer", request=request)
        return answer


def test_raise_by_room_then_acknowledge_and_update(server: AlertdProcess) -> None:
    with AlertdClient(server.url) as dispatcher:
        dispatcher.sign_in(demo_user("dispatcher"), DEMO_PASSWORD)
        alert = dispatcher.raise_alert(kind="lockdown", room_id=ROOM)
        assert (alert["kind"], alert["school_id"], alert["room_id"]) == (
            "lockdown", "lincoln-hs", ROOM,
        )  # fmt: skip
        dispatcher.acknowledge(alert["id"])
        with AlertdClient(server.url) as sro:
            sro.sign_in(demo_user("sro"), DEMO_PASSWORD)
            updated = sro.update(alert["id"], status="on_scene", note="in the building")
        assert updated["state"] != "raised"
        [listed] = dispatcher.alerts(school="lincoln-hs")
        assert listed["id"] == alert["id"]


def test_a_raise_retried_after_its_answer_was_lost_raises_one_alert(server: AlertdProcess) -> None:
    lossy = AnswerLostOnce()
    with AlertdClient(server.url, transport=lossy, retry=QUICK_RETRY) as staff:
        staff.sign_in(demo_user("staff"), DEMO_PASSWORD)
        alert = staff.raise_alert(kind="staff_assist", school_id="lincoln-hs", room_id=ROOM)
    raises = [r for r in lossy.requests if r.url.path == "/v1/alerts" and r.method == "POST"]
    assert len(raises) == 2  # the first reached alertd, its answer did not reach us
    assert raises[0].headers["Idempotency-Key"] == raises[1].headers["Idempotency-Key"]
    with AlertdClient(server.url) as dispatcher:
        dispatcher.sign_in(demo_user("dispatcher"), DEMO_PASSWORD)
        assert [a["id"] for a in dispatcher.alerts(school="lincoln-hs")] == [alert["id"]]


async def test_the_stream_resumes_after_a_dropped_connection_missing_and_repeating_nothing(
    server: AlertdProcess, alertd_processes: AlertdProcesses, data_dir: Path
) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    seen: list[dict[str, Any]] = []
    async with AsyncAlertdClient(server.url, retry=QUICK_RETRY) as dispatcher:
        await dispatcher.sign_in(demo_user("dispatcher"), DEMO_PASSWORD)

        async def follow() -> None:
            async for event in dispatcher.stream(since=0):
                seen.append(event)

        follower = asyncio.create_task(follow())
        try:
            first = await dispatcher.raise_alert(kind="hold", room_id=ROOM)
            await _until(lambda: _raised(seen) == [first["id"]])

            server.kill()  # the connection drops without a close frame
            await alertd_processes.start(data_dir, port=port)
            # The token was signed by the same secret key: still valid after the restart.
            second = await dispatcher.raise_alert(kind="medical", room_id="lincoln-hs-a-101")
            await _until(lambda: _raised(seen) == [first["id"], second["id"]])
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
    ids = [event["id"] for event in seen]
    assert ids == sorted(set(ids)), "an event was repeated or came out of order"


EXPIRED = "an-access-token-that-has-expired"  # alertd refuses it as it would an expired one


async def test_a_signed_in_client_renews_its_expired_access_token_for_calls_and_the_stream(
    server: AlertdProcess,
) -> None:
    """A long `alertd-client watch` outlives its 15-minute access token: the client spends
    its refresh token and carries on, over HTTP and on the stream."""
    with AlertdClient(server.url) as staff:
        staff.sign_in(demo_user("staff"), DEMO_PASSWORD)
        staff._token = EXPIRED
        raised = staff.raise_alert(kind="hold", room_id=ROOM)
    async with AsyncAlertdClient(server.url, retry=QUICK_RETRY) as dispatcher:
        await dispatcher.sign_in(demo_user("dispatcher"), DEMO_PASSWORD)
        dispatcher._token = EXPIRED
        async with asyncio.timeout(30):
            first = await anext(dispatcher.stream(since=0))
        assert dispatcher._token != EXPIRED
    assert (first["type"], first["alert_id"]) == ("AlertRaised", raised["id"])


def test_the_cli_raises_and_says_what_it_raised(server: AlertdProcess) -> None:
    env = {**os.environ, "ALERTD_URL": server.url, "ALERTD_PASSWORD": DEMO_PASSWORD}
    command = [sys.executable, "-m", "clients.python.cli", "--user", demo_user("dispatcher"),
               "raise", "--kind", "lockdown", "--room", ROOM]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    alert = json.loads(done.stdout)
    assert (alert["kind"], alert["room_id"]) == ("lockdown", ROOM)

    refused = subprocess.run(
        [*command[:-5], "raise", "--kind", "lockdown", "--room", "no-such-room"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "room_id" in refused.stderr


def _raised(events: list[dict[str, Any]]) -> list[str]:
    return [e["alert_id"] for e in events if e["type"] == "AlertRaised"]


async def _until(check: Any, seconds: float = 30) -> None:
    async with asyncio.timeout(seconds):
        while not check():
            await asyncio.sleep(0.05)
