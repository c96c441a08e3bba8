"""Standards and webhooks: how long a CAP message and a CAP feed take to serve, and how long
a raised alert takes to reach a webhook endpoint. Prints numbers; asserts nothing.

    .venv/bin/python -m bench.interop [--alerts 50] [--poll 0.2]

In-process, on a fresh SQLite file with the demo district: alertd served by uvicorn on a
loopback port (lifespan and workers running, `ALERTD_OUTBOX_POLL_SECONDS` = `--poll`), a
loopback webhook receiver subscribed to `AlertRaised`. `--alerts` drills are raised one at a
time at Lincoln High, each with a note and an acknowledgement (three events), and the time
from the start of each POST to the receiver's answer is kept. Then `GET /v1/alerts/{id}/cap`
for each alert, and the school's feed (`/v1/schools/lincoln-hs/cap.atom`, its latest 50
alerts) 20 times. Client and server share one event loop and the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from alertd.adapters.db import migrate
from alertd.main import create_app
from alertd.testing.auth import headers_for
from alertd.testing.live import serving
from alertd.testing.settings import make_settings
from alertd.testing.webhook_receiver import webhook_receiver


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


async def run(data_dir: Path, *, alerts: int, poll: float) -> dict[str, object]:
    url = f"sqlite:///{data_dir / 'alertd.db'}"
    migrate.upgrade(url)
    settings = make_settings(
        data_dir, url, outbox_poll_seconds=poll, webhook_allow_private_addresses=True
    )
    app = create_app(settings)
    async with (
        webhook_receiver() as receiver,
        serving(app) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        http.headers.update(await headers_for(http, "district_admin"))
        sro = await headers_for(http, "sro")
        created = await http.post(
            "/v1/webhooks", json={"url": receiver.url, "event_types": ["AlertRaised"]}
        )
        created.raise_for_status()
        await asyncio.sleep(2 * poll)  # the fan-out's position passes the subscription
        to_webhook: list[float] = []
        ids: list[str] = []
        for n in range(alerts):
            started = time.perf_counter()
            answer = await http.post(
                "/v1/alerts",
                json={"kind": "lockdown", "school_id": "lincoln-hs", "drill": True, "note": "x"},
                headers={"Idempotency-Key": f"bench-{n}-{time.time_ns()}"},
            )
            answer.raise_for_status()
            await receiver.wait_for(n + 1, seconds=30)
            to_webhook.append(time.perf_counter() - started)
            alert_id = answer.json()["id"]
            ids.append(alert_id)
            await http.post(f"/v1/alerts/{alert_id}/acknowledge", headers=sro)
            await http.post(f"/v1/alerts/{alert_id}/notes", json={"text": "all in"})
            await http.post(f"/v1/alerts/{alert_id}/all-clear", headers=sro)
        cap: list[float] = []
        for alert_id in ids:
            started = time.perf_counter()
            (await http.get(f"/v1/alerts/{alert_id}/cap")).raise_for_status()
            cap.append(time.perf_counter() - started)
        feed: list[float] = []
        size = 0
        for _ in range(20):
            started = time.perf_counter()
            answer = await http.get("/v1/schools/lincoln-hs/cap.atom")
            answer.raise_for_status()
            feed.append(time.perf_counter() - started)
            size = len(answer.content)
    return {
        "alerts": alerts,
        "poll_seconds": poll,
        "press_to_webhook": summary(to_webhook),
        "cap_message": summary(cap),
        "school_feed": summary(feed) | {"bytes": size},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--poll", type=float, default=0.2, help="ALERTD_OUTBOX_POLL_SECONDS")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        result = asyncio.run(run(Path(directory), alerts=args.alerts, poll=args.poll))
    for name in ("press_to_webhook", "cap_message", "school_feed"):
        print(f"{name:17} {result[name]}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
