"""Commit-to-Twilio latency: from an alert's commit to each of its 20 Twilio API requests.

    python -m bench.twilio_send                # 30 lockdowns of 20 recipients, unthrottled
    python -m bench.twilio_send --alerts 50

A fresh `alertd serve` (SQLite, the demo district with 18 contacts at Lincoln High, so a
lockdown reaches 20 recipients) sends through the real `twilio` SDK to the loopback Twilio
simulator of the test suite, which timestamps every request as it arrives.

1. Unthrottled (ALERTD_TWILIO_RATE_PER_SENDER=0): alerts one after another, 0.5 s apart.
   Latency of a text = its request's arrival at the simulator minus the moment the 201 of
   its alert arrived (the commit came just before the 201: this slightly understates);
   "from POST" counts from the moment the POST was sent (it overstates).
2. Rate-limited: the same server settings but Twilio's long-code rate (1 text/s per
   sender) and a pool of 5 numbers: one alert of 20 recipients, and what the pacing adds.

It prints figures and a final JSON line; it asserts nothing. The machine is shared: expect
noise.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from alertd.main import demo_site
from alertd.testing.demo_rooms import room_for
from alertd.testing.twilio_sim import Request, TwilioSimulator
from bench.fanout import ServerProcess

SPEC = Path(__file__).resolve().parents[1] / "tests/fixtures/twilio/twilio_api_v2010.json"
ACCOUNT, TOKEN = "AC" + "3" * 32, "bench-twilio-token-0123456789abcd"
PUBLIC = "https://alertd.bench.example"
POOL = tuple(f"+1555555019{n}" for n in range(5))
LOCKDOWN = {"kind": "lockdown", "school_id": "lincoln-hs"}
_ALERT_ID = re.compile(r"/console/alerts/([0-9a-f-]{36})")


def site_with_twenty() -> dict[str, Any]:
    """The demo site, Lincoln High with 18 contacts: a lockdown texts 20 (with 2 agencies);
    no escalation (the benchmark measures first texts only)."""
    document = demo_site().model_dump(mode="json", exclude_none=True)
    lincoln = next(s for s in document["schools"] if s["id"] == "lincoln-hs")
    lincoln["contacts"] += [
        {
            "id": f"lincoln-hs-staff-{n}",
            "name": f"Responder {n}",
            "role": "sro",
            "sms": f"+155555502{n:02d}",
        }
        for n in range(18 - len(lincoln["contacts"]))
    ]
    document["escalation"] = [{"steps": []}]
    return document


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def phase(sim: TwilioSimulator, *, alerts: int, rate: str, spacing: float) -> dict[str, Any]:
    arrivals: dict[str, list[float]] = {}

    def seen(request: Request) -> None:
        found = _ALERT_ID.search(request.get("Body") or "")
        if found:
            arrivals.setdefault(found.group(1), []).append(request.at)

    sim.on_request = seen
    server = ServerProcess(
        synchronous="FULL",
        database_url="",
        extra={
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM": ",".join(POOL),
            "TWILIO_API_BASE": sim.url,
            "PUBLIC_URL": PUBLIC,
            **({"TWILIO_RATE_PER_SENDER": rate} if rate else {}),
        },
    )
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        sim.deliver_to = (PUBLIC, base)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await wait_ready(client, server)
            token = (
                await client.post(
                    "/v1/auth/token",
                    data={"username": "district_admin@demo.alertd", "password": "demo"},
                )
            ).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            loaded = await client.post("/v1/sites", json=site_with_twenty())
            assert loaded.status_code == 200, loaded.text
            committed: dict[str, tuple[float, float]] = {}
            for n in range(alerts):
                room = room_for("lincoln-hs", n)
                posted = time.monotonic()
                answer = await client.post(
                    "/v1/alerts",
                    json=LOCKDOWN | {"room_id": room},
                    headers={"Idempotency-Key": f"bench-{rate}-{n}"},
                )
                answered = time.monotonic()
                assert answer.status_code == 201, answer.text
                committed[answer.json()["id"]] = (posted, answered)
                await asyncio.sleep(spacing)
            await sim.wait_until(
                lambda: sum(len(arrivals.get(a, [])) for a in committed) >= 20 * alerts,
                timeout=60,
            )
    finally:
        server.stop()
    after_commit = [t - committed[a][1] for a in committed for t in arrivals[a]]
    after_post = [t - committed[a][0] for a in committed for t in arrivals[a]]
    return {
        "alerts": alerts,
        "texts": len(after_commit),
        "commit_to_request_ms": summary(after_commit),
        "post_to_request_ms": summary(after_post),
    }


def summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "p50": round(statistics.median(ms), 1),
        "p99": round(percentile(ms, 0.99), 1),
        "max": round(max(ms), 1),
    }


async def wait_ready(client: httpx.AsyncClient, server: ServerProcess) -> None:
    async with asyncio.timeout(60):
        while True:
            server.check_alive()
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


async def run(options: argparse.Namespace) -> dict[str, Any]:
    sim = TwilioSimulator(account_sid=ACCOUNT, auth_token=TOKEN, spec_path=SPEC)
    await sim.start()
    try:
        unthrottled = await phase(sim, alerts=options.alerts, rate="0", spacing=0.5)
        sim.requests.clear()
        # Empty: by kind of sender, so 1 text/s for each long code of the pool.
        throttled = await phase(sim, alerts=1, rate="", spacing=0)
    finally:
        await sim.stop()
    return {"unthrottled": unthrottled, "long_codes_pool_of_5": throttled}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.twilio_send", description=__doc__)
    parser.add_argument("--alerts", type=int, default=30, help="alerts in the unthrottled run")
    figures = asyncio.run(run(parser.parse_args(argv)))
    free, paced = figures["unthrottled"], figures["long_codes_pool_of_5"]
    print(f"commit -> Twilio request, 20 recipients, {free['alerts']} alerts, unthrottled:")
    print(f"  from the 201: {free['commit_to_request_ms']} ms  (target p99 <= 200 ms)")
    print(f"  from the POST: {free['post_to_request_ms']} ms")
    print("one alert of 20 recipients on 5 long codes at 1 text/s each (rate limiter on):")
    print(f"  from the 201: {paced['commit_to_request_ms']} ms")
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
