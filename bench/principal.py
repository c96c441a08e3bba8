"""The per-request principal check: how long an authenticated read takes, with the account
cache on (the default) and off. Prints numbers; asserts nothing.

    .venv/bin/python -m bench.principal [--requests 2000]

In-process (httpx over ASGI, no sockets), on a fresh SQLite file with the demo district:
`GET /v1/schools` as the demo dispatcher with a bearer token, and with an API key.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from alertd.adapters.db import migrate
from alertd.main import create_app
from alertd.testing.auth import headers_for
from alertd.testing.settings import make_settings


async def measure(data_dir: Path, *, cache_seconds: float, requests: int) -> dict[str, float]:
    url = f"sqlite:///{data_dir / 'alertd.db'}"
    migrate.upgrade(url)
    settings = make_settings(data_dir, url, principal_cache_seconds=cache_seconds)
    app = create_app(settings)
    results: dict[str, float] = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as http,
    ):
        bearer = await headers_for(http, "dispatcher")
        admin = await headers_for(http, "district_admin")
        key = (
            await http.post("/v1/users/demo-dispatcher/api-keys", json={"name": "b"}, headers=admin)
        ).json()["key"]
        for label, headers in (("bearer", bearer), ("api key", {"X-API-Key": key})):
            timings = []
            for _ in range(requests):
                started = time.perf_counter()
                answer = await http.get("/v1/schools", headers=headers)
                timings.append(time.perf_counter() - started)
                assert answer.status_code == 200
            timings.sort()
            results[f"{label} p50"] = statistics.median(timings) * 1000
            results[f"{label} p99"] = timings[int(len(timings) * 0.99)] * 1000
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    for cache_seconds in (2.0, 0.0):
        with tempfile.TemporaryDirectory() as tmp:
            numbers = asyncio.run(
                measure(Path(tmp), cache_seconds=cache_seconds, requests=args.requests)
            )
        shown = "  ".join(f"{k} {v:.2f} ms" for k, v in numbers.items())
        print(f"principal cache {cache_seconds:g} s: {shown}")


if __name__ == "__main__":
    main()
